"""`check(folder)`: verify a library folder without trusting any of it; `repair(folder)`: rebuild the cache.

Order matters: the manifest is parsed as JSON, vectors.faiss is size- and SHA-256-checked against it
and only then handed to FAISS (a damaged file never reaches the C++ reader). SQLite is the truth;
a cache that is merely older than the database (a crash between commit and save) is a warning, as
the library rebuilds it on open; anything that disagrees with a current manifest is a problem.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corpus.errors import LibraryError
from embeddings.base import Encoder

from .store.sqlite import Store
from .store.vectors import INDEX_FILE, MANIFEST_FILE

REPAIR = "run 'article-qa repair --library {folder}' to rebuild it from the vectors stored in SQLite"


@dataclass
class Report:
    folder: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict:
        return {"library": self.folder, "ok": self.ok, "problems": self.problems, "warnings": self.warnings,
                "facts": self.facts}

    def text(self) -> str:
        lines = [f"{'OK' if self.ok else 'PROBLEMS'}: {self.folder}"]
        lines += [f"  {k}: {v}" for k, v in self.facts.items()]
        lines += [f"  problem: {p}" for p in self.problems] + [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _sqlite_checks(db: sqlite3.Connection, r: Report) -> dict | None:
    """Checks on the database; returns its facts (meta, counts, passage ids) or None when unreadable."""
    path = Path(r.folder) / Store.FILE
    try:
        res = [row[0] for row in db.execute("PRAGMA integrity_check")]
        if res != ["ok"]:
            r.problems.append(f"{path} fails SQLite's integrity check ({'; '.join(res[:5])}); restore it from a "
                              "backup or move it aside and index your articles again")
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        articles = db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        pids = np.array([row[0] for row in db.execute("SELECT id FROM passages ORDER BY id")], np.int64)
        fts = db.execute("SELECT COUNT(*) FROM passages_fts").fetchone()[0]
        fts_orphans = db.execute("SELECT COUNT(*) FROM passages_fts WHERE rowid NOT IN (SELECT id FROM passages)"
                                 ).fetchone()[0]
    except sqlite3.DatabaseError as e:
        r.problems.append(f"{path} is not a readable article-qa database ({e}); restore it from a backup or move "
                          "it aside and index your articles again")
        return None
    r.facts.update(articles=articles, passages=len(pids), model_id=meta.get("model_id"),
                   generation=int(meta.get("generation", 0)))
    if fts != len(pids) or fts_orphans:
        r.problems.append(f"{path}: the full-text index has {fts} rows for {len(pids)} passages "
                          f"({fts_orphans} without a passage); {REPAIR.format(folder=r.folder)}")
    dim = int(meta["dim"]) if meta.get("dim") else None
    bad_offsets, bad_vectors, orphans, shown, bad_order = 0, 0, 0, [], set()
    texts: dict[str, str | None] = {}
    expected_idx: dict[str, int] = {}
    for row in db.execute('SELECT p.id, p.article_id, p.idx, p.start, p."end", p.text, length(p.vector), a.id '
                          "FROM passages p LEFT JOIN articles a ON a.id = p.article_id ORDER BY p.article_id, p.idx"):
        pid, aid, idx, start, end, text, vlen, found = row
        if found is None:
            orphans += 1
            continue
        if aid not in texts:
            texts = {aid: db.execute("SELECT text FROM articles WHERE id=?", (aid,)).fetchone()[0]}
        if texts[aid][start:end] != text:
            bad_offsets += 1
            shown.append(f"passage {pid} of {aid}")
        if dim is not None and vlen != 4 * dim:
            bad_vectors += 1
        if idx != expected_idx.get(aid, 0):
            bad_order.add(aid)
        expected_idx[aid] = idx + 1
    empty = db.execute("SELECT COUNT(*) FROM articles a WHERE NOT EXISTS "
                       "(SELECT 1 FROM passages p WHERE p.article_id = a.id)").fetchone()[0]
    for n, what in [(bad_offsets, f"passage(s) whose offsets do not match their article's text ({', '.join(shown[:3])})"),
                    (bad_vectors, f"passage vector(s) that are not {dim} float32 values"),
                    (orphans, "passage(s) whose article is missing"),
                    (len(bad_order), "article(s) with missing or repeated passage numbers (a partly stored article)"),
                    (empty, "article(s) with no passages")]:
        if n:
            r.problems.append(f"{path}: {n} {what}; remove and re-add the affected articles, or index again")
    return {"meta": meta, "articles": articles, "pids": pids, "dim": dim, "generation": r.facts["generation"]}


def faiss_ids(index) -> np.ndarray:
    """The passage ids a FAISS index holds: IndexIDMap(2)'s id_map, or an IVF index's inverted lists."""
    import faiss

    if hasattr(index, "id_map"):
        return faiss.vector_to_array(index.id_map).astype(np.int64)
    ivf = faiss.extract_index_ivf(index)  # RuntimeError for any other kind of index
    parts = [faiss.rev_swig_ptr(ivf.invlists.get_ids(i), ivf.invlists.list_size(i)).copy()
             for i in range(ivf.nlist) if ivf.invlists.list_size(i)]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def _cache_checks(folder: Path, r: Report, db_facts: dict | None):
    mpath, ipath = folder / MANIFEST_FILE, folder / INDEX_FILE
    fix = REPAIR.format(folder=folder)
    if not mpath.exists():
        if db_facts and len(db_facts["pids"]):
            r.warnings.append(f"{mpath} is missing: the vector cache will be rebuilt when the library opens; or {fix}")
        return
    try:
        m = json.loads(mpath.read_text("utf-8"))
        if not isinstance(m, dict):
            raise ValueError("not a JSON object")
        size, digest, dim, vectors = int(m["index_bytes"]), str(m["index_sha256"]), int(m["dim"]), int(m["vectors"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        r.problems.append(f"{mpath} is not a valid manifest ({type(e).__name__}: {e}); {fix}")
        return
    r.facts["cache_generation"] = m.get("generation")
    current = db_facts is not None and m.get("generation") == db_facts["generation"]
    if not current and db_facts is not None:
        r.warnings.append(f"{ipath} was built from generation {m.get('generation')} but the database is at "
                          f"{db_facts['generation']} (an interrupted write): it will be rebuilt when the library "
                          f"opens; or {fix}")
    try:
        actual = ipath.stat().st_size
        if actual != size:
            raise ValueError(f"it is {actual} bytes but {MANIFEST_FILE} records {size} (truncated or replaced)")
        with open(ipath, "rb") as f:
            data = f.read()
        if hashlib.sha256(data).hexdigest() != digest:
            raise ValueError(f"its SHA-256 does not match {MANIFEST_FILE} (the file is damaged)")
    except (OSError, ValueError) as e:
        msg = f"{ipath} cannot be used: {getattr(e, 'strerror', None) or e}; {fix}"
        (r.problems if current else r.warnings).append(msg)
        return
    import faiss  # only now: the bytes are exactly the ones the manifest describes

    try:
        index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        ids = np.sort(faiss_ids(index))
    except (RuntimeError, AttributeError) as e:
        r.problems.append(f"{ipath} matches its checksum but FAISS cannot read it as an id-mapped index ({e}); {fix}")
        return
    r.facts["cache_vectors"] = int(index.ntotal)
    if index.ntotal != vectors or index.d != dim or len(ids) != index.ntotal:
        r.problems.append(f"{ipath} holds {index.ntotal} vectors of dimension {index.d} ({len(ids)} ids); "
                          f"{MANIFEST_FILE} says {vectors} of {dim}; {fix}")
    if not current or db_facts is None:
        return
    meta, pids = db_facts["meta"], db_facts["pids"]
    for key, cache_value, db_value in [("model_id", m.get("model_id"), meta.get("model_id")),
                                       ("dimension", dim, db_facts["dim"] or dim),
                                       ("articles", m.get("articles"), db_facts["articles"]),
                                       ("passages", m.get("passages"), len(pids))]:
        if cache_value != db_value:
            r.problems.append(f"{MANIFEST_FILE} records {key} {cache_value!r} but the database has {db_value!r}; {fix}")
    if not np.array_equal(ids, pids):
        extra, missing = np.setdiff1d(ids, pids).size, np.setdiff1d(pids, ids).size
        r.problems.append(f"{ipath} does not hold exactly the stored passages ({extra} unknown ids, {missing} "
                          f"passages without a vector in the cache); {fix}")


def _reader_checks(r: Report):
    """The shipped reader's weights against the sha256 in their manifest (questions need them)."""
    from corpus.errors import ReaderModelError

    from .answer.reader.files import verify

    try:
        m = verify()
        r.facts["reader"] = f"ok (sha256 {m['sha256'][:12]}..., {int(m.get('bytes', 0)) / 1e6:.1f} MB)"
    except ReaderModelError as e:
        r.problems.append(str(e))


