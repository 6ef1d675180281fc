"""bench/copy_library.py moves a library between backends without re-encoding, and resumes."""
import pytest

from qa import Library

from .conftest import DATA, FakeEncoder

NEWS = sorted((DATA / "news").glob("*.md"))[:6]


def _cites(lib, q, mode):
    return [(c.article_id, c.start, c.end) for c in lib.ask(q, k=5, mode=mode).citations]


def test_sqlite_to_milvus_to_sqlite_without_encoding(tmp_path):
    pytest.importorskip("pymilvus", reason="needs: pip install 'article-qa[milvus]'")
    from bench.copy_library import copy_library

    src, mil, back = str(tmp_path / "src"), f"milvus://{tmp_path}/copy.db", str(tmp_path / "back")
    enc = FakeEncoder()
    lib = Library(src, enc)
    lib.add_paths(NEWS)
    counts, encoded = lib.store.counts(), enc.texts_encoded
    lib.close()

    r = copy_library(src, mil, batch=4, progress=False)
    assert (r["articles_copied"], r["passages_copied"]) == counts
    r = copy_library(mil, back, batch=4, progress=False)
    assert (r["articles_copied"], r["passages_copied"]) == counts
    assert copy_library(src, mil, batch=4, progress=False)["articles_skipped"] == counts[0]  # resume: nothing twice

    a, m, b = (Library(x, FakeEncoder()) for x in (src, mil, back))
    assert enc.texts_encoded == encoded
    for x in (m, b):
        assert x.store.counts() == counts and x.model_id == a.model_id and x.dim == a.dim
    for row in a.list():
        assert a.get(row["id"]) == m.get(row["id"]) == b.get(row["id"])
    q = a.list()[0]["title"]
    assert _cites(a, q, "dense") == _cites(m, q, "dense") == _cites(b, q, "dense")
    for mode in ("bm25", "hybrid"):  # the SQLite copy ranks exactly like its source
        assert _cites(a, q, mode) == _cites(b, q, mode)
