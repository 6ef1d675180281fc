"""bfloat16 vs float32: encoding passages/s in the same run, and SciFact test nDCG@10 (dense mode).

Speed: the same passages (exactly what Library.add embeds) encoded with each precision, alternating
float32 / bfloat16 for --rounds rounds (the first round of each is measured after a warm-up).
Quality: SciFact test queries ranked in dense mode with each precision's library. By default a subset
(--queries, with the corpus shrunk to their gold abstracts plus others up to --max-docs) so it fits in
minutes; --full uses all 300 queries and 5,183 abstracts (libraries are cached in the eval cache, so a
library already built by `article-qa eval` with the same precision is reused).

    python bench/bench_precision.py                   (~4-8 minutes on 2 shared cores)
    python bench/bench_precision.py --full            (builds up to two full SciFact libraries: long)
"""
from __future__ import annotations

import argparse
import tempfile
import time

import common  # noqa: F401
from common import OUT, SCIFACT, articles, save, table

PRECISIONS = ("float32", "bfloat16")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--passages-from", type=int, default=60, help="articles whose passages are timed (default 60)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--max-docs", type=int, default=300)
    ap.add_argument("--full", action="store_true", help="all SciFact test queries over the whole corpus")
    ap.add_argument("--no-quality", action="store_true", help="speed only")
    ap.add_argument("--cache", default=None, help="eval library cache (default: the article-qa eval cache)")
    args = ap.parse_args(argv)

    from embeddings import SentenceTransformerEncoder
    from embeddings.sentence_transformer import cpu_bf16_flags
    from qa import Library

    arts, source = articles(args.passages_from)
    encoders = {p: SentenceTransformerEncoder(precision=p) for p in PRECISIONS}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Library(tmp, encoders["float32"])
        texts = [scratch.embedding_input(pre, p.text) for pre, ps in (scratch.chunk(a) for a in arts) for p in ps]
        scratch.close()
    for e in encoders.values():
        e.encode(texts[:16], batch_size=16)  # load + warm up
    speed = {p: [] for p in PRECISIONS}
    for _ in range(args.rounds):
        for p in PRECISIONS:
            t = time.perf_counter()
            encoders[p].encode(texts, batch_size=32)
            speed[p].append(len(texts) / (time.perf_counter() - t))
    rows = [{"precision": p, "passages": len(texts), "passages/s (best)": max(v), "passages/s (all rounds)":
             " ".join(f"{x:.1f}" for x in v)} for p, v in speed.items()]
    quality = {}
    if not args.no_quality and SCIFACT.exists():
        from qa.evaluation.datasets import load_beir
        from qa.evaluation.runner import run_eval

        ds = load_beir(SCIFACT, "test")
        if not args.full:
            ds = ds.subset(args.queries, args.max_docs)
        for p in PRECISIONS:
            res = run_eval(ds, encoders[p], ["dense"], OUT / f"precision-{p}", cache_root=args.cache,
                           charts=False, answers=False)
            quality[p] = {"ndcg@10": res["modes"]["dense"]["ndcg@10"], "recall@10": res["modes"]["dense"]["recall@10"],
                          "index_seconds": res["index_seconds"], "documents": res["documents"],
                          "questions": res["questions"]}
        for r in rows:
            r.update({k: quality[r["precision"]][k] for k in ("ndcg@10", "recall@10")})
    elif not args.no_quality:
        print(f"{SCIFACT} is not present: quality comparison skipped")
    table(rows, ["precision", "passages", "passages/s (best)", "passages/s (all rounds)", "ndcg@10", "recall@10"])
    ratio = max(speed["bfloat16"]) / max(speed["float32"])
    diff = quality["bfloat16"]["ndcg@10"] - quality["float32"]["ndcg@10"] if quality else None
    print(f"bfloat16 / float32 speed = {ratio:.2f}x; CPU bf16 flags: {cpu_bf16_flags()}"
          + (f"; nDCG@10 difference (bf16 - fp32) = {diff:+.4f} on {quality['float32']['questions']} queries, "
             f"{quality['float32']['documents']} documents" if quality else ""))
    auto = SentenceTransformerEncoder(precision="auto")
    chosen, faster = auto.resolved_precision(), ("bfloat16" if ratio > 1 else "float32")
    print(f"auto chose {chosen} ({auto.precision_facts()['how']}); faster in this run: {faster} -> "
          + ("the same" if chosen == faster else "NOT the same"))
    save("bench_precision_full" if args.full else "bench_precision", {"data": source, "rows": rows, "speed_ratio_bf16_over_fp32": ratio,
                             "auto_choice": chosen, "faster": faster,
                             "cpu_bf16_flags": cpu_bf16_flags(), "quality": quality, "ndcg10_diff_bf16_minus_fp32": diff,
                             "subset": None if args.full else {"queries": args.queries, "max_docs": args.max_docs}})


if __name__ == "__main__":
    main()