def check(folder) -> Report:
    """Verify a library folder; never modifies it. `report.ok` is False when something is wrong."""
    folder = Path(folder).expanduser()
    r = Report(str(folder))
    dbpath = folder / Store.FILE
    if not dbpath.is_file():
        raise LibraryError(f"{folder} is not an article-qa library (no {Store.FILE}); check --library or "
                           "ARTICLE_QA_LIBRARY")
    db_facts = None
    try:
        db = sqlite3.connect(f"file:{dbpath}?mode=ro", uri=True)
        try:
            db_facts = _sqlite_checks(db, r)
        finally:
            db.close()
    except sqlite3.Error as e:
        r.problems.append(f"{dbpath} cannot be opened ({e}); check its permissions, or restore it from a backup")
    _cache_checks(folder, r, db_facts)
    _reader_checks(r)
    leftovers = sorted(p.name for p in folder.glob(".*.*") if p.name.startswith((f".{INDEX_FILE}.", f".{MANIFEST_FILE}.")))
    if leftovers:
        r.warnings.append(f"{len(leftovers)} temporary file(s) left by an interrupted save ({', '.join(leftovers[:3])}); "
                          "'article-qa repair' deletes them")
    return r


class StoredModel(Encoder):
    """Stands in for the model when nothing needs embedding (repair, checks): only its id and dimension."""

    def __init__(self, model_id: str, dim: int):
        self.model_id, self._dim = model_id, dim

    dim = property(lambda self: self._dim)
    max_tokens = property(lambda self: 256)

    def count_tokens(self, text):
        raise LibraryError("repair does not embed text; open the library with its model to add articles")

    _encode = count_tokens


