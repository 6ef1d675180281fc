"""Choosing the k passages to cite from a ranked pool: one passage set per duplicate group, then MMR."""
from __future__ import annotations

from typing import Optional

import numpy as np

MMR_LAMBDA = 0.85  # relevance vs. novelty; 1.0 turns diversity off
REDUNDANT = 0.95  # passages this similar to one already chosen are never cited twice


def select(library, ranked: list[tuple[int, float]], k: int, mmr_lambda: Optional[float] = None):
    """[(passage id, fused score, Passage, row, also_in list)] for at most k citations, best first.

    `mmr_lambda` defaults to MMR_LAMBDA (read at call time, so bench/bench_diversity.py can turn it off)."""
    mmr_lambda = MMR_LAMBDA if mmr_lambda is None else mmr_lambda
    if not ranked:
        return []
    rows = library.store.passages([pid for pid, _ in ranked])
    ranked = [(pid, s) for pid, s in ranked if pid in rows]
    arts = library.store.article_rows({rows[pid][0].article_id for pid, _ in ranked})
    root_of = {aid: (r["canonical_id"] or aid) for aid, r in arts.items()}
    # Duplicate groups: the first (best-ranked) article of a group speaks for it; copies are dropped.
    speaker: dict[str, str] = {}
    pool = []
    for pid, s in ranked:
        aid = rows[pid][0].article_id
        root = root_of[aid]
        if speaker.setdefault(root, aid) != aid:
            continue
        pool.append((pid, s))
    if not pool:
        return []
    vecs = np.stack([np.frombuffer(rows[pid][1]["vector"], np.float32) for pid, _ in pool])
    rel = np.array([s for _, s in pool], np.float64)
    span = rel.max() - rel.min()
    rel = (rel - rel.min()) / span if span > 0 else np.ones_like(rel)
    chosen: list[int] = []
    left = list(range(len(pool)))
    while left and len(chosen) < k:
        if chosen:
            sim = vecs[left] @ vecs[chosen].T
            maxsim = sim.max(axis=1)
            score = mmr_lambda * rel[left] - (1 - mmr_lambda) * maxsim
            score[maxsim >= REDUNDANT] = -np.inf
            j = int(np.argmax(score))
            if not np.isfinite(score[j]):
                break
        else:
            j = 0
        chosen.append(left.pop(j))
    groups = library.group_of({rows[pool[i][0]][0].article_id for i in chosen})
    out = []
    for i in chosen:
        pid, s = pool[i]
        p, r = rows[pid]
        members = groups.get(root_of[p.article_id], [])
        also = [m for m in members if m["article_id"] != p.article_id]
        out.append((pid, s, p, r, also))
    return out

