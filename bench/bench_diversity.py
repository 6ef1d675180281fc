"""Does diversity (MMR + the near-identical cut) help or hurt? The same questions answered with MMR on
(lambda 0.85, the default) and off (lambda 1.0, only the near-identical cut stays), in one run.

Reports nDCG@10 / R@1 of the ranking the user sees (the answer's citations first, then retrieval), the
distinct articles among the citations, and the mean of each citation's highest cosine to an earlier one.

Usage: python bench/bench_diversity.py [--scifact-limit N] [--xquad-limit N]
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from common import SCIFACT, SHARED, save, table

XQUAD = SHARED / "xquad-en" / "xquad.en.json"


def run(lib, ds, k: int, mmr_lambda: float) -> dict:
    from qa.answer import select
    from qa.evaluation.metrics import per_query_ranking
    from qa.evaluation.runner import rank_documents
    from qa import retrieve

    old, select.MMR_LAMBDA = select.MMR_LAMBDA, mmr_lambda
    doc_ids, runs, distinct, overlap = ds.doc_ids(), {}, [], []
    try:
        for it in ds.items:
            ans = lib.ask(it.question, k=k)
            cites = ans.citations or ans.closest
            ranked = retrieve(lib, it.question, lib.encoder.encode([it.question]), 300, "hybrid")
            runs[it.qid] = rank_documents(lib, ranked, doc_ids, 100, [c.article_id for c in cites])
            distinct.append(len({c.article_id for c in cites}))
            rows = lib.store.passages([c.passage_id for c in cites])
            vecs = np.stack([np.frombuffer(rows[c.passage_id][1]["vector"], np.float32) for c in cites])
            sims = vecs @ vecs.T
            overlap += [float(sims[i, :i].max()) for i in range(1, len(cites))]
    finally:
        select.MMR_LAMBDA = old
    per = per_query_ranking({it.qid: it.gold for it in ds.items}, runs)
    return {"ndcg@10": float(np.mean([v["ndcg@10"] for v in per.values()])),
            "recall@1": float(np.mean([v["recall@1"] for v in per.values()])),
            "distinct articles": float(np.mean(distinct)), "max cosine to earlier": float(np.mean(overlap))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scifact-limit", type=int, default=300)
    ap.add_argument("--xquad-limit", type=int, default=400)
    args = ap.parse_args()
    from qa.config import make_encoder
    from qa.evaluation.datasets import load_beir, load_squad
    from qa.evaluation.runner import build_library, library_dir

    enc = make_encoder()
    rows = []
    for name, path, load, k, limit in (("scifact test", SCIFACT, lambda p: load_beir(p, "test"), 10, args.scifact_limit),
                                       ("xquad-en", XQUAD, load_squad, 5, args.xquad_limit)):
        if not path.exists():
            print(f"{path} is not present; skipping {name}", file=sys.stderr)
            continue
        full = load(path)
        lib, _ = build_library(full, enc, library_dir(full, enc))
        ds = full.subset(limit)
        try:
            for lam in (0.85, 1.0):
                rows.append({"data": name, "k": k, "mmr lambda": lam, **run(lib, ds, k, lam)})
                print(rows[-1], file=sys.stderr)
        finally:
            lib.close()
    table(rows, ["data", "k", "mmr lambda", "ndcg@10", "recall@1", "distinct articles", "max cosine to earlier"])
    save("bench_diversity", {"rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
