"""The Milvus backend: articles, passages, vectors, BM25 and filters all live in Milvus collections.

`milvus:///path/file.db` opens Milvus Lite (an embedded engine in one local file);
`milvus://host:19530/?collection=NAME` a Milvus server or cluster. It implements the same surface as
qa.store.Store (plus `dense_search`), so retrieval, answers and the app do not know which they use.
Writes are buffered per transaction and sent when it ends, passages first and the article row last,
so an article is only listed once all its passages are stored.
"""
from __future__ import annotations

import hashlib
import json
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional
from urllib.parse import parse_qs, urlparse

import numpy as np

from corpus.errors import LibraryError, MissingExtraError
from corpus.records import Article, Passage, Span

TEXT_PIECE = 16000  # characters per stored text piece (Milvus VARCHAR holds at most 65,535 bytes)
# Milvus Lite's analyzer only splits and lowercases (it skips stemmer filters), so the BM25 field holds
# title + passage already tokenized by SQLite's porter tokenizer, and queries are tokenized the same way:
# both backends then score the same terms (SciFact test hybrid nDCG@10 0.731 vs 0.733, bench_milvus.py).
ANALYZER = {"tokenizer": "standard", "filter": ["lowercase"]}


def parse_uri(uri: str) -> tuple[str, str, Path]:
    """(client uri, collection prefix, local folder for files such as uploads)."""
    u = urlparse(uri)
    name = parse_qs(u.query).get("collection", ["article_qa"])[0]
    if not name.replace("_", "").isalnum():
        raise LibraryError(f"collection name '{name}' in {uri} must be letters, digits and _ only")
    if u.netloc:  # a server: milvus://host:port/?collection=NAME
        from platformdirs import user_data_dir

        return f"http://{u.netloc}", name, Path(user_data_dir("article-qa", appauthor=False)) / f"milvus-{name}"
    path = Path(u.path).expanduser()
    if not u.path or path.suffix != ".db":
        raise LibraryError(f"{uri}: expected milvus:///path/to/file.db (Milvus Lite) or "
                           "milvus://host:19530/?collection=NAME (a Milvus server)")
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path), name, path.with_name(path.stem + "-files")


def passage_id(article_id: str, index: int) -> int:
    """Deterministic 62-bit id, so a resumed bulk ingest rewrites rather than duplicates."""
    return int.from_bytes(hashlib.sha256(f"{article_id}:{index}".encode()).digest()[:8], "big") >> 2


def _q(v: str) -> str:
    return json.dumps(str(v), ensure_ascii=False)  # a quoted string literal for Milvus filter expressions