def repair(folder) -> tuple[list[str], Report]:
    """Rebuild what can be rebuilt from SQLite (FTS rows, the FAISS cache, manifest); (actions, new report)."""
    from .library import Library

    folder = Path(folder).expanduser()
    before = check(folder)
    if any("SQLite's integrity check" in p or "not a readable" in p or "cannot be opened" in p for p in before.problems):
        raise LibraryError(f"{folder / Store.FILE} itself is damaged; repair can only rebuild caches from it. "
                           "Restore it from a backup, or move the folder aside and index your articles again")
    actions = []
    store = Store(folder)
    try:
        meta = dict(store.db.execute("SELECT key, value FROM meta").fetchall())
        with store.transaction() as db:
            gone = db.execute("DELETE FROM passages_fts WHERE rowid NOT IN (SELECT id FROM passages)").rowcount
            added = db.execute("INSERT INTO passages_fts(rowid, title, body) SELECT p.id, a.title, p.text FROM passages p "
                               "JOIN articles a ON a.id = p.article_id WHERE p.id NOT IN "
                               "(SELECT rowid FROM passages_fts)").rowcount
        if gone or added:
            actions.append(f"full-text index: removed {gone} stale row(s), added {added} missing row(s)")
    finally:
        store.close()
    lib = Library(folder, StoredModel(meta.get("model_id") or "unknown", int(meta.get("dim") or 1)), check_model=False)
    try:
        n = lib.rebuild_index(save=True).ntotal
        actions.append(f"rebuilt {folder / INDEX_FILE} from {n} stored vectors and rewrote {MANIFEST_FILE}")
    finally:
        lib.store.close()
    for p in folder.glob(".*.*"):
        if p.name.startswith((f".{INDEX_FILE}.", f".{MANIFEST_FILE}.")):
            p.unlink(missing_ok=True)
            actions.append(f"deleted leftover temporary file {p.name}")
    return actions, check(folder)
