"""Dense search at 1M passages: our VectorIndex (kind chosen by size) against exact search, in one run.

    python bench/bench_million.py [--n 1000000] [--queries 300]

Vectors: 1M is more than any data set here holds, so they are sampled around real ones: each is a
SciFact passage vector (from the cached `article-qa eval` library, or encoded now) moved toward one of
its 10 nearest neighbours by a random share plus a little Gaussian noise, then normalised. That keeps
the clustered shape real embeddings have (uniform random vectors have none, which no real library
looks like). Queries are SciFact's real test claims, encoded by the same model. Ground truth is exact
inner-product search (IndexFlatIP) over the same 1M vectors; recall@10 is the share of its top 10
that our index returns. Latency is one query at a time (as `ask` searches), after warm-up. Memory is
the process's resident size with the index loaded and the build's temporaries freed, minus before.
"""
from __future__ import annotations

import argparse
import gc
import sys
import time

import numpy as np

from common import SCIFACT, pct, rss_bytes, save, table


def scifact_vectors(enc) -> np.ndarray:
    """SciFact passage vectors from the evaluation cache, else encoded now (a few minutes)."""
    from qa.evaluation.datasets import load_beir
    from qa.evaluation.runner import build_library, library_dir

    ds = load_beir(SCIFACT, "test")
    lib, _ = build_library(ds, enc, library_dir(ds, enc))
    vecs = np.concatenate([v for _, v in lib.store.all_vectors(lib.dim)])
    lib.close()
    return vecs, [it.question for it in ds.items]


def sample_around(base: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sims = base @ base.T
    np.fill_diagonal(sims, -np.inf)
    near = np.argpartition(-sims, 10, axis=1)[:, :10]
    del sims
    out = np.empty((n, base.shape[1]), np.float32)
    for a in range(0, n, 100_000):
        b = min(n, a + 100_000)
        i = rng.integers(0, len(base), b - a)
        j = near[i, rng.integers(0, 10, b - a)]
        w = rng.random((b - a, 1), dtype=np.float32) * 0.5
        v = (1 - w) * base[i] + w * base[j] + rng.normal(0, 0.01, (b - a, base.shape[1])).astype(np.float32)
        out[a:b] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


class Exact:
    """The raw baseline with VectorIndex's search signature."""

    def __init__(self, index):
        self.index = index

    def search(self, q, k):
        return self.index.search(q, k)[1], None


def timed_search(index, qs: np.ndarray, k: int) -> tuple[list, dict]:
    for q in qs[:10]:
        index.search(q[None], k)
    times, found = [], []
    for q in qs:
        t = time.perf_counter()
        ids, _ = index.search(q[None], k)
        times.append((time.perf_counter() - t) * 1000)
        found.append(np.asarray(ids[0]))
    return found, {"p50_ms": pct(times, 50), "p95_ms": pct(times, 95)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="vectors in the index (default 1M)")
    ap.add_argument("--queries", type=int, default=300, help="SciFact test claims used as queries")
    ap.add_argument("-k", type=int, default=10)
    args = ap.parse_args()
    if not SCIFACT.exists():
        print(f"{SCIFACT} is not present; nothing to measure", file=sys.stderr)
        return 0
    import faiss

    from qa.config import make_encoder
    from qa.store.vectors import VectorIndex, kind_for

    enc = make_encoder()
    base, claims = scifact_vectors(enc)
    qv = enc.encode(claims[:args.queries])
    vecs = sample_around(base, args.n)
    ids = np.arange(args.n, dtype=np.int64)
    exact = faiss.IndexFlatIP(vecs.shape[1])
    exact.add(vecs)
    truth = [set(r) for r in exact.search(qv, args.k)[1]]
    _, raw_t = timed_search(Exact(exact), qv, args.k)
    del exact
    gc.collect()
    before = rss_bytes() - vecs.nbytes  # the input vectors are freed after the build
    t = time.perf_counter()
    index = VectorIndex.build(vecs.shape[1], [(ids[a:a + 100_000], vecs[a:a + 100_000]) for a in range(0, args.n, 100_000)],
                              args.n)
    build_s = time.perf_counter() - t
    del vecs
    gc.collect()
    memory = rss_bytes() - before
    rows = [{"what": "exact (IndexFlatIP), one query at a time", **raw_t, "recall@10": 1.0}]
    nlist = index.index.nlist if index.kind == "ivf" else 0
    nprobe = index.nprobe  # chosen at build time by tune_nprobe on the library's own vectors
    probes = sorted({nlist // 64, nlist // 48, nlist // 24, nlist // 12, nprobe}) if index.kind == "ivf" else [0]
    for p in probes:
        if index.kind == "ivf":
            index.nprobe = p
            index.index.nprobe = p
        found, tt = timed_search(index, qv, args.k)
        rec = float(np.mean([len(truth[i] & set(f.tolist())) / args.k for i, f in enumerate(found)]))
        label = (f"ours ({index.kind}, nlist {nlist}, nprobe {p}{', tuned at build' if p == nprobe else ''})"
                 if p else "ours (flat)")
        rows.append({"what": label, **tt, "recall@10": rec})
    table(rows, ["what", "p50_ms", "p95_ms", "recall@10"])
    print(f"{args.n:,} vectors; kind chosen by size: {kind_for(args.n)}; build {build_s:.0f} s (nprobe tuned to "
          f"{nprobe}, build-time recall@10 {index.recall:.3f}); "
          f"resident memory of the index {memory / 2**30:.2f} GiB; raw vectors alone {args.n * 384 * 4 / 2**30:.2f} GiB")
    save("bench_million", {"n": args.n, "queries": len(qv), "build_s": build_s, "index_memory_bytes": memory,
                           "tuned_nprobe": nprobe, "build_recall": index.recall,
                           "rows": rows, "vectors": "SciFact passage vectors moved toward a near neighbour + noise"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
