"""The BM25 leg with every question term vs. the rarest ones (qa.answer.retrieval.lexical_terms), same run:
latency p50/p95 at each size (bench_query's cached synthetic libraries) and SciFact test nDCG@10 in bm25
and hybrid mode (the full test split over all 5,183 abstracts; the library is built once and cached in
the eval cache, and its build time is printed: that is also SciFact's indexing time).

    python bench/bench_lexical.py                       (sizes 100000; ~5-10 min the first time)
    python bench/bench_lexical.py --sizes 100000,1000000 --no-quality
"""
from __future__ import annotations

import argparse
import time

import common  # noqa: F401
from bench_query import measure
from common import OUT, SCIFACT, questions, save, synthetic_library, table

ALL_TERMS = 10 ** 12  # MIN_POSTINGS that keeps every term: the old behaviour


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000", help="synthetic library sizes in passages")
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--no-quality", action="store_true", help="skip the SciFact nDCG@10 comparison")
    ap.add_argument("--workdir", default=None, help="where synthetic libraries are cached")
    args = ap.parse_args(argv)

    from qa.answer import retrieval
    from qa.config import make_encoder

    enc = make_encoder()
    qs = questions(args.queries)
    default = retrieval.MIN_POSTINGS
    rows = []
    for n in [int(x) for x in args.sizes.split(",") if x]:
        lib, _ = synthetic_library(n, enc, args.workdir)
        for q in qs[:3]:
            retrieval.bm25(lib, q, 100, None)  # warm the page cache and the IDF cache
        for label, floor in (("every term", ALL_TERMS), ("rarest terms", default)):
            retrieval.MIN_POSTINGS = floor
            kept = [len(retrieval.lexical_terms(lib, q)) for q in qs]
            rows.append({"passages": n, "bm25 query": label, "terms (mean)": sum(kept) / len(kept),
                         **measure(lambda q: retrieval.bm25(lib, q, 100, None), qs, repeat=2)})
        retrieval.MIN_POSTINGS = default
        lib.close()
    quality = {}
    if not args.no_quality and SCIFACT.exists():
        from qa.evaluation.datasets import load_beir
        from qa.evaluation.runner import run_eval

        ds = load_beir(SCIFACT, "test")
        for label, floor in (("every term", ALL_TERMS), ("rarest terms", default)):
            retrieval.MIN_POSTINGS = floor
            t = time.perf_counter()
            res = run_eval(ds, enc, ["bm25", "hybrid"], OUT / f"lexical-{label.replace(' ', '-')}", charts=False,
                           answers=False)
            quality[label] = {"bm25 ndcg@10": res["modes"]["bm25"]["ndcg@10"],
                              "hybrid ndcg@10": res["modes"]["hybrid"]["ndcg@10"],
                              "index_seconds": res.get("index_seconds"), "run_seconds": time.perf_counter() - t,
                              "documents": res["documents"], "questions": res["questions"]}
        retrieval.MIN_POSTINGS = default
        for r in rows:
            r.update({k: quality[r["bm25 query"]][k] for k in ("bm25 ndcg@10", "hybrid ndcg@10")})
    table(rows, ["passages", "bm25 query", "terms (mean)", "p50_ms", "p95_ms", "n", "bm25 ndcg@10", "hybrid ndcg@10"])
    if quality:
        q = quality["every term"]
        print(f"SciFact test ({q['questions']} queries, {q['documents']} abstracts): library built in "
              f"{q['index_seconds']:.0f} s (0 when it was cached) with {enc.resolved_precision()} ({enc.precision_how})")
    save("bench_lexical", {"rows": rows, "quality": quality, "precision": enc.resolved_precision(),
                           "min_postings": default, "common_share": retrieval.COMMON_SHARE})


if __name__ == "__main__":
    main()
