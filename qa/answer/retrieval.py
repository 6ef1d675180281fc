"""Dense (FAISS), lexical (SQLite FTS5 BM25) and hybrid retrieval of passages."""
from __future__ import annotations

from typing import Optional

import numpy as np

from corpus.errors import QuestionError

from .filters import Filters
from ..store.fts import terms

MODES = ("dense", "bm25", "hybrid")
POOL = 100  # candidates taken from each leg before fusion
DENSE_WEIGHT = 0.6  # hybrid = 0.6 dense + 0.4 BM25, each divided by its best score (tuned on SciFact train)
TITLE_WEIGHT, BODY_WEIGHT = 0.5, 1.0  # FTS5 bm25() column weights


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise QuestionError(f"mode '{mode}' is not one of {', '.join(MODES)}; use --mode {'|'.join(MODES)}")
    return mode


def dense(library, qvec: np.ndarray, n: int, filters: Optional[Filters]) -> list[tuple[int, float]]:
    return library.dense_search(qvec, n, filters)


COMMON_SHARE = 0.05  # a term in more than this share of passages (and more than MIN_POSTINGS of them)
MIN_POSTINGS = 5000  # is left out of the BM25 query: below ~100k passages FTS5 is fast with every term...
MAX_TERMS = 16  # ...and at most this many of the rarest terms are searched (8 cost SciFact 0.01 nDCG)
MIN_TERMS = 2  # (but never fewer than this, rarest first, when a question has them)


def lexical_terms(library, question: str) -> list[str]:
    """The question's terms that BM25 searches: FTS5 scores every passage that matches any term, so one
    common word ("study", "city") makes a query read most of the index at 100k passages. Terms in more than
    COMMON_SHARE of the passages add little to the ranking (low IDF) and are dropped, rarest kept first."""
    ts = terms(question)
    n = library.passage_count() if hasattr(library, "passage_count") else 0
    most = max(COMMON_SHARE * n, MIN_POSTINGS)
    if len(ts) <= MIN_TERMS or most >= n:
        return ts
    idf = library.idf(ts)
    floor = float(np.log1p((n - most + 0.5) / (most + 0.5)))  # the IDF of a term in `most` passages
    ranked = sorted(ts, key=lambda t: -idf[t])
    keep = [t for t in ranked if idf[t] >= floor][:MAX_TERMS]
    return keep if len(keep) >= MIN_TERMS else ranked[:MIN_TERMS]


def bm25(library, question: str, n: int, filters: Optional[Filters]) -> list[tuple[int, float]]:
    return library.store.lexical_search(lexical_terms(library, question), n, filters, TITLE_WEIGHT, BODY_WEIGHT)


def _scaled(lst: list[tuple[int, float]]) -> dict[int, float]:
    top = max((s for _, s in lst), default=0.0)
    return {pid: (s / top if top > 0 else 0.0) for pid, s in lst}


def convex(dense_hits, bm25_hits, alpha: float = DENSE_WEIGHT) -> list[tuple[int, float]]:
    """Weighted sum of max-scaled scores; a passage missing from one leg gets that leg's lowest score.

    On SciFact train this beat reciprocal-rank fusion (nDCG@10 0.741 vs 0.734, see bench/tune_fusion.py)."""
    d, b = _scaled(dense_hits), _scaled(bm25_hits)
    floor_d, floor_b = min(d.values(), default=0.0), min(b.values(), default=0.0)
    fused = {pid: alpha * d.get(pid, floor_d) + (1 - alpha) * b.get(pid, floor_b) for pid in d.keys() | b.keys()}
    return sorted(fused.items(), key=lambda x: (-x[1], x[0]))


def retrieve(library, question: str, qvec: Optional[np.ndarray], n: int, mode: str = "hybrid",
             filters: Optional[Filters] = None) -> list[tuple[int, float]]:
    """Ranked (passage id, score) pairs, best first; filters restrict the candidates before ranking."""
    check_mode(mode)
    pool = max(n, POOL)
    if mode == "dense":
        return dense(library, qvec, n, filters)
    if mode == "bm25":
        return bm25(library, question, n, filters)
    return convex(dense(library, qvec, pool, filters), bm25(library, question, pool, filters))[:n]
