"""Crash consistency, fast version: 3 SIGKILLs at random moments of a FakeEncoder indexing subprocess."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("crash_bench", ROOT / "bench" / "crash_test.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_sigkill_at_random_moments_leaves_whole_confirmed_articles(tmp_path):
    bench = _bench()
    log = []
    passed, failures = bench.run_trials(3, 40, real=False, seed=7, workdir=tmp_path, log=log.append)
    assert failures == [] and passed == 3, "\n".join(log)


def test_verify_catches_a_torn_article(tmp_path):
    """The checker itself must fail a library holding part of an article or missing a confirmed one."""
    bench = _bench()
    corpus, lib = tmp_path / "corpus", tmp_path / "lib"
    bench.make_corpus(corpus, 5, seed=3)
    bench.run_to_end(lib, corpus, real=False)
    expected = bench.passages_per_article(lib)
    assert bench.verify(lib, set(expected), expected) == []
    victim = max(expected, key=expected.get)
    from qa import Library

    from .conftest import FakeEncoder

    with Library(lib, FakeEncoder()) as library, library.store.transaction() as db:
        db.execute("DELETE FROM passages_fts WHERE rowid = (SELECT MAX(id) FROM passages WHERE article_id=?)", (victim,))
        db.execute("DELETE FROM passages WHERE id = (SELECT MAX(id) FROM passages WHERE article_id=?)", (victim,))
    errors = " ".join(bench.verify(lib, set(expected) | {"0000000000000000"}, expected))
    assert "torn article" in errors and "confirmed article(s) are missing" in errors
