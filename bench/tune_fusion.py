"""Tune hybrid fusion on SciFact *train* and report it on *test* (BEIR nDCG@10, documents = articles).

Both legs are computed once per query (dense: FAISS; lexical: SQLite FTS5 BM25 with the given column
weights), then fusion variants are scored from those lists. Needs a SciFact library built by
bench/beir_library.py.   Usage: python bench/tune_fusion.py [LIBRARY_DIR]
"""
from __future__ import annotations

import itertools
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.beir_library import queries  # noqa: E402

POOL = 200


def ndcg10(ranked_docs, rel):
    dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(ranked_docs[:10]) if rel.get(d, 0) > 0)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(10, sum(1 for v in rel.values() if v > 0))))
    return dcg / ideal if ideal else 0.0


def legs(lib, qtext, title_w):
    from qa.answer import retrieval

    qvec = lib.encoder.encode([qtext])
    d = retrieval.dense(lib, qvec, POOL, None)
    old = retrieval.TITLE_WEIGHT
    retrieval.TITLE_WEIGHT = title_w
    try:
        b = retrieval.bm25(lib, qtext, POOL, None)
    finally:
        retrieval.TITLE_WEIGHT = old
    return d, b


def doc_of(lib, pids):
    rows = lib.store.passages(pids)
    arts = lib.store.article_rows({r[0].article_id for r in rows.values()})
    return {pid: arts[rows[pid][0].article_id]["source"].split("#", 1)[1] for pid in rows}


def to_docs(scored, docmap):
    best = {}
    for pid, s in scored:
        d = docmap[pid]
        if d not in best or s > best[d]:
            best[d] = s
    return [d for d, _ in sorted(best.items(), key=lambda x: -x[1])]


def norm(lst, how):
    if not lst:
        return {}
    v = np.array([s for _, s in lst])
    if how == "minmax":
        lo, hi = v.min(), v.max()
        v = (v - lo) / (hi - lo) if hi > lo else np.ones_like(v)
    elif how == "z":
        v = (v - v.mean()) / (v.std() or 1.0)
    elif how == "max":
        v = v / (v.max() or 1.0)
    return {pid: float(x) for (pid, _), x in zip(lst, v)}


def fuse(d, b, method, p):
    if method == "rrf":
        k, w = p
        out = {}
        for wt, lst in ((w, d), (1 - w, b)):
            for r, (pid, _) in enumerate(lst):
                out[pid] = out.get(pid, 0) + wt / (k + r + 1)
        return sorted(out.items(), key=lambda x: -x[1])
    how, alpha = p
    nd, nb = norm(d, how), norm(b, how)
    floor_d = min(nd.values(), default=0.0)
    floor_b = min(nb.values(), default=0.0)
    ids = set(nd) | set(nb)
    out = [(i, alpha * nd.get(i, floor_d) + (1 - alpha) * nb.get(i, floor_b)) for i in ids]
    return sorted(out, key=lambda x: -x[1])


def collect(lib, split, title_w):
    qs, qrels = queries(split)
    data = []
    for qid, text in qs.items():
        d, b = legs(lib, text, title_w)
        data.append((qid, d, b))
    allp = {pid for _, d, b in data for pid, _ in d + b}
    return data, qrels, doc_of(lib, list(allp))


def score(data, qrels, docmap, method, p):
    return float(np.mean([ndcg10(to_docs(fuse(d, b, method, p), docmap), qrels[q]) for q, d, b in data]))


GRID = ([("rrf", (k, w)) for k, w in itertools.product((10, 30, 60), (0.3, 0.4, 0.5, 0.6))] +
        [("convex", (how, a)) for how, a in itertools.product(("minmax", "z", "max"),
                                                              (0.3, 0.4, 0.5, 0.6, 0.7))])


def main():
    from qa import Library
    from qa.config import make_encoder

    lib = Library(sys.argv[1] if len(sys.argv) > 1 else "/tmp/article-qa-scifact", make_encoder())
    results = {}
    for title_w in (0.5, 1.0, 2.0):
        data, qrels, docmap = collect(lib, "train", title_w)
        base = {"dense": score(data, qrels, docmap, "convex", ("max", 1.0)),
                "bm25": score(data, qrels, docmap, "convex", ("max", 0.0))}
        for method, p in GRID:
            results[(title_w, method, p)] = score(data, qrels, docmap, method, p)
        print(f"title weight {title_w}: train dense {base['dense']:.4f} bm25 {base['bm25']:.4f}", file=sys.stderr)
    best = max(results, key=results.get)
    print("best on train:", best, round(results[best], 4))
    for key in sorted(results, key=results.get, reverse=True)[:8]:
        print("  ", key, round(results[key], 4))
    title_w, method, p = best
    data, qrels, docmap = collect(lib, "test", title_w)
    test = {"bm25": score(data, qrels, docmap, "convex", ("max", 0.0)),
            "dense": score(data, qrels, docmap, "convex", ("max", 1.0)),
            "rrf60": score(data, qrels, docmap, "rrf", (60, 0.5)),
            "tuned": score(data, qrels, docmap, method, p)}
    print("test nDCG@10:", json.dumps({k: round(v, 4) for k, v in test.items()}))


if __name__ == "__main__":
    main()