class MilvusStore:
    native_vectors = True

    def __init__(self, uri: str):
        try:
            import logging

            from pymilvus import MilvusClient

            logging.getLogger("pymilvus").setLevel(logging.ERROR)  # it warns on every iterator query
        except ImportError:
            raise MissingExtraError("The Milvus backend", "milvus") from None
        self.uri = uri
        client_uri, self.name, self.files = parse_uri(uri)
        self.path = uri
        self.lock = threading.RLock()
        try:
            self.client = MilvusClient(client_uri)
        except Exception as e:
            raise LibraryError(f"Cannot open Milvus at {uri} ({type(e).__name__}: {e}). Check the server is "
                               "running and the address is right.") from None
        self.P, self.A, self.T, self.M = (f"{self.name}_{x}" for x in ("passages", "articles", "texts", "meta"))
        self._ensure_small_collections()
        self._pending: Optional[dict] = None
        from .sqlite import FtsTokenizer

        self.tokens = FtsTokenizer()
        for name in (self.M, self.T, self.A, self.P):  # a reopened Milvus Lite file starts released
            if self.client.has_collection(name):
                self.client.load_collection(name)

    # -- hooks a subclass may override (bench/bench_milvus.py varies BM25 this way)
    def index_params(self, name: str, field: str, metric: str) -> dict:
        """Extra build parameters for one index (none by default)."""
        return {}

    def passage_schema(self, fields: list, functions: list) -> tuple[list, list]:
        """The passages collection's (name, type, options) fields and functions, before it is created."""
        return fields, functions

    def passage_row(self, p: Passage, title: str, vector) -> dict:
        """The row stored for one passage."""
        return {"id": passage_id(p.article_id, p.index), "article_id": p.article_id, "idx": p.index,
                "paragraphs": json.dumps(list(p.paragraphs)), "start": p.start, "end": p.end, "text": p.text,
                "lexical": self.tokens(f"{title}\n{p.text}" if title else p.text)[:60000],
                "sentences": json.dumps([[s.start, s.end] for s in p.sentences]),
                **self._article_meta, "dense": np.asarray(vector, np.float32).tolist()}

    # -- schema
    def _create(self, name, fields, index, functions=()):
        from pymilvus import DataType

        if self.client.has_collection(name):
            return
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        for fname, ftype, kw in fields:
            schema.add_field(fname, getattr(DataType, ftype), **kw)
        for f in functions:
            schema.add_function(f)
        params = self.client.prepare_index_params()
        for field, itype, metric in index:
            params.add_index(field, index_type=itype, metric_type=metric, **self.index_params(name, field, metric))
        self.client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")

    def _ensure_small_collections(self):
        dummy = ("vec", "FLOAT_VECTOR", {"dim": 2})
        self._create(self.M, [("key", "VARCHAR", {"is_primary": True, "max_length": 128}),
                              ("value", "VARCHAR", {"max_length": 4096}), dummy], [("vec", "FLAT", "L2")])
        self._create(self.T, [("id", "VARCHAR", {"is_primary": True, "max_length": 96}),
                              ("article_id", "VARCHAR", {"max_length": 64}), ("part", "INT64", {}),
                              ("piece", "VARCHAR", {"max_length": 65535}), dummy], [("vec", "FLAT", "L2")])

    def _ensure_big_collections(self, dim: int):
        from pymilvus import Function, FunctionType

        v = lambda n: ("VARCHAR", {"max_length": n})  # noqa: E731
        self._create(self.A, [("id", "VARCHAR", {"is_primary": True, "max_length": 64}), ("title", *v(4096)),
                              ("authors", *v(4096)), ("outlet", *v(512)), ("date", *v(10)), ("source", *v(4096)),
                              ("paragraphs", *v(65535)), ("added_at", *v(40)), ("canonical_id", *v(64)),
                              ("signature", "FLOAT_VECTOR", {"dim": dim})], [("signature", "FLAT", "IP")])
        fields = [("id", "INT64", {"is_primary": True}), ("article_id", *v(64)), ("idx", "INT64", {}),
                  ("paragraphs", *v(8192)), ("start", "INT64", {}), ("end", "INT64", {}),
                  ("text", *v(65535)),
                  ("lexical", "VARCHAR", {"max_length": 65535, "enable_analyzer": True,
                                          "analyzer_params": ANALYZER}),
                  ("sentences", *v(65535)), ("outlet", *v(512)), ("authors", *v(4096)),
                  ("date", *v(10)), ("dense", "FLOAT_VECTOR", {"dim": dim}),
                  ("sparse", "SPARSE_FLOAT_VECTOR", {})]
        bm25 = Function(name=f"{self.name}_bm25", function_type=FunctionType.BM25,
                        input_field_names=["lexical"], output_field_names=["sparse"])
        fields, functions = self.passage_schema(fields, [bm25])
        self._create(self.P, fields,
                     [("dense", "FLAT" if self.client_is_lite else "HNSW", "IP"),
                      ("sparse", "SPARSE_INVERTED_INDEX", "BM25")], functions)

    @property
    def client_is_lite(self) -> bool:
        return not urlparse(self.uri).netloc

    def _ready(self) -> bool:
        if not getattr(self, "_has_p", False):
            self._has_p = self.client.has_collection(self.P)
        return self._has_p

    # -- transactions: buffer, then write passages, texts, and the article rows last
    @contextmanager
    def transaction(self):
        with self.lock:
            self._pending = {"meta": {}, "articles": [], "passages": [], "texts": [], "delete": []}
            try:
                yield self
                self._flush()
            finally:
                self._pending = None

    def _flush(self):
        p = self._pending
        for aid in p["delete"]:
            self._delete_now(aid)
        if p["meta"]:
            self.client.upsert(self.M, [{"key": k, "value": v, "vec": [0.0, 0.0]} for k, v in p["meta"].items()])
        if p["articles"]:
            self._ensure_big_collections(int(self.meta("dim")))
        for name, rows in ((self.P, p["passages"]), (self.T, p["texts"]), (self.A, p["articles"])):
            for i in range(0, len(rows), 500):
                self.client.upsert(name, rows[i:i + 500])

    # -- meta
    def meta(self, key: str, default=None):
        if self._pending is not None and key in self._pending["meta"]:
            return self._pending["meta"][key]
        rows = self.client.query(self.M, filter=f"key == {_q(key)}", output_fields=["value"])
        return rows[0]["value"] if rows else default

    def set_meta(self, db, **items):
        self._pending["meta"].update({k: str(v) for k, v in items.items()})

    def delete_meta(self, db, *keys):
        self.client.delete(self.M, filter=f"key in {json.dumps(list(keys))}")

    def generation(self) -> int:
        return int(self.meta("generation", "0"))

    def bump(self, db):
        self.set_meta(db, generation=self.generation() + 1)

    # -- writes
    def insert_article(self, db, a: Article, canonical_id=None, signature: bytes | None = None):
        dim = int(self.meta("dim"))
        sig = np.frombuffer(signature, np.float32) if signature else np.zeros(dim, np.float32)
        self._pending["articles"].append({
            "id": a.id, "title": a.title, "authors": json.dumps(list(a.authors), ensure_ascii=False),
            "outlet": a.outlet or "", "date": a.date or "", "source": a.source or "",
            "paragraphs": json.dumps([[s.start, s.end] for s in a.paragraphs]),
            "added_at": datetime.now(timezone.utc).isoformat(), "canonical_id": canonical_id or "",
            "signature": sig.tolist()})
        for i in range(0, max(1, len(a.text)), TEXT_PIECE):
            self._pending["texts"].append({"id": f"{a.id}:{i // TEXT_PIECE}", "article_id": a.id,
                                           "part": i // TEXT_PIECE, "piece": a.text[i:i + TEXT_PIECE],
                                           "vec": [0.0, 0.0]})
        self._article_meta = {"outlet": (a.outlet or "").lower(), "date": a.date or "",
                              "authors": json.dumps([x.lower() for x in a.authors], ensure_ascii=False)}

    def insert_passage(self, db, p: Passage, title: str, vector) -> int:
        row = self.passage_row(p, title, vector)
        self._pending["passages"].append(row)
        return row["id"]

    def delete_article(self, db, article_id: str) -> list[int]:
        ids = [r["id"] for r in self._query(self.P, f"article_id == {_q(article_id)}", ["id"])]
        self._pending["delete"].append(article_id)
        return ids

    def _delete_now(self, article_id: str):
        copies = [r["id"] for r in self._query(self.A, f"canonical_id == {_q(article_id)}", ["id"])]
        self.client.delete(self.A, filter=f"id == {_q(article_id)}")  # the article row first: never half-listed
        if self._ready():
            self.client.delete(self.P, filter=f"article_id == {_q(article_id)}")
        self.client.delete(self.T, filter=f"article_id == {_q(article_id)}")
        if copies:  # copies of a removed original regroup under the earliest remaining copy
            rows = sorted(self._query(self.A, f"id in {json.dumps(copies)}", ["*"]), key=lambda r: r["added_at"])
            new_root = rows[0]["id"]
            for r in rows:
                r["canonical_id"] = "" if r["id"] == new_root else new_root
            self.client.upsert(self.A, rows)

    # -- reads
    def _query(self, name, expr, fields, limit: int | None = None):
        if name in (self.A, self.P) and not self._ready():
            return []
        kw = {"limit": limit} if limit else {}
        if limit is None:
            out, it = [], self.client.query_iterator(name, filter=expr, output_fields=fields, batch_size=1000)
            while True:
                batch = it.next()
                if not batch:
                    it.close()
                    return out
                out.extend(batch)
        return self.client.query(name, filter=expr, output_fields=fields, **kw)

    def _row(self, r) -> dict:
        return {"id": r["id"], "title": r["title"], "authors": r["authors"], "outlet": r["outlet"] or None,
                "date": r["date"] or None, "source": r["source"] or None, "canonical_id": r["canonical_id"] or None,
                "added_at": r.get("added_at")}

    def has_article(self, article_id: str) -> bool:
        return bool(self._query(self.A, f"id == {_q(article_id)}", ["id"], limit=1))

    def article(self, article_id: str) -> Optional[Article]:
        rows = self._query(self.A, f"id == {_q(article_id)}", ["*"], limit=1)
        if not rows:
            return None
        r = rows[0]
        pieces = sorted(self._query(self.T, f"article_id == {_q(article_id)}", ["part", "piece"]),
                        key=lambda x: x["part"])
        return Article(id=r["id"], title=r["title"], text="".join(x["piece"] for x in pieces),
                       paragraphs=tuple(Span(a, b) for a, b in json.loads(r["paragraphs"])),
                       authors=tuple(json.loads(r["authors"])), outlet=r["outlet"] or None, date=r["date"] or None,
                       source=r["source"] or None)

    def article_rows(self, ids) -> dict:
        ids = list(set(ids))
        out = {}
        for i in range(0, len(ids), 500):
            for r in self._query(self.A, f"id in {json.dumps(ids[i:i + 500])}", ["*"]):
                out[r["id"]] = self._row(r)
        return out

    def list_articles(self, limit=None, offset=0, query=None):
        rows = [self._row(r) for r in self._query(self.A, 'id != ""', ["*"])]
        if query:
            ql = query.lower()
            rows = [r for r in rows if any(ql in (r[k] or "").lower() for k in ("title", "outlet", "authors", "id"))]
        rows.sort(key=lambda r: (r["date"] is None, "" if r["date"] is None else "".join(
            chr(0x10FFFF - ord(ch)) for ch in r["date"]), r["title"]))
        return rows[offset:None if limit is None else offset + limit]

    def _passage(self, r) -> tuple[Passage, dict]:
        p = Passage(article_id=r["article_id"], index=r["idx"], paragraphs=tuple(json.loads(r["paragraphs"])),
                    start=r["start"], end=r["end"], text=r["text"],
                    sentences=tuple(Span(a, b) for a, b in json.loads(r["sentences"])))
        return p, {"vector": np.asarray(r["dense"], np.float32).tobytes()}

    def passages(self, ids) -> dict:
        ids = [int(i) for i in ids]
        out = {}
        for i in range(0, len(ids), 500):
            for r in self._query(self.P, f"id in {ids[i:i + 500]}", ["*"]):
                out[r["id"]] = self._passage(r)
        return out

    def passage_keys(self, article_ids=None) -> list[tuple[int, str, int]]:
        """(passage id, article id, index in the article) of every passage, or of these articles'."""
        expr = "id >= 0" if article_ids is None else f"article_id in {json.dumps(list(article_ids))}"
        rows = self._query(self.P, expr, ["id", "article_id", "idx"])
        return [(int(r["id"]), r["article_id"], r["idx"]) for r in rows]

    def all_vectors(self, dim: int, batch: int = 20000):
        rows = self._query(self.P, "id >= 0", ["id", "dense"])
        for i in range(0, len(rows), batch):
            part = rows[i:i + batch]
            yield (np.array([r["id"] for r in part], np.int64),
                   np.array([r["dense"] for r in part], np.float32).reshape(len(part), dim))

    def counts(self) -> tuple[int, int]:
        if not self._ready():
            return 0, 0
        a = self.client.query(self.A, filter="", output_fields=["count(*)"])[0]["count(*)"]
        p = self.client.query(self.P, filter="", output_fields=["count(*)"])[0]["count(*)"]
        return int(a), int(p)

    def signatures(self):
        return [(r["id"], r["canonical_id"] or None, np.asarray(r["signature"], np.float32).tobytes())
                for r in self._query(self.A, 'id != ""', ["id", "canonical_id", "signature", "added_at"])]

    def group_members(self, roots) -> list[dict]:
        roots = json.dumps(list(roots))
        rows = self._query(self.A, f"id in {roots} or canonical_id in {roots}", ["id", "outlet", "title", "canonical_id"])
        return [{"id": r["id"], "outlet": r["outlet"] or None, "title": r["title"], "root": r["canonical_id"] or r["id"]}
                for r in rows]

    # -- search
    @staticmethod
    def expression(filters) -> str:
        if filters is None or not filters.active:
            return ""
        parts = []
        if filters.outlets:
            parts.append(f"outlet in {json.dumps([o.lower() for o in filters.outlets], ensure_ascii=False)}")
        if filters.authors:
            parts.append("(" + " or ".join(f'authors like {_q("%" + json.dumps(a.lower(), ensure_ascii=False) + "%")}'
                                           for a in filters.authors) + ")")
        if filters.since:
            parts.append(f'(date != "" and date >= {_q(filters.since)})')
        if filters.until:
            parts.append(f'(date != "" and date <= {_q(filters.until)})')
        if filters.article_ids:
            parts.append(f"article_id in {json.dumps(list(filters.article_ids))}")
        if filters.exclude_ids:
            parts.append(f"article_id not in {json.dumps(list(filters.exclude_ids))}")
        return " and ".join(parts)

    def filter_passage_ids(self, filters) -> np.ndarray:
        return np.array([r["id"] for r in self._query(self.P, self.expression(filters) or "id >= 0", ["id"])], np.int64)

    def dense_search(self, qvec, n: int, filters=None):
        if not self._ready() or n <= 0:
            return []
        res = self.client.search(self.P, data=[np.asarray(qvec[0], np.float32).tolist()], anns_field="dense",
                                 limit=min(n, 16384), filter=self.expression(filters),
                                 search_params={"metric_type": "IP"}, output_fields=["id"])
        return [(int(h["id"]), float(h["distance"])) for h in res[0]]

    def lexical_search(self, terms, n: int, filters, title_weight: float, body_weight: float):
        if not terms or not self._ready() or n <= 0:
            return []
        query = " ".join(dict.fromkeys(self.tokens(" ".join(terms)).split()))
        if not query:
            return []
        res = self.client.search(self.P, data=[query], anns_field="sparse", limit=min(n, 16384),
                                 filter=self.expression(filters), search_params={"metric_type": "BM25"},
                                 output_fields=["id"])
        # Milvus Lite reports BM25 as negative distances (best first); scores are their magnitude
        return [(int(h["id"]), abs(float(h["distance"]))) for h in res[0]]

    def flush(self):
        """Seal buffered rows: unflushed rows are searched by brute force on every query."""
        for name in (self.M, self.T, self.A, self.P):
            if self.client.has_collection(name):
                self.client.flush(name)

    def close(self):
        try:
            self.client.close()
        except Exception:
            pass


class NullIndex:
    """Stands in for the FAISS cache when the store searches vectors itself."""

    kind = "milvus"
    nprobe = 0
    recall = None  # Milvus's own index: not measured here

    def __init__(self, store):
        self.store = store

    @property
    def ntotal(self) -> int:
        return self.store.counts()[1]

    def add(self, ids, vecs):
        pass

    def remove(self, ids):
        pass

    def save(self, folder, manifest):
        pass
