"""SQLite is the source of truth: articles, passages, sentence spans, vectors and the FTS5 index.

Every change is one transaction, so a crash leaves the old or the new state. `generation` in the
meta table counts committed changes; the FAISS cache records the generation it was built from.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from corpus.errors import DiskFullError, LibraryError
from corpus.records import Article, Passage, Span

SCHEMA_VERSION = 1
FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS articles (
        id TEXT PRIMARY KEY, title TEXT NOT NULL, authors TEXT NOT NULL, outlet TEXT, date TEXT,
        source TEXT, text TEXT NOT NULL, paragraphs TEXT NOT NULL, added_at TEXT NOT NULL,
        canonical_id TEXT, signature BLOB)""",
    """CREATE TABLE IF NOT EXISTS passages (
        id INTEGER PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL, paragraphs TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
        text TEXT NOT NULL, sentences TEXT NOT NULL, vector BLOB NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS passages_article ON passages(article_id)",
    "CREATE INDEX IF NOT EXISTS articles_canonical ON articles(canonical_id)",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(title, body, tokenize='{FTS_TOKENIZER}')",
]


def _row_article(r) -> Article:
    return Article(id=r["id"], title=r["title"], text=r["text"],
                   paragraphs=tuple(Span(a, b) for a, b in json.loads(r["paragraphs"])),
                   authors=tuple(json.loads(r["authors"])), outlet=r["outlet"], date=r["date"],
                   source=r["source"])


def _row_passage(r) -> Passage:
    return Passage(article_id=r["article_id"], index=r["idx"], paragraphs=tuple(json.loads(r["paragraphs"])),
                   start=r["start"], end=r["end"], text=r["text"],
                   sentences=tuple(Span(a, b) for a, b in json.loads(r["sentences"])))


class Store:
    """Thread-safe wrapper around one SQLite connection (writes serialized by a lock)."""

    FILE = "library.sqlite3"

    def __init__(self, folder: Path):
        self.path = Path(folder) / self.FILE
        self.lock = threading.RLock()
        try:
            self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise LibraryError(f"{self.path} has schema version {version}, newer than this article-qa "
                                   f"({SCHEMA_VERSION}). Upgrade article-qa to read it.")
            with self.transaction():
                for stmt in _SCHEMA:
                    self.db.execute(stmt)
                self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as e:
            raise LibraryError(f"{self.path} is not a readable article-qa database ({e}). Move it aside and "
                               "index your articles again, or restore it from a backup.") from None

    @contextmanager
    def transaction(self):
        with self.lock:
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                raise _translate(e, self.path) from None
            try:
                yield self.db
                self.db.execute("COMMIT")
            except BaseException as e:
                try:
                    self.db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                if isinstance(e, sqlite3.OperationalError):
                    raise _translate(e, self.path) from None
                raise

    def close(self):
        with self.lock:
            self.db.close()

    # -- meta
    def meta(self, key: str, default: Optional[str] = None) -> Optional[str]:
        with self.lock:
            row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, db, **items):
        for k, v in items.items():
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (k, str(v)))

    def delete_meta(self, db, *keys):
        db.executemany("DELETE FROM meta WHERE key=?", [(k,) for k in keys])

    def generation(self) -> int:
        return int(self.meta("generation", "0"))

    def bump(self, db):
        g = int((db.execute("SELECT value FROM meta WHERE key='generation'").fetchone() or ["0"])[0]) + 1
        self.set_meta(db, generation=g)

    # -- writes (call inside transaction())
    def insert_article(self, db, a: Article, canonical_id: Optional[str] = None, signature: bytes | None = None):
        db.execute(
            "INSERT INTO articles(id, title, authors, outlet, date, source, text, paragraphs, added_at, canonical_id,"
            " signature) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (a.id, a.title, json.dumps(list(a.authors), ensure_ascii=False), a.outlet, a.date, a.source, a.text,
             json.dumps([[p.start, p.end] for p in a.paragraphs]), datetime.now(timezone.utc).isoformat(),
             canonical_id, signature))

    def insert_passage(self, db, p: Passage, title: str, vector: np.ndarray) -> int:
        cur = db.execute(
            'INSERT INTO passages(article_id, idx, paragraphs, start, "end", text, sentences, vector)'
            " VALUES (?,?,?,?,?,?,?,?)",
            (p.article_id, p.index, json.dumps(list(p.paragraphs)), p.start, p.end, p.text,
             json.dumps([[s.start, s.end] for s in p.sentences]), np.asarray(vector, np.float32).tobytes()))
        pid = cur.lastrowid
        db.execute("INSERT INTO passages_fts(rowid, title, body) VALUES (?,?,?)", (pid, title, p.text))
        return pid

    def delete_article(self, db, article_id: str) -> list[int]:
        ids = [r[0] for r in db.execute("SELECT id FROM passages WHERE article_id=?", (article_id,))]
        db.executemany("DELETE FROM passages_fts WHERE rowid=?", [(i,) for i in ids])
        db.execute("DELETE FROM passages WHERE article_id=?", (article_id,))
        # copies of a removed original regroup under the earliest remaining copy
        copies = [r[0] for r in db.execute(
            "SELECT id FROM articles WHERE canonical_id=? ORDER BY rowid", (article_id,))]
        if copies:
            db.execute("UPDATE articles SET canonical_id=NULL WHERE id=?", (copies[0],))
            db.execute("UPDATE articles SET canonical_id=? WHERE canonical_id=?", (copies[0], article_id))
        db.execute("DELETE FROM articles WHERE id=?", (article_id,))
        return ids

    # -- reads
    def has_article(self, article_id: str) -> bool:
        with self.lock:
            return self.db.execute("SELECT 1 FROM articles WHERE id=?", (article_id,)).fetchone() is not None

    def article(self, article_id: str) -> Optional[Article]:
        with self.lock:
            r = self.db.execute("SELECT * FROM articles WHERE id=?", (article_id,)).fetchone()
        return _row_article(r) if r else None

    def article_rows(self, ids: Iterable[str]) -> dict[str, sqlite3.Row]:
        ids = list(set(ids))
        out = {}
        with self.lock:
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                q = ("SELECT id, title, authors, outlet, date, source, canonical_id FROM articles WHERE id IN "
                     f"({','.join('?' * len(chunk))})")
                out.update({r["id"]: r for r in self.db.execute(q, chunk)})
        return out

    def list_articles(self, limit: int | None = None, offset: int = 0, query: str | None = None):
        sql = "SELECT id, title, authors, outlet, date, source, added_at, canonical_id FROM articles"
        args: list = []
        if query:
            sql += " WHERE title LIKE ? OR outlet LIKE ? OR authors LIKE ? OR id LIKE ?"
            args += [f"%{query}%"] * 4
        sql += " ORDER BY date IS NULL, date DESC, title LIMIT ? OFFSET ?"
        args += [-1 if limit is None else limit, offset]
        with self.lock:
            return self.db.execute(sql, args).fetchall()

    def passages(self, ids: Iterable[int]) -> dict[int, tuple[Passage, sqlite3.Row]]:
        ids = [int(i) for i in ids]
        out = {}
        with self.lock:
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                q = f"SELECT * FROM passages WHERE id IN ({','.join('?' * len(chunk))})"
                out.update({r["id"]: (_row_passage(r), r) for r in self.db.execute(q, chunk)})
        return out

    def passage_keys(self, article_ids=None) -> list[tuple[int, str, int]]:
        """(passage id, article id, index in the article) of every passage, or of these articles'."""
        with self.lock:
            if article_ids is None:
                return [tuple(r) for r in self.db.execute("SELECT id, article_id, idx FROM passages")]
            ids, out = list(article_ids), []
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                out += [tuple(r) for r in self.db.execute(
                    f"SELECT id, article_id, idx FROM passages WHERE article_id IN ({','.join('?' * len(chunk))})",
                    chunk)]
            return out

    def all_vectors(self, dim: int, batch: int = 20000):
        """Yield (ids, vectors) in batches, for rebuilding the FAISS cache without re-encoding."""
        with self.lock:
            rows = self.db.execute("SELECT id, vector FROM passages ORDER BY id").fetchall()
        for i in range(0, len(rows), batch):
            part = rows[i:i + batch]
            ids = np.fromiter((r[0] for r in part), dtype=np.int64, count=len(part))
            vecs = np.frombuffer(b"".join(r[1] for r in part), dtype=np.float32).reshape(len(part), dim)
            yield ids, vecs

    def signatures(self):
        """(id, canonical_id, signature bytes) of every article with a signature, in insertion order."""
        with self.lock:
            return self.db.execute("SELECT id, canonical_id, signature FROM articles WHERE signature IS NOT NULL "
                                   "ORDER BY rowid").fetchall()

    def group_members(self, roots) -> list[dict]:
        """Articles whose group root (canonical_id, or their own id) is among `roots`."""
        roots = list(roots)
        if not roots:
            return []
        marks = ",".join("?" * len(roots))
        with self.lock:
            rows = self.db.execute(
                f"SELECT id, outlet, title, COALESCE(canonical_id, id) AS root FROM articles "
                f"WHERE id IN ({marks}) OR canonical_id IN ({marks})", [*roots, *roots]).fetchall()
        return [dict(r) for r in rows]

    def filter_passage_ids(self, filters) -> np.ndarray:
        cond, args = filters.where()
        sql = f"SELECT p.id FROM passages p JOIN articles a ON a.id = p.article_id WHERE {cond}"
        with self.lock:
            return np.fromiter((r[0] for r in self.db.execute(sql, args)), dtype=np.int64)

    def lexical_search(self, terms: list[str], n: int, filters, title_weight: float, body_weight: float):
        """BM25 over passages (FTS5): [(passage id, score)]. Terms are quoted, so no user text is syntax."""
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        sql = (f"SELECT rowid, -bm25(passages_fts, {float(title_weight)}, {float(body_weight)}) AS s "
               "FROM passages_fts WHERE passages_fts MATCH ?")
        args: list = [match]
        if filters is not None and filters.active:
            cond, fargs = filters.where()
            sql += (" AND rowid IN (SELECT p.id FROM passages p JOIN articles a ON a.id = p.article_id "
                    f"WHERE {cond})")
            args += fargs
        sql += " ORDER BY s DESC LIMIT ?"  # not `rank`: that orders by unweighted bm25()
        args.append(n)
        with self.lock:
            return [(int(r[0]), float(r[1])) for r in self.db.execute(sql, args)]

    def doc_freqs(self, terms: list[str]) -> dict[str, int]:
        """Passages containing each term (FTS5's own stemming applies), for IDF weights."""
        out = {}
        with self.lock:
            for t in terms:
                q = '"' + t.replace('"', '""') + '"'
                out[t] = self.db.execute("SELECT count(*) FROM passages_fts WHERE passages_fts MATCH ?",
                                         (q,)).fetchone()[0]
        return out

    def counts(self) -> tuple[int, int]:
        with self.lock:
            a = self.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            p = self.db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        return a, p


class FtsTokenizer:
    """Text -> the space-joined terms FTS5 indexes for it (porter stems), for engines without a stemmer."""

    def __init__(self):
        self.lock = threading.Lock()
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.db.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize='{FTS_TOKENIZER}')")
        self.db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")

    def __call__(self, text: str) -> str:
        with self.lock:
            self.db.execute("DELETE FROM t")
            self.db.execute("INSERT INTO t(rowid, x) VALUES (1, ?)", (text,))
            return " ".join(r[0] for r in self.db.execute("SELECT term FROM v ORDER BY offset"))


def _translate(e: sqlite3.OperationalError, path) -> Exception:
    msg = str(e).lower()
    if "full" in msg:
        return DiskFullError(f"disk full while writing {path}; nothing was changed. Free some space and try again.")
    if "locked" in msg or "busy" in msg:
        return LibraryError(f"{path} is locked by another article-qa process; wait for it to finish and retry.")
    if "readonly" in msg or "read-only" in msg:
        return LibraryError(f"{path} is read-only; check the folder's permissions.")
    return LibraryError(f"{path}: database error ({e}).")
