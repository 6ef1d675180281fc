"""Copy a library into another one, any backend to any backend, WITHOUT re-encoding.

Articles, passages (with their exact offsets and sentence spans), stored vectors, duplicate links and
signatures are read from the source store and written through the destination store's own
transaction / insert_article / insert_passage / bump, a few hundred articles per transaction. The
destination gets the source's model meta (model_id, dim, schema_version, target_tokens), so it opens
with the same encoder. Articles already in the destination are skipped, so an interrupted copy resumes.

    python bench/copy_library.py /tmp/article-qa-scifact milvus:///tmp/scifact-milvus.db
    python bench/copy_library.py milvus:///tmp/scifact-milvus.db /tmp/scifact-copy --batch 200
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from embeddings.base import Encoder  # noqa: E402

META_KEYS = ("model_id", "dim", "schema_version", "target_tokens")


class StoredModel(Encoder):
    """Stands in for the encoder when only stored vectors move: opening a library needs its model id."""

    def __init__(self, model_id: str, dim: int):
        self.model_id, self._dim = model_id, dim

    @property
    def dim(self):
        return self._dim

    @property
    def max_tokens(self):
        return 10 ** 9

    def count_tokens(self, text):
        return len(text.split())

    def _encode(self, texts, batch_size, show_progress):
        raise RuntimeError("copy_library never encodes; it moves the stored vectors")


def quiet_milvus():
    """pymilvus configures its loggers on import; silence its per-query warnings after that."""
    try:
        import pymilvus  # noqa: F401
    except ImportError:
        return
    logging.getLogger("pymilvus").setLevel(logging.ERROR)


def load_collections(location: str) -> list[str]:
    """Work around qa.store.milvus not loading existing collections: a Milvus Lite file written by an
    earlier process opens with its collections released ("call load() before search/get/query").
    Loads them; returns the names that needed it (empty once MilvusStore loads them itself)."""
    if not location.startswith("milvus://"):
        return []
    from pymilvus import MilvusClient

    from qa.store.milvus import parse_uri

    uri, prefix, _ = parse_uri(location)
    client = MilvusClient(uri)
    loaded = []
    try:
        for name in client.list_collections():
            if name.startswith(prefix + "_") and "NotLoad" in str(client.get_load_state(name).get("state")):
                client.load_collection(name)
                loaded.append(name)
    finally:
        client.close()
    return loaded


def open_store(location: str):
    """The Library (for its store) at a location, opened without loading any model."""
    from qa import Library

    quiet_milvus()
    load_collections(location)

    probe = Library(location, StoredModel("?", 0), check_model=False)
    model_id, dim = probe.store.meta("model_id"), probe.store.meta("dim")
    if model_id is None:
        return probe
    probe.store.close()
    return Library(location, StoredModel(model_id, int(dim)))


def passage_ids(store, article_ids: list[str]) -> dict[str, list[int]]:
    """{article id: its passage ids in passage order}, one query per batch of articles."""
    out: dict[str, list[tuple[int, int]]] = {a: [] for a in article_ids}
    for pid, aid, idx in store.passage_keys(article_ids):
        out[aid].append((idx, int(pid)))
    return {a: [pid for _, pid in sorted(v)] for a, v in out.items()}


def signatures(store) -> dict[str, bytes]:
    """Near-duplicate signatures by article id (an all-zero vector means 'none', as Milvus stores it)."""
    out = {}
    for r in store.signatures():
        sig = r[2]
        if sig and np.any(np.frombuffer(sig, np.float32)):
            out[r[0]] = bytes(sig)
    return out


def seal(store) -> float:
    """Milvus: flush every collection, so the rows leave the write buffer for sealed, indexed segments.

    Milvus Lite keeps up to 128 MB of rows in an in-memory write buffer that every search scans and
    re-indexes (seconds per query at ~14k passages); qa.store.milvus never flushes. Returns seconds."""
    if not hasattr(store, "client"):
        return 0.0
    t = time.perf_counter()
    for name in (store.P, store.A, store.T, store.M):
        if store.client.has_collection(name):
            store.client.flush(name)
    return time.perf_counter() - t


def copy_library(src_loc: str, dst_loc: str, batch: int = 200, progress: bool = True, flush: bool = True) -> dict:
    from tqdm import tqdm

    t0 = time.perf_counter()
    src = open_store(src_loc)
    s = src.store
    meta = {k: s.meta(k) for k in META_KEYS}
    if meta["model_id"] is None:
        raise SystemExit(f"{src_loc} is empty (no model recorded); nothing to copy")
    dst = open_store(dst_loc)
    d = dst.store
    have = d.meta("model_id")
    if have and (have != meta["model_id"] or d.meta("dim") != meta["dim"]):
        raise SystemExit(f"{dst_loc} holds vectors of {have} (dim {d.meta('dim')}); the source has "
                         f"{meta['model_id']} (dim {meta['dim']}). Copy into an empty library instead.")
    rows = sorted(s.list_articles(), key=lambda r: r["added_at"] or "")  # insertion order: groups keep roots
    sigs = signatures(s)
    t_read = time.perf_counter()
    copied_a = copied_p = skipped = 0
    bar = tqdm(total=len(rows), unit="article", desc="Copying", disable=not progress, file=sys.stderr,
               dynamic_ncols=True)
    for i in range(0, len(rows), batch):
        existing = d.article_rows([r["id"] for r in rows[i:i + batch]])
        part = [r for r in rows[i:i + batch] if r["id"] not in existing]
        skipped += min(batch, len(rows) - i) - len(part)
        if part:
            ids = [r["id"] for r in part]
            pids = passage_ids(s, ids)
            passages = s.passages([p for a in ids for p in pids[a]])
            with d.transaction() as db:
                if d.meta("model_id") is None:  # like Library._ensure_model_meta, from the source's meta
                    d.set_meta(db, **{k: v for k, v in meta.items() if v is not None})
                for r in part:
                    a = s.article(r["id"])
                    d.insert_article(db, a, canonical_id=r["canonical_id"] or None, signature=sigs.get(a.id))
                    for pid in pids[a.id]:
                        p, prow = passages[pid]
                        d.insert_passage(db, p, a.title, np.frombuffer(prow["vector"], np.float32))
                        copied_p += 1
                    copied_a += 1
                d.bump(db)
        bar.update(min(batch, len(rows) - i))
    bar.close()
    t_write = time.perf_counter()
    dst.rebuild_index(save=True)  # the FAISS cache for a SQLite destination (Milvus: nothing to do)
    if flush:
        seal(d)  # Milvus: seal the written rows into indexed segments
    t_end = time.perf_counter()
    a, p = d.counts()
    out = {"source": src_loc, "destination": dst_loc, "articles_copied": copied_a, "passages_copied": copied_p,
           "articles_skipped": skipped, "destination_counts": {"articles": a, "passages": p},
           "open_s": round(t_read - t0, 3), "write_s": round(t_write - t_read, 3),
           "index_s": round(t_end - t_write, 3), "flushed": flush, "seconds": round(t_end - t0, 3)}
    src.store.close()
    dst.close()
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", help="library folder or milvus:// location to read")
    ap.add_argument("destination", help="library folder or milvus:// location to write (created if needed)")
    ap.add_argument("--batch", type=int, default=200, help="articles per transaction (default 200)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    ap.add_argument("--no-flush", action="store_true", help="Milvus: leave the rows in the write buffer")
    args = ap.parse_args(argv)
    r = copy_library(args.source, args.destination, args.batch, progress=not args.quiet, flush=not args.no_flush)
    print(f"copied {r['articles_copied']} articles, {r['passages_copied']} passages "
          f"({r['articles_skipped']} already there) in {r['seconds']:.1f} s "
          f"(open+list {r['open_s']:.1f} s, write {r['write_s']:.1f} s, index {r['index_s']:.1f} s); "
          f"destination now holds {r['destination_counts']['articles']} articles, "
          f"{r['destination_counts']['passages']} passages")
    return r


if __name__ == "__main__":
    main()
