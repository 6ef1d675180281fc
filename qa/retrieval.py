"""Dense (FAISS), lexical (SQLite FTS5 BM25) and hybrid retrieval of passages."""
from __future__ import annotations

from typing import Optional

import numpy as np

from corpus.errors import QuestionError

from .filters import Filters
from .fts import terms

MODES = ("dense", "bm25", "hybrid")
POOL = 100  # candidates taken from each leg before fusion
RRF_K = 60
TITLE_WEIGHT, BODY_WEIGHT = 0.5, 1.0  # FTS5 bm25() column weights


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise QuestionError(f"mode '{mode}' is not one of {', '.join(MODES)}; use --mode {'|'.join(MODES)}")
    return mode


def dense(library, qvec: np.ndarray, n: int, filters: Optional[Filters]) -> list[tuple[int, float]]:
    return library.dense_search(qvec, n, filters)


def bm25(library, question: str, n: int, filters: Optional[Filters]) -> list[tuple[int, float]]:
    return library.store.lexical_search(terms(question), n, filters, TITLE_WEIGHT, BODY_WEIGHT)


def rrf(*lists: list[tuple[int, float]], weights=None) -> list[tuple[int, float]]:
    weights = weights or [1.0] * len(lists)
    fused: dict[int, float] = {}
    for w, lst in zip(weights, lists):
        for rank, (pid, _) in enumerate(lst):
            fused[pid] = fused.get(pid, 0.0) + w / (RRF_K + rank + 1)
    return sorted(fused.items(), key=lambda x: -x[1])


def retrieve(library, question: str, qvec: Optional[np.ndarray], n: int, mode: str = "hybrid",
             filters: Optional[Filters] = None) -> list[tuple[int, float]]:
    """Ranked (passage id, score) pairs, best first; filters restrict the candidates before ranking."""
    check_mode(mode)
    pool = max(n, POOL)
    if mode == "dense":
        return dense(library, qvec, n, filters)
    if mode == "bm25":
        return bm25(library, question, n, filters)
    return rrf(dense(library, qvec, pool, filters), bm25(library, question, pool, filters))[:n]
