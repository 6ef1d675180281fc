"""Memory and cold start: resident bytes per passage (10k and 100k passages) and time to the first answer.

Each measurement runs in a fresh Python process over a cached synthetic library (see bench_query.py):
  - RSS after importing qa, after opening the library and loading its FAISS cache, after the first answer
    (which loads the embedding model);
  - bytes per passage = (RSS with the 100k library open - RSS with the 10k one open) / 90k passages (the
    slope, fixed costs removed), and also the plain (open - before) / n at each size;
  - cold start = wall time from spawning `python` to the first Answer returned (OS file cache warm);
  - on-disk bytes per passage (SQLite + FAISS cache).

    python bench/bench_memory.py            (~2-5 minutes; reuses bench_query's synthetic libraries)
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import common  # noqa: F401
from common import ROOT, questions, save, synthetic_library, table

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
out = {{"rss_start": rss()}}
from qa import Library
from qa.config import make_encoder
out["import_s"] = time.perf_counter() - t0
out["rss_imported"] = rss()
lib = Library({folder!r}, make_encoder(precision={precision!r}))
lib.index
out["open_s"] = time.perf_counter() - t0
out["rss_open"] = rss()
answer = lib.ask({question!r}, k=5, mode="hybrid")
out["first_answer_s"] = time.perf_counter() - t0
out["rss_answered"] = rss()
out["answer_timings"] = answer.timings
print("RESULT " + json.dumps(out))
"""


def child(folder, question, precision):
    code = CHILD.format(root=str(ROOT), folder=str(folder), question=question, precision=precision)
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    line = next(x for x in p.stdout.splitlines() if x.startswith("RESULT "))
    return {**json.loads(line[7:]), "wall_s": wall}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--precision", default=None)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args(argv)
    from qa.config import make_encoder

    enc = make_encoder(precision=args.precision)
    question = questions(1)[0]
    sizes = [int(x) for x in args.sizes.split(",") if x]
    rows = []
    for n in sizes:
        lib, folder = synthetic_library(n, enc, args.workdir)
        lib.close()
        disk = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
        r = child(folder, question, args.precision)
        rows.append({"passages": n, "rss_imported_mb": r["rss_imported"] / 2**20, "rss_open_mb": r["rss_open"] / 2**20,
                     "rss_answered_mb": r["rss_answered"] / 2**20,
                     "open_bytes_per_passage": (r["rss_open"] - r["rss_imported"]) / n,
                     "disk_bytes_per_passage": disk / n, "open_s": r["open_s"],
                     "cold_start_to_answer_s": r["wall_s"], "in_process_first_answer_s": r["first_answer_s"],
                     "model_and_answer_mb": (r["rss_answered"] - r["rss_open"]) / 2**20, "raw": r})
    slope = None
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        slope = (b["rss_open_mb"] - a["rss_open_mb"]) * 2**20 / (b["passages"] - a["passages"])
    table(rows, ["passages", "rss_open_mb", "open_bytes_per_passage", "disk_bytes_per_passage", "open_s",
                 "cold_start_to_answer_s", "model_and_answer_mb"])
    if slope is not None:
        print(f"resident bytes per passage (slope {rows[0]['passages']:,} -> {rows[-1]['passages']:,}): {slope:,.0f} "
              f"(a float32 384-d vector alone is 1,536)")
    save("bench_memory", {"model": enc.model_id, "precision": enc.resolved_precision(), "rows": rows,
                          "resident_bytes_per_passage_slope": slope, "question": question,
                          "note": "synthetic libraries; cold start = new process to first Answer, OS file cache warm"})


if __name__ == "__main__":
    main()
