"""One contract, two backends: SQLite + FTS5 + FAISS (embedded) and Milvus (Milvus Lite here).

Every test runs unchanged on both: add, duplicate skip, remove, dense/bm25/hybrid, filters, reopen,
model mismatch, k larger than the library.
"""
import pytest

from corpus.errors import ModelMismatchError
from qa import Filters, Library

from .conftest import DATA, FakeEncoder

BACKENDS = ["sqlite", "milvus"]


def location(kind, tmp_path):
    if kind == "sqlite":
        return str(tmp_path / "lib")
    pytest.importorskip("pymilvus", reason="the Milvus backend needs: pip install 'article-qa[milvus]'")
    return f"milvus://{tmp_path}/lib.db"


@pytest.fixture(params=BACKENDS)
def where(request, tmp_path):
    return location(request.param, tmp_path)


NEWS = sorted((DATA / "news").glob("*.md"))[:8]


def test_add_duplicate_and_counts(where):
    enc = FakeEncoder()
    lib = Library(where, enc)
    r = lib.add_paths(NEWS)
    assert len(r.added) == 8 and len(lib) == 8
    before = enc.texts_encoded
    r2 = lib.add_paths(NEWS)
    assert r2.added == [] and len(r2.duplicates) == 8 and enc.texts_encoded == before
    a, p = lib.store.counts()
    assert (a, p) == (8, r.passages)
    index = lib.stats()["index"]  # exact search (recall 1) here; Milvus's own index is not measured
    assert index["vectors"] == p and index["recall@10"] == (1.0 if index["type"] == "flat" else None)


def test_modes_cite_exact_offsets(where):
    lib = Library(where, FakeEncoder())
    lib.add_paths(NEWS)
    title = lib.list()[0]["title"]
    for mode in ("dense", "bm25", "hybrid"):
        ans = lib.ask(title, k=3, mode=mode)
        assert ans.citations, mode
        for c in ans.citations:
            assert lib.get(c.article_id).text[c.start:c.end] == c.text


def test_remove_and_filters(where):
    lib = Library(where, FakeEncoder())
    lib.add_paths(NEWS)
    rows = lib.list()
    victim = rows[0]["id"]
    lib.remove(victim)
    assert len(lib) == 7 and victim not in {r["id"] for r in lib.list()}
    assert all(c.article_id != victim for c in lib.ask(rows[0]["title"], k=10).citations)
    keep = rows[1]
    for mode in ("dense", "bm25", "hybrid"):
        ans = lib.ask(keep["title"], k=5, mode=mode, filters=Filters(outlets=(keep["outlet"],)))
        assert ans.citations and {c.outlet for c in ans.citations} == {keep["outlet"]}, mode
        ans = lib.ask(keep["title"], k=5, mode=mode, filters=Filters(article_ids=(keep["id"],)))
        assert {c.article_id for c in ans.citations} == {keep["id"]}
        ans = lib.ask(keep["title"], k=10, mode=mode, filters=Filters(exclude_ids=(keep["id"],)))
        assert ans.citations and keep["id"] not in {c.article_id for c in ans.citations}, mode
    if keep["date"]:
        ans = lib.ask(keep["title"], k=10, filters=Filters(since=keep["date"], until=keep["date"]))
        assert ans.citations and all(c.date == keep["date"] for c in ans.citations)


def test_reopen_same_answers_and_model_mismatch(where):
    lib = Library(where, FakeEncoder())
    lib.add_paths(NEWS)
    want = lib.ask("storm budget").to_json()
    lib.close()
    again = Library(where, FakeEncoder())
    assert again.ask("storm budget").to_json() == want
    again.close()
    with pytest.raises(ModelMismatchError):
        Library(where, FakeEncoder("other-model"))


def test_k_larger_than_the_library(where):
    lib = Library(where, FakeEncoder())
    lib.add_paths(NEWS[:1])
    ans = lib.ask("anything at all", k=50)
    assert 1 <= len(ans.citations) <= lib.store.counts()[1]


def test_interrupted_ingest_resumes_without_duplicates(where):
    from corpus.loaders import load_paths

    class Boom(Exception):
        pass

    def interrupted(limit):
        for i, item in enumerate(load_paths(NEWS)):
            if i == limit:
                raise Boom()
            yield item

    enc = FakeEncoder()
    lib = Library(where, enc)
    with pytest.raises(Boom):
        lib.add(interrupted(5), batch_passages=8)
    done = len(lib)
    assert 0 < done <= 5
    r = lib.add_paths(NEWS, batch_passages=8)
    assert len(r.added) == 8 - done and len(r.duplicates) == done and len(lib) == 8
    a, p = lib.store.counts()
    assert p == sum(len(lib.chunk(lib.get(x["id"]))[1]) for x in lib.list())
