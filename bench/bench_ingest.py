"""Ingest throughput: Library.add vs raw SentenceTransformer.encode + faiss.add over the same passages.

Both sides use the same loaded model object, precision and batch size; the raw side is measured first.
Raw gets the passages already chunked (exactly the texts Library.add embeds, title prefix included), so the
gap is everything the library adds: chunking, SQLite + FTS5 writes, the transaction, the FAISS cache save.
Goal: Library.add >= 0.9x raw passages/s.

    python bench/bench_ingest.py --articles 150          (~1-3 minutes on 2 shared cores)
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time

import common  # noqa: F401  (puts the project on sys.path)
from common import articles, save, table


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=150, help="articles to ingest (default 150)")
    ap.add_argument("--precision", default=None, help="auto|float32|bfloat16 (default: auto)")
    ap.add_argument("--batch", type=int, default=32, help="encode batch size on both sides (Library uses 32)")
    ap.add_argument("--writes", choices=("auto", "thread", "between"), default="auto",
                    help="commit in a writer thread, between encoder batches, or as qa.ingest.spare_core decides")
    args = ap.parse_args(argv)
    if args.writes != "auto":
        import qa.ingest

        qa.ingest.spare_core = lambda encoder: args.writes == "thread"

    import faiss
    import numpy as np

    from qa import Library
    from qa.config import make_encoder

    arts, source = articles(args.articles)
    enc = make_encoder(precision=args.precision)
    model = enc.model  # load once, outside both timings
    enc.encode(["warm up the model"] * 4)
    tmp = tempfile.mkdtemp(prefix="bench-ingest-")
    try:
        scratch = Library(f"{tmp}/scratch", enc)
        prepared = [scratch.chunk(a) for a in arts]
        texts = [scratch.embedding_input(prefix, p.text) for prefix, ps in prepared for p in ps]
        n = len(texts)

        t = time.perf_counter()  # raw: encode + normalize + faiss add, nothing else
        vecs = model.encode(texts, batch_size=args.batch, convert_to_numpy=True, normalize_embeddings=True)
        index = faiss.IndexFlatIP(vecs.shape[1])
        index.add(np.ascontiguousarray(vecs, np.float32))
        raw_s = time.perf_counter() - t

        lib = Library(f"{tmp}/lib", enc)
        t = time.perf_counter()
        report = lib.add(arts)
        lib.close()
        ours_s = time.perf_counter() - t
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if report.passages != n:
        print(f"note: Library.add stored {report.passages} passages, raw encoded {n} "
              f"({len(report.duplicates)} duplicate articles skipped)")
    rows = [{"side": "raw encode + faiss.add", "passages": n, "seconds": raw_s, "passages/s": n / raw_s},
            {"side": "Library.add", "passages": report.passages, "seconds": ours_s, "passages/s": report.passages / ours_s}]
    ratio = rows[1]["passages/s"] / rows[0]["passages/s"]
    table(rows, ["side", "passages", "seconds", "passages/s"])
    print(f"Library.add / raw = {ratio:.3f}x  (goal >= 0.9x)  model {enc.model_id}, precision "
          f"{enc.resolved_precision()}, {len(arts)} articles from {source}, writes: {args.writes}")
    save("bench_ingest", {"articles": len(arts), "data": source, "model": enc.model_id,
                          "precision": enc.resolved_precision(), "batch": args.batch, "writes": args.writes, "rows": rows,
                          "ratio": ratio, "goal": 0.9, "meets_goal": ratio >= 0.9})


if __name__ == "__main__":
    main()
