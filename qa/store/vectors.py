"""The FAISS index: a cache of the vectors stored in SQLite, saved atomically with a manifest.

The manifest (JSON) is written last and records the SQLite generation the cache was built from, the
model, dimension, counts and the cache file's SHA-256. Anything that disagrees is rebuilt from the
stored vectors, never re-encoded, and the file is verified before FAISS reads it.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Optional

import numpy as np

from corpus.errors import DiskFullError

INDEX_FILE = "vectors.faiss"
MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = 1


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write(path: Path, data: bytes):
    """temp file + fsync + rename: readers see the old file or the new one, never a mix."""
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError as e:
        try:
            if tmp is not None:
                os.unlink(tmp)
        except OSError:
            pass
        if e.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):  # no space, or over quota
            raise DiskFullError(f"disk full while writing {path}; the previous file is intact. "
                                "Free some space and run 'article-qa repair'.") from None
        raise


def read_manifest(folder: Path) -> Optional[dict]:
    try:
        return json.loads((Path(folder) / MANIFEST_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None


APPROX_MIN = 250_000  # below this many vectors search is exact (flat); above, IVF (see bench/README.md)


def ivf_shape(n: int) -> tuple[int, int]:
    """(nlist, nprobe) for n vectors: ~4*sqrt(n) lists; probing 1/12 of them is the safe start that
    `tune_nprobe` lowers to what the library's own vectors need."""
    nlist = max(16, int(4 * n ** 0.5))
    return nlist, max(8, nlist // 12)


RECALL_TARGET = 0.98  # recall@10 against exact search that the chosen nprobe must keep
PROBE_SHARES = (64, 48, 32, 24, 16, 12)  # nprobe = nlist // share, cheapest first
QUERY_NOISE = 1.0  # norm of the noise (cosine to its passage ~0.7, as a question's to the passage it matches)


def tune_nprobe(index, ids: np.ndarray, vecs: np.ndarray, queries: int = 200, seed: int = 0) -> tuple[int, float]:
    """(nprobe, recall@10 on the probes) for an IVF index: twice the fewest lists whose recall@10 against
    exact search reaches RECALL_TARGET on probe queries made from the library's own vectors (each moved by
    noise), at most the safe start (nlist // 12). Measured at build time because the right value depends
    on how the vectors cluster; doubled because real questions sit farther from their passages than the
    probes (1M SciFact-like vectors: probes need 31 of 2,023 lists, real claims get recall 0.987 there
    and 0.995 at 62; bench/bench_million.py)."""
    import faiss

    rng = np.random.default_rng(seed)
    q = vecs[rng.choice(len(vecs), min(queries, len(vecs)), replace=False)]
    q = q + rng.normal(0, QUERY_NOISE / np.sqrt(q.shape[1]), q.shape).astype(np.float32)
    q = np.ascontiguousarray(q / np.linalg.norm(q, axis=1, keepdims=True), np.float32)
    _, pos = faiss.knn(q, np.ascontiguousarray(vecs, np.float32), 10, metric=faiss.METRIC_INNER_PRODUCT)
    truth = ids[pos]
    def recall_at(nprobe):
        index.nprobe = nprobe
        _, got = index.search(q, 10)
        return float(np.mean([len(set(t) & set(g)) / 10 for t, g in zip(truth, got)]))

    safe = max(8, index.nlist // PROBE_SHARES[-1])
    for share in PROBE_SHARES:
        if recall_at(max(8, index.nlist // share)) >= RECALL_TARGET:
            nprobe = min(safe, 2 * max(8, index.nlist // share))
            return nprobe, recall_at(nprobe)
    return safe, recall_at(safe)


def kind_for(n: int) -> str:
    return "ivf" if n >= APPROX_MIN else "flat"


class VectorIndex:
    """Inner-product search over passage ids: exact (IndexIDMap2 over IndexFlatIP) while the library is
    small, IVF (IndexIVFFlat, trained on the stored vectors) past APPROX_MIN vectors."""

    def __init__(self, dim: int, kind: str = "flat", train: Optional[np.ndarray] = None, nlist: Optional[int] = None):
        import faiss

        self.dim = dim
        self.kind = kind
        self.nprobe = 1
        self.recall = 1.0  # recall@10 of the search against exact (measured for IVF by tune_nprobe)
        if kind == "flat":
            self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        else:
            shape = ivf_shape(len(train))
            nlist, self.nprobe = (nlist, max(8, nlist // 12)) if nlist else shape
            quantizer = faiss.IndexFlatIP(dim)
            self.index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            self.index.train(np.ascontiguousarray(train, np.float32))
            self.index.nprobe = self.nprobe
        self.lock = threading.RLock()

    @classmethod
    def build(cls, dim: int, batches, count: int, kind: Optional[str] = None) -> "VectorIndex":
        """Index (ids, vectors) batches; picks flat or IVF by count unless `kind` is given."""
        kind = kind or kind_for(count)
        batches = list(batches) if kind == "ivf" else batches
        train = None
        if kind == "ivf":
            rng = np.random.default_rng(0)
            allv = np.concatenate([v for _, v in batches])
            nlist, _ = ivf_shape(count)
            take = min(len(allv), 64 * nlist)
            train = allv[rng.choice(len(allv), take, replace=False)]
        idx = cls(dim, kind, train, nlist=ivf_shape(count)[0] if kind == "ivf" else None)
        for ids, vecs in batches:
            idx.add(ids, vecs)
        if kind == "ivf":
            allids = np.concatenate([i for i, _ in batches])
            idx.nprobe, idx.recall = tune_nprobe(idx.index, allids, allv)
            idx.index.nprobe = idx.nprobe
        return idx

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids: np.ndarray, vecs: np.ndarray):
        with self.lock:
            self.index.add_with_ids(np.ascontiguousarray(vecs, np.float32), np.asarray(ids, np.int64))

    def remove(self, ids):
        import faiss

        if len(ids):
            with self.lock:
                self.index.remove_ids(faiss.IDSelectorBatch(np.asarray(list(ids), np.int64)))

    def search(self, q: np.ndarray, k: int, allowed: Optional[np.ndarray] = None):
        """Top-k (ids, scores) per query row; `allowed` restricts the search to those ids (filters)."""
        import faiss

        q = np.ascontiguousarray(np.atleast_2d(q), np.float32)
        with self.lock:
            k = min(k, self.ntotal)
            if k <= 0:
                return np.zeros((len(q), 0), np.int64), np.zeros((len(q), 0), np.float32)
            params = None
            if allowed is not None:
                if len(allowed) == 0:
                    return np.zeros((len(q), 0), np.int64), np.zeros((len(q), 0), np.float32)
                sel = faiss.IDSelectorBatch(np.asarray(allowed, np.int64))
                params = (faiss.SearchParametersIVF(sel=sel, nprobe=self.nprobe) if self.kind == "ivf"
                          else faiss.SearchParameters(sel=sel))
            scores, ids = self.index.search(q, k, params=params)
        keep = ids >= 0  # FAISS pads with -1 when fewer than k match
        return [i[m] for i, m in zip(ids, keep)], [s[m] for s, m in zip(scores, keep)]

    # -- persistence
    def save(self, folder: Path, manifest: dict):
        import faiss

        folder = Path(folder)
        with self.lock:
            data = faiss.serialize_index(self.index).tobytes()
        atomic_write(folder / INDEX_FILE, data)
        manifest = dict(manifest, version=MANIFEST_VERSION, index_file=INDEX_FILE,
                        index_sha256=hashlib.sha256(data).hexdigest(), index_bytes=len(data),
                        vectors=self.ntotal, dim=self.dim, kind=self.kind, nprobe=self.nprobe, recall=self.recall)
        atomic_write(folder / MANIFEST_FILE, json.dumps(manifest, indent=2).encode("utf-8"))

    @classmethod
    def load(cls, folder: Path, manifest: dict) -> "VectorIndex":
        """Read the cache after checking its size and checksum; raises ValueError when it is not valid."""
        import faiss

        path = Path(folder) / INDEX_FILE
        data = path.read_bytes()
        if len(data) != manifest.get("index_bytes") or hashlib.sha256(data).hexdigest() != manifest.get("index_sha256"):
            raise ValueError(f"{path} does not match its checksum in {MANIFEST_FILE}")
        self = cls(int(manifest["dim"]))
        self.index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        self.kind = manifest.get("kind", "flat")
        self.nprobe = int(manifest.get("nprobe", 1))
        self.recall = float(manifest.get("recall", 1.0))
        if self.kind == "ivf":
            self.index.nprobe = self.nprobe
        if self.index.ntotal != manifest.get("vectors") or self.index.d != self.dim:
            raise ValueError(f"{path} holds {self.index.ntotal} vectors of dimension {self.index.d}; "
                             f"the manifest says {manifest.get('vectors')} of {self.dim}")
        return self
