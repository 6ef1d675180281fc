"""The FAISS index: a cache of the vectors stored in SQLite, saved atomically with a manifest.

The manifest (JSON) is written last and records the SQLite generation the cache was built from, the
model, dimension, counts and the cache file's SHA-256. Anything that disagrees is rebuilt from the
stored vectors, never re-encoded, and the file is verified before FAISS reads it.
"""
from __future__ import annotations

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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
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
            os.unlink(tmp)
        except OSError:
            pass
        if e.errno == 28:  # ENOSPC
            raise DiskFullError(f"disk full while writing {path}; the previous file is intact. "
                                "Free some space and run 'article-qa repair'.") from None
        raise


def read_manifest(folder: Path) -> Optional[dict]:
    try:
        return json.loads((Path(folder) / MANIFEST_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None


class VectorIndex:
    """Exact inner-product search over passage ids (FAISS IndexIDMap2 over IndexFlatIP)."""

    def __init__(self, dim: int):
        import faiss

        self.dim = dim
        self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.lock = threading.RLock()

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
                params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(allowed, np.int64)))
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
                        vectors=self.ntotal, dim=self.dim)
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
        if self.index.ntotal != manifest.get("vectors") or self.index.d != self.dim:
            raise ValueError(f"{path} holds {self.index.ntotal} vectors of dimension {self.index.d}; "
                             f"the manifest says {manifest.get('vectors')} of {self.dim}")
        return self
