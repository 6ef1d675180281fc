"""The library: incremental adds, duplicates, removal, reopening, model checks, asking edge cases."""
import json

import numpy as np
import pytest

from corpus.errors import LibraryError, ModelMismatchError, QuestionError
from qa import Library

from .conftest import DATA, FakeEncoder


def test_adding_the_same_folder_twice_adds_and_embeds_nothing(library, fake_encoder):
    first = library.add_paths([DATA / "news"])
    assert len(first.added) == 24 and not first.failed
    calls, texts = fake_encoder.calls, fake_encoder.texts_encoded
    second = library.add_paths([DATA / "news"])
    assert second.added == [] and len(second.duplicates) == 24
    assert (fake_encoder.calls, fake_encoder.texts_encoded) == (calls, texts)


def test_bad_files_fail_with_reasons_while_the_rest_index(library):
    report = library.add_paths([DATA / "bad"])
    assert {s.split("/")[-1] for s, _ in report.failed} == {"latin1.txt", "binary.txt", "empty.txt", "whitespace.md"}
    assert len(report.added) == 2 and len(library) == 2


def test_remove_deletes_passages_vectors_and_fts_rows(library):
    library.add_paths([DATA / "news"])
    victim = library.list()[0]["id"]
    before = library.index.ntotal
    n = len(library.store.passages_of(victim)) if hasattr(library.store, "passages_of") else None
    library.remove(victim)
    assert victim not in {r["id"] for r in library.list()}
    a, p = library.store.counts()
    assert a == 23 and library.index.ntotal == p < before
    fts = library.store.db.execute("SELECT COUNT(*) FROM passages_fts").fetchone()[0]
    assert fts == p
    for c in library.ask("budget storm election", k=10).citations:
        assert c.article_id != victim
    with pytest.raises(LibraryError, match="No article"):
        library.remove(victim)
    assert n is None or n > 0


def test_reopened_library_gives_the_same_answers(tmp_path):
    enc = FakeEncoder()
    lib = Library(tmp_path / "lib", enc)
    lib.add_paths([DATA / "news"])
    qs = [json.loads(line)["question"] for line in (DATA / "news_questions.jsonl").read_text().splitlines()[:10]]
    before = [lib.ask(q).to_json() for q in qs]
    lib.close()
    again = Library(tmp_path / "lib", FakeEncoder())
    assert (tmp_path / "lib" / "vectors.faiss").exists() and (tmp_path / "lib" / "manifest.json").exists()
    assert [again.ask(q).to_json() for q in qs] == before


def test_a_stale_or_damaged_faiss_cache_is_rebuilt_from_stored_vectors(tmp_path):
    enc = FakeEncoder()
    lib = Library(tmp_path / "lib", enc)
    lib.add_paths([DATA / "news"])
    want = lib.ask("ferry").to_json()
    lib.close()
    f = tmp_path / "lib" / "vectors.faiss"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    enc2 = FakeEncoder()
    lib2 = Library(tmp_path / "lib", enc2)
    assert lib2.index.ntotal == lib2.store.counts()[1]
    assert enc2.texts_encoded == 0  # rebuilt from stored vectors: nothing re-embedded
    assert lib2.ask("ferry").to_json() == want


def test_opening_with_another_model_names_both(tmp_path):
    Library(tmp_path / "lib", FakeEncoder("model-a")).add_paths([DATA / "bad" / "good.md"])
    with pytest.raises(ModelMismatchError) as e:
        Library(tmp_path / "lib", FakeEncoder("model-b"))
    assert "model-a" in str(e.value) and "model-b" in str(e.value) and "reindex" in str(e.value)


def test_reindex_re_embeds_with_the_new_model(tmp_path):
    Library(tmp_path / "lib", FakeEncoder("model-a")).add_paths([DATA / "news"])
    enc = FakeEncoder("model-b", dim=32)
    lib = Library(tmp_path / "lib", enc, check_model=False)
    report = lib.reindex()
    assert len(report.added) == 24 and lib.model_id == "model-b" and lib.dim == 32
    assert enc.texts_encoded == report.passages
    lib.close()
    assert Library(tmp_path / "lib", FakeEncoder("model-b", dim=32)).ask("storm").citations


def test_empty_question_is_refused_and_empty_library_answers_kindly(library):
    with pytest.raises(QuestionError, match="empty"):
        library.ask("   ")
    a = library.ask("Anything there?")
    assert a.citations == () and "no articles" in a.answer


def test_nan_from_the_encoder_stores_nothing(tmp_path):
    class NaNEncoder(FakeEncoder):
        def _encode(self, texts, batch_size, show_progress):
            return np.full((len(texts), self.dim), np.nan, np.float32)

    lib = Library(tmp_path / "lib", NaNEncoder())
    with pytest.raises(LibraryError, match="NaN"):
        lib.add_paths([DATA / "bad" / "good.md"])
    assert len(lib) == 0 and lib.index.ntotal == 0


def test_citations_point_at_exact_article_text(library):
    library.add_paths([DATA / "news"])
    ans = library.ask("Which city approved a budget?", k=5)
    assert len(ans.citations) == 5 and [c.n for c in ans.citations] == [1, 2, 3, 4, 5]
    for c in ans.citations:
        assert library.get(c.article_id).text[c.start:c.end] == c.text
    h = ans.highlight
    art = library.get(ans.citations[h.citation - 1].article_id)
    assert art.text[h.start:h.end] == h.text and h.text in ans.answer


@pytest.mark.parametrize("overlap", [True, False])
def test_writes_in_a_writer_thread_or_between_batches_store_the_same(tmp_path, overlap):
    """Ingest commits in a writer thread when a core is spare, else between encoder batches: same result."""
    from corpus.loaders import load_paths
    from qa.ingest import ingest

    lib = Library(tmp_path / "lib", FakeEncoder())
    report = ingest(lib, load_paths([DATA / "news"]), batch_passages=8, overlap=overlap)
    assert report.added and not report.failed
    assert len(lib) == len(report.added) and lib.passage_count() == report.passages
    assert lib.ask("Who won the marathon?").citations
    lib.close()
