"""Query latency: Library.ask p50/p95 vs raw encode + FAISS search, at 10k and 100k passages (and 1M raw).

The libraries are synthetic (random unit vectors, Zipf-sampled real words, ~160-token passages written
straight into the store; built once and cached), the questions are real (SciFact claims, or the test
news questions). Raw = SentenceTransformer.encode of the question + IndexFlatIP.search over the same
vectors; it is measured first. "retrieve" rows are encode + our retrieval only; "ask" adds citations and
the answer sentence (which embeds the cited passages' sentences: the dominant cost on CPU).

    python bench/bench_query.py --queries 20                  (~3-6 minutes the first time, builds 100k)
    python bench/bench_query.py --sizes 10000 --no-million    (quick)
"""
from __future__ import annotations

import argparse
import time

import common  # noqa: F401
from common import available_bytes, pct, questions, save, synthetic_library, table


def measure(fn, qs, repeat=1):
    times = []
    for _ in range(repeat):
        for q in qs:
            t = time.perf_counter()
            fn(q)
            times.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": pct(times, 50), "p95_ms": pct(times, 95), "n": len(times)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000", help="library sizes in passages (default 10000,100000)")
    ap.add_argument("--queries", type=int, default=20, help="questions per measurement (default 20)")
    ap.add_argument("--ask-modes", default="hybrid", help="modes timed with the full ask (default hybrid)")
    ap.add_argument("-k", type=int, default=5, help="citations / results per question (default 5)")
    ap.add_argument("--no-million", action="store_true", help="skip the raw FAISS run at 1M vectors")
    ap.add_argument("--precision", default=None)
    ap.add_argument("--workdir", default=None, help="where synthetic libraries are cached")
    args = ap.parse_args(argv)

    import faiss
    import numpy as np

    from qa.config import make_encoder
    from qa import retrieve

    enc = make_encoder(precision=args.precision)
    model = enc.model
    qs = questions(args.queries)
    enc.encode(qs[:4])  # warm-up
    rows = []
    for n in [int(x) for x in args.sizes.split(",") if x]:
        lib, folder = synthetic_library(n, enc, args.workdir)
        lib.index  # load the FAISS cache outside the timings
        vecs = np.concatenate([v for _, v in lib.store.all_vectors(lib.dim)])
        raw = faiss.IndexFlatIP(vecs.shape[1])
        raw.add(vecs)
        del vecs

        def raw_query(q):
            v = model.encode([q], convert_to_numpy=True, normalize_embeddings=True)
            raw.search(np.ascontiguousarray(v, np.float32), args.k)

        rows.append({"passages": n, "what": "raw encode + faiss search", **measure(raw_query, qs)})
        for mode in ("dense", "bm25", "hybrid"):
            rows.append({"passages": n, "what": f"ours retrieve ({mode})",
                         **measure(lambda q: retrieve(lib, q, lib.encoder.encode([q]), args.k, mode), qs)})
        for mode in [m for m in args.ask_modes.split(",") if m]:
            stages = []

            def ask(q):
                stages.append(lib.ask(q, k=args.k, mode=mode).timings)

            row = {"passages": n, "what": f"ours ask ({mode})", **measure(ask, qs),
                   **{f"{s}_p50": pct([t[s] for t in stages if s in t], 50)
                      for s in ("encode_ms", "search_ms", "answer_ms", "reader_ms", "sentences_ms")}}
            # the yardstick: raw search plus the answer step's own model time (reader + sentences)
            raw_parts = next(r["p50_ms"] for r in rows if r["passages"] == n and r["what"].startswith("raw"))
            row["raw_parts_p50_ms"] = raw_parts + pct([t.get("reader_ms", 0) + t.get("sentences_ms", 0) for t in stages], 50)
            row["ask_over_raw_parts"] = row["p50_ms"] / row["raw_parts_p50_ms"]
            rows.append(row)
        lib.close()
    if not args.no_million:
        need = 1_000_000 * 384 * 4 * 2.5
        if available_bytes() > need:
            rng = np.random.default_rng(1)
            raw = faiss.IndexFlatIP(384)
            for _ in range(10):
                v = rng.standard_normal((100_000, 384)).astype(np.float32)
                v /= np.linalg.norm(v, axis=1, keepdims=True)
                raw.add(v)
            del v

            def raw_query(q):
                v = model.encode([q], convert_to_numpy=True, normalize_embeddings=True)
                raw.search(np.ascontiguousarray(v, np.float32), args.k)

            rows.append({"passages": 1_000_000, "what": "raw encode + faiss search", **measure(raw_query, qs)})
            del raw
        else:
            print(f"skipping 1M: needs about {need / 2**30:.1f} GiB free memory")
    table(rows, ["passages", "what", "p50_ms", "p95_ms", "n", "encode_ms_p50", "search_ms_p50", "answer_ms_p50",
                 "reader_ms_p50", "sentences_ms_p50", "raw_parts_p50_ms", "ask_over_raw_parts"])
    save("bench_query", {"model": enc.model_id, "precision": enc.resolved_precision(), "k": args.k,
                         "queries": len(qs), "rows": rows,
                         "note": "synthetic passages/vectors; real questions; raw measured first per size"})


if __name__ == "__main__":
    main()
