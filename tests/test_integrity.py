"""check() and repair(): damaged caches are reported by name (never a crash) and rebuilt from SQLite."""
import json

import pytest

from corpus.errors import LibraryError
from qa import Library
from qa.integrity import check, repair

from .conftest import DATA, FakeEncoder


@pytest.fixture
def built(tmp_path):
    lib = Library(tmp_path / "lib", FakeEncoder())
    lib.add_paths(sorted((DATA / "news").glob("*.md"))[:6])
    lib.close()
    return tmp_path / "lib"


def _problems(folder):
    return " | ".join(check(folder).problems)


def test_a_fresh_library_passes(built):
    r = check(built)
    assert r.ok and not r.warnings, r.text()
    assert r.facts["articles"] == 6 and r.facts["cache_vectors"] == r.facts["passages"] > 6


@pytest.mark.parametrize("damage", ["truncate", "bitflip", "empty", "garbage"])
def test_a_damaged_vector_file_is_reported_by_name_and_repaired(built, damage):
    f = built / "vectors.faiss"
    data = bytearray(f.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "bitflip":
        data[len(data) // 3] ^= 0x10
    elif damage == "empty":
        data = bytearray()
    else:
        data = bytearray(b"\xff" * len(data))
    f.write_bytes(bytes(data))
    msg = _problems(built)
    assert "vectors.faiss" in msg and "article-qa repair" in msg
    actions, after = repair(built)
    assert after.ok and not after.warnings and any("rebuilt" in a for a in actions)
    lib = Library(built, FakeEncoder())
    assert lib.index.ntotal == lib.store.counts()[1] and lib.ask("budget").citations


def test_a_broken_manifest_is_a_problem(built):
    (built / "manifest.json").write_text("{not json")
    assert "manifest.json is not a valid manifest" in _problems(built)
    m = {"generation": 1}
    (built / "manifest.json").write_text(json.dumps(m))
    assert "manifest.json" in _problems(built)
    assert repair(built)[1].ok


def test_manifest_counts_and_model_must_match_the_database(built):
    m = json.loads((built / "manifest.json").read_text())
    (built / "manifest.json").write_text(json.dumps(dict(m, model_id="other-model", articles=99)))
    msg = _problems(built)
    assert "model_id 'other-model'" in msg and "articles 99" in msg


def test_faiss_ids_must_equal_passage_ids(built):
    lib = Library(built, FakeEncoder())
    lib.index  # current cache loaded
    with lib.store.transaction() as db:  # a passage vanishes from SQLite behind the cache's back
        pid = db.execute("SELECT MAX(id) FROM passages").fetchone()[0]
        db.execute("DELETE FROM passages WHERE id=?", (pid,))
        db.execute("DELETE FROM passages_fts WHERE rowid=?", (pid,))
    lib.store.close()
    msg = _problems(built)
    assert "1 unknown ids" in msg and "passages 6" not in msg


def test_stale_cache_is_a_warning_and_stray_temp_files_are_cleaned(built):
    lib = Library(built, FakeEncoder())
    lib.flush = lambda: None  # the cache is not saved: like a crash right after the commit
    lib.add_paths([sorted((DATA / "news").glob("*.md"))[7]])
    lib.store.close()  # no flush: the cache stays at the older generation, like a crash after commit
    (built / ".vectors.faiss.abc123").write_bytes(b"partial")
    r = check(built)
    assert r.ok and len(r.warnings) == 2 and "generation" in r.warnings[0]
    actions, after = repair(built)
    assert after.ok and not after.warnings and not (built / ".vectors.faiss.abc123").exists()


def test_offsets_fts_and_partial_articles_are_checked(built):
    lib = Library(built, FakeEncoder())
    with lib.store.transaction() as db:
        db.execute("UPDATE passages SET start = start + 1 WHERE id = 1")
        db.execute("DELETE FROM passages_fts WHERE rowid = 3")
        db.execute("DELETE FROM passages WHERE id = (SELECT MIN(id) FROM passages WHERE idx = 1)")
    lib.store.close()
    msg = _problems(built)
    assert "offsets do not match" in msg and "full-text index has" in msg and "partly stored article" in msg
    actions, after = repair(built)
    assert any("full-text" in a for a in actions)
    assert "full-text" not in " ".join(after.problems) and "offsets" in " ".join(after.problems)


def test_a_damaged_database_is_reported_not_raised(built):
    db = built / "library.sqlite3"
    for extra in ("-wal", "-shm"):
        (built / f"library.sqlite3{extra}").unlink(missing_ok=True)
    data = bytearray(db.read_bytes())
    data[100:4096] = b"\x00" * (4096 - 100)
    db.write_bytes(bytes(data[:8192]))
    assert "library.sqlite3" in _problems(built)
    with pytest.raises(LibraryError, match="itself is damaged"):
        repair(built)


def test_not_a_library(tmp_path):
    with pytest.raises(LibraryError, match="not an article-qa library"):
        check(tmp_path)


def test_cli_check_and_repair(built, capsys):
    from qa.cli import main

    assert main(["check", "--library", str(built)]) == 0
    (built / "vectors.faiss").write_bytes(b"xx")
    capsys.readouterr()
    assert main(["check", "--library", str(built), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and "vectors.faiss" in out["problems"][0]
    assert main(["repair", "--library", str(built)]) == 0
    assert "rebuilt" in capsys.readouterr().out
    assert main(["check", "--library", str(built), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_an_ivf_cache_is_checked_too(built):
    from qa.store.vectors import VectorIndex

    lib = Library(built, FakeEncoder())
    dim, n = lib.dim, lib.store.counts()[1]
    lib._index = VectorIndex.build(dim, lib.store.all_vectors(dim), n, kind="ivf")
    lib._save_index()
    lib.store.close()
    assert json.loads((built / "manifest.json").read_text())["kind"] == "ivf"
    r = check(built)
    assert r.ok and r.facts["cache_vectors"] == n, r.text()
