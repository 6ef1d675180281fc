"""Disk full at every write step: a DiskFullError saying so, and the previous state intact on reopen."""
import errno
import io
import sqlite3

import pytest

from qa.store import vectors
from corpus.errors import DiskFullError
from qa import Library
from qa.integrity import check

from .conftest import DATA, FakeEncoder

NEWS = sorted((DATA / "news").glob("*.md"))


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


class _FullFile(io.BufferedWriter):
    def write(self, data):
        _enospc()


def _break(monkeypatch, step):
    if step == "mkstemp":
        monkeypatch.setattr(vectors.tempfile, "mkstemp", _enospc)
    elif step == "write":
        monkeypatch.setattr(vectors.os, "fdopen", lambda fd, mode: _FullFile(io.FileIO(fd, "wb")))
    elif step == "fsync":
        monkeypatch.setattr(vectors.os, "fsync", _enospc)
    elif step == "replace":
        monkeypatch.setattr(vectors.os, "replace", _enospc)


STEPS = ["mkstemp", "write", "fsync", "replace"]


@pytest.mark.parametrize("step", STEPS)
def test_atomic_write_keeps_the_old_file_and_no_temp_file(tmp_path, monkeypatch, step):
    target = tmp_path / "vectors.faiss"
    target.write_bytes(b"old contents")
    _break(monkeypatch, step)
    with pytest.raises(DiskFullError, match=r"disk full while writing .*vectors\.faiss.*previous file is intact"):
        vectors.atomic_write(target, b"new contents")
    monkeypatch.undo()
    assert target.read_bytes() == b"old contents" and sorted(p.name for p in tmp_path.iterdir()) == ["vectors.faiss"]


@pytest.fixture
def built(tmp_path):
    lib = Library(tmp_path / "lib", FakeEncoder())
    lib.add_paths(NEWS[:6])
    lib.close()
    return tmp_path / "lib"


def _snapshot(folder):
    lib = Library(folder, FakeEncoder())
    try:
        ids = {r["id"] for r in lib.list()}
        assert lib.index.ntotal == lib.store.counts()[1]
        return ids
    finally:
        lib.close()


@pytest.mark.parametrize("step", STEPS)
def test_saving_the_cache_on_a_full_disk(built, monkeypatch, step):
    """The articles commit in SQLite (the truth), the cache save fails: old cache files untouched."""
    cache = {n: (built / n).read_bytes() for n in ("vectors.faiss", "manifest.json")}
    before = _snapshot(built)
    lib = Library(built, FakeEncoder())
    confirmed = []
    _break(monkeypatch, step)
    with pytest.raises(DiskFullError, match="disk full"):
        lib.add_paths([NEWS[6]], on_article=lambda i, t: confirmed.append(i))
    monkeypatch.undo()
    assert {n: (built / n).read_bytes() for n in cache} == cache
    lib.store.close()  # the process gives up here (no flush)
    assert check(built).ok
    assert _snapshot(built) == before | set(confirmed) and len(confirmed) == 1
    r = check(built)
    assert r.ok and not r.warnings, r.text()


def test_sqlite_full_while_inserting_changes_nothing(built):
    before = _snapshot(built)
    lib = Library(built, FakeEncoder())
    n_before = lib.index.ntotal
    pages = lib.store.db.execute("PRAGMA page_count").fetchone()[0]
    lib.store.db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(DiskFullError, match=r"disk full while writing .*library\.sqlite3; nothing was changed"):
        lib.add_paths(NEWS[6:])
    assert lib.index.ntotal == n_before == lib.store.counts()[1] and len(lib) == 6
    lib.close()
    assert _snapshot(built) == before
    assert check(built).ok


class _FullAtCommit:
    """The connection, except that COMMIT fails the way a full disk makes a WAL commit fail."""

    def __init__(self, db):
        self._db = db

    def execute(self, sql, *args):
        if sql.strip().upper() == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return self._db.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._db, name)


@pytest.mark.parametrize("op", ["add", "remove"])
def test_sqlite_full_at_commit_changes_nothing(built, op):
    before = _snapshot(built)
    lib = Library(built, FakeEncoder())
    n_before = lib.index.ntotal
    real = lib.store.db
    lib.store.db = _FullAtCommit(real)
    with pytest.raises(DiskFullError, match="disk full"):
        lib.add_paths(NEWS[6:8]) if op == "add" else lib.remove(sorted(before)[0])
    lib.store.db = real
    assert lib.store.counts()[0] == 6
    assert lib.index.ntotal == n_before, "the in-memory cache changed although nothing was committed"
    lib.close()
    assert _snapshot(built) == before
    assert check(built).ok, check(built).text()
