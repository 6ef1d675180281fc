"""Near-duplicate articles (wire copies, the same story from another outlet), found at ingest.

An article is a copy when its mean passage vector is very close to an earlier article's *and* their
word shingles overlap, or when the shingles alone overlap heavily. Both are kept; the copy links to
the earliest article of its group (`canonical_id`), so answers cite one and list the others.
"""
from __future__ import annotations

import re

import numpy as np

VECTOR_MIN = 0.92  # cosine of mean passage vectors
SHINGLE_MIN = 0.25  # Jaccard of word 3-shingles, together with VECTOR_MIN
SHINGLE_ALONE = 0.6  # Jaccard that marks a copy on its own
CANDIDATES = 5
_WORD = re.compile(r"\w+")


def shingles(text: str, n: int = 3) -> set:
    words = _WORD.findall(text.lower())
    return {" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def signature(vecs: np.ndarray) -> np.ndarray:
    v = np.asarray(vecs, np.float32).mean(axis=0)
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


class DuplicateFinder:
    """Article signatures held in memory (loaded lazily from SQLite), searched by dot product."""

    def __init__(self, store):
        self.store = store
        self.ids: list[str] = []
        self.roots: list[str] = []
        self.mat = None

    def _load(self, dim: int):
        if self.mat is not None:
            return
        rows = self.store.signatures()
        rows = [r for r in rows if len(r[2]) == 4 * dim]
        self.ids = [r[0] for r in rows]
        self.roots = [r[1] or r[0] for r in rows]
        self._buf = np.zeros((max(1024, 2 * len(rows)), dim), np.float32)
        if rows:
            self._buf[:len(rows)] = np.frombuffer(b"".join(r[2] for r in rows), np.float32).reshape(len(rows), dim)
        self.mat = self._buf[:len(rows)]

    def find(self, text: str, sig: np.ndarray, extra: list[tuple[str, str, np.ndarray, str]]) -> str | None:
        """Root id of the group this article copies, or None. `extra` = (id, root, sig, text) of this batch."""
        self._load(len(sig))
        cands: list[tuple[float, str, str, str | None]] = []
        if len(self.mat):
            sims = self.mat @ sig
            for i in np.argsort(-sims)[:CANDIDATES]:
                cands.append((float(sims[i]), self.ids[i], self.roots[i], None))
        for aid, root, s, t in extra:
            cands.append((float(s @ sig), aid, root, t))
        mine = shingles(text)
        for sim, aid, root, t in sorted(cands, key=lambda c: -c[0]):
            if sim < VECTOR_MIN and sim < 0.75:
                continue  # too far apart in meaning to be the same story
            if t is None:
                other = self.store.article(aid)
                if other is None:
                    continue
                t = other.text
            j = jaccard(mine, shingles(t))
            if j >= SHINGLE_ALONE or (sim >= VECTOR_MIN and j >= SHINGLE_MIN):
                return root
        return None

    def added(self, aid: str, root: str | None, sig: np.ndarray):
        if self.mat is not None:
            self.ids.append(aid)
            self.roots.append(root or aid)
            n = len(self.mat)
            if n == len(self._buf):  # grow by doubling: appends stay O(1) amortized
                self._buf = np.vstack([self._buf, np.zeros_like(self._buf)])
            self._buf[n] = sig
            self.mat = self._buf[:n + 1]

    def reset(self):
        self.mat = None


def links_for_batch(library, batch, vecs: np.ndarray) -> dict[str, tuple[str | None, bytes]]:
    """{article id: (canonical id or None, signature bytes)} for a batch of (article, passages)."""
    finder = library.duplicates
    out, extra, row = {}, [], 0
    for article, passages in batch:
        sig = signature(vecs[row:row + len(passages)])
        row += len(passages)
        root = finder.find(article.text, sig, extra)
        out[article.id] = (root, sig.astype(np.float32).tobytes())
        extra.append((article.id, root or article.id, sig, article.text))
    return out
