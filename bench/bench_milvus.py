"""The Milvus backend against the embedded one (SQLite + FTS5 + FAISS) on BEIR SciFact *test*.

Needs the SciFact library built by `python bench/beir_library.py /tmp/article-qa-scifact` (waits for
it when a build is still running; never rebuilds). The library is copied, without re-encoding, into
Milvus Lite and, for a fair write-time comparison, into a fresh SQLite folder (bench/copy_library.py).
Then, in one run, with the same query vectors: nDCG@10 for dense, bm25 and hybrid on both backends
(documents = articles, ranked by their best passage among the top 200, as bench/tune_fusion.py), and
`Library.ask(q, k=5)` latency p50/p95 on both. Writes bench/out/milvus.json.

    python bench/bench_milvus.py                       (~10-15 minutes on 2 busy cores)
    python bench/bench_milvus.py --variants fixed,stop,title,stemmed,stemmed_k12   (Milvus BM25 variants, see VARIANTS)
"""
from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

import common  # noqa: F401  (puts the repository on sys.path)
from common import pct, save, table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from copy_library import copy_library, load_collections, quiet_milvus, seal  # noqa: E402
from tune_fusion import ndcg10  # noqa: E402

from bench.beir_library import queries  # noqa: E402

SCIFACT_ARTICLES = 5183
MODES = ("dense", "bm25", "hybrid")
N = 200  # passages retrieved per query before ranking documents (as tune_fusion.POOL)

# Milvus BM25 variants tried with --variants (the default is qa.store.milvus.ANALYZER over the passage text)
STOP_ANALYZER = {"tokenizer": "standard", "filter": ["lowercase", {"type": "stop", "stop_words": ["_english_"]},
                                                    {"type": "stemmer", "language": "english"}]}
# "fix_sign": Milvus Lite 3.x reports BM25 hits with distance = -score (best first, all negative), while
# retrieval expects positive, higher-is-better scores (hybrid divides each leg by its best score).
VARIANTS = {
    "fixed": {"fix_sign": True},  # the same collection, BM25 scores read as abs(distance)
    "stop": {"fix_sign": True, "analyzer": STOP_ANALYZER},  # + English stop-word filter
    "title": {"fix_sign": True, "title": True},  # BM25 over "title + text" (FTS5 indexes the title too)
    "title_stop": {"fix_sign": True, "analyzer": STOP_ANALYZER, "title": True},
    # title + text pre-tokenized by SQLite's own FTS5 tokenizer (porter stems), queries too: Milvus Lite's
    # analyzer is \w+ and lowercase only (it ignores the "stemmer" filter, and "_english_" stop words)
    "stemmed": {"fix_sign": True, "title": True, "fts5_tokens": True},
    # + FTS5's k1 (1.2; Lite's default is 1.5) as index build params: milvus-lite 3.2.2 returned identical scores
    "stemmed_k12": {"fix_sign": True, "title": True, "fts5_tokens": True, "bm25": {"bm25_k1": 1.2, "bm25_b": 0.75}},
}


def needs_collection(spec: dict) -> bool:
    return bool(spec.get("analyzer") or spec.get("title") or spec.get("fts5_tokens") or spec.get("bm25"))


def variant_store(spec: dict):
    """A MilvusStore subclass for one variant (bench only; qa/store/milvus.py is not changed).

    "fix_sign": BM25 scores are read as abs(distance) (BM25 scores are never negative).
    "title": the BM25 function reads a separate `lexical` field holding title + passage text, so the
    stored `text` (and every citation offset) stays exactly the passage."""
    import qa.store.milvus as ms
    from pymilvus import Function, FunctionType

    analyzer = spec.get("analyzer", ms.ANALYZER)
    from qa.store.sqlite import FtsTokenizer  # the tokenizer the Milvus backend itself uses

    tok = FtsTokenizer() if spec.get("fts5_tokens") else None

    class VariantStore(ms.MilvusStore):
        def passage_schema(self, fields, functions):
            fields = [(f, t, {**kw, "analyzer_params": analyzer} if kw.get("enable_analyzer") else kw)
                      for f, t, kw in fields]
            if spec.get("title"):
                fields = [(f, t, {"max_length": 65535}) if f == "text" else (f, t, kw) for f, t, kw in fields]
                if all(f != "lexical" for f, _, _ in fields):
                    fields.append(("lexical", "VARCHAR", {"max_length": 65535, "enable_analyzer": True,
                                                          "analyzer_params": analyzer}))
                functions = [Function(name=f"{self.name}_bm25", function_type=FunctionType.BM25,
                                      input_field_names=["lexical"], output_field_names=["sparse"])]
            return fields, functions

        def index_params(self, name, field, metric):
            if name == self.P and metric == "BM25" and spec.get("bm25"):
                return {"params": dict(spec["bm25"])}  # BM25 build parameters (k1, b)
            return {}

        def lexical_search(self, terms, n, filters, title_weight, body_weight):
            if tok is not None:
                terms = list(dict.fromkeys(tok(" ".join(terms)).split()))
            hits = super().lexical_search(terms, n, filters, title_weight, body_weight)
            return [(pid, abs(sc)) for pid, sc in hits] if spec.get("fix_sign") else hits

        def passage_row(self, p, title, vector):
            row = super().passage_row(p, title, vector)
            if spec.get("title"):
                text = f"{title}\n{p.text}" if title else p.text
                row["lexical"] = tok(text) if tok is not None else text
            return row

    return VariantStore


def using_store(cls):
    """Temporarily make Library open Milvus locations with `cls` (bench only)."""
    import contextlib

    import qa.store.milvus as ms

    @contextlib.contextmanager
    def cm():
        old, ms.MilvusStore = ms.MilvusStore, cls
        try:
            yield
        finally:
            ms.MilvusStore = old
    return cm()


def wait_for(folder: str, log: Path, expected: int, poll: int = 30):
    """Poll (never rebuild) until the SciFact build has finished."""
    from copy_library import open_store

    while True:
        done = log.exists() and "added " in log.read_text(errors="replace")
        n = 0
        if Path(folder, "library.sqlite3").exists():
            lib = open_store(folder)
            n = len(lib)
            lib.store.close()
        if n >= expected or (done and n > 0):
            return n
        print(f"waiting for the SciFact build: {n}/{expected} articles committed", file=sys.stderr, flush=True)
        time.sleep(poll)


def remove(location: str):
    """Delete a benchmark destination (a folder, or a Milvus Lite file and its -files folder)."""
    if location.startswith("milvus://"):
        path = Path(urlparse(location).path)
        for p in (path, path.with_name(path.stem + "-files")):
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    else:
        shutil.rmtree(location, ignore_errors=True)


def doc_of(lib, pids):
    """{passage id: document id}; SciFact articles have source 'corpus.jsonl#<docid>' (as tune_fusion.doc_of)."""
    rows = lib.store.passages(pids)
    arts = lib.store.article_rows({r[0].article_id for r in rows.values()})
    return {pid: (arts[rows[pid][0].article_id]["source"] or "").split("#", 1)[-1] for pid in rows}


def ranked_docs(ranked, docmap):
    """Documents in the order of their best passage in the ranked list (retrieve returns best first).

    Same as tune_fusion.to_docs for positive scores, and independent of the scores' sign and scale."""
    out, seen = [], set()
    for pid, _ in ranked:
        d = docmap[pid]
        if d not in seen:
            seen.add(d)
            out.append(d)
    return out


def evaluate(lib, qtexts, qvecs, qrels, qids, modes=MODES) -> dict:
    from qa import retrieve

    runs, times = {m: [] for m in modes}, {m: [] for m in modes}
    for i, text in enumerate(qtexts):
        for m in modes:
            t = time.perf_counter()
            runs[m].append(retrieve(lib, text, qvecs[i:i + 1], N, m))
            times[m].append((time.perf_counter() - t) * 1000)
    docmap = doc_of(lib, list({pid for m in modes for r in runs[m] for pid, _ in r}))
    out = {}
    for m in modes:
        out[m] = {"ndcg10": float(np.mean([ndcg10(ranked_docs(r, docmap), qrels[q]) for q, r in zip(qids, runs[m])])),
                  "retrieve_p50_ms": pct(times[m], 50), "retrieve_p95_ms": pct(times[m], 95)}
    return out


def ask_latency(libs: dict, qs, warmup=3) -> dict:
    """ask(q, k=5) p50/p95 per backend, interleaved query by query (alternating order) so that the
    shared CPU's load drifts the same way for all of them."""
    names = list(libs)
    for q in qs[:warmup]:
        for n in names:
            libs[n].ask(q, k=5)
    total = {n: [] for n in names}
    search = {n: [] for n in names}
    for i, q in enumerate(qs):
        for n in (names if i % 2 == 0 else names[::-1]):
            t = time.perf_counter()
            ans = libs[n].ask(q, k=5)
            total[n].append((time.perf_counter() - t) * 1000)
            search[n].append(ans.timings.get("search_ms", float("nan")))
    return {n: {"ask_p50_ms": pct(total[n], 50), "ask_p95_ms": pct(total[n], 95),
                "search_p50_ms": pct(search[n], 50), "search_p95_ms": pct(search[n], 95), "n": len(qs)}
            for n in names}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--library", default="/tmp/article-qa-scifact", help="the SciFact SQLite library")
    ap.add_argument("--log", default="/tmp/scifact-build.log", help="its build log (polled)")
    ap.add_argument("--milvus", default="milvus:///tmp/article-qa-scifact-milvus.db")
    ap.add_argument("--sqlite-copy", default="/tmp/article-qa-scifact-copy",
                    help="fresh SQLite folder copied into, to time the embedded backend's writes")
    ap.add_argument("--latency-queries", type=int, default=30, help="questions timed with ask (default 30)")
    ap.add_argument("--limit", type=int, default=0, help="evaluate only the first N test queries (0 = all 300)")
    ap.add_argument("--variants", default="fixed", help=f"comma-separated Milvus analyzer variants: {','.join(VARIANTS)}")
    ap.add_argument("--reuse", action="store_true", help="keep existing copies (skip the timed copies)")
    args = ap.parse_args(argv)
    quiet_milvus()

    import qa.store.milvus as ms
    from qa import Library
    from qa.config import make_encoder

    n = wait_for(args.library, Path(args.log), SCIFACT_ARTICLES)
    print(f"SciFact library ready: {n} articles", file=sys.stderr)
    copies = {}
    for name, dst in (("milvus_lite", args.milvus), ("sqlite", args.sqlite_copy)):
        if not args.reuse:
            remove(dst)
        copies[name] = copy_library(args.library, dst, batch=200, flush=False)
        print(f"{name}: copied {copies[name]['articles_copied']} articles, {copies[name]['passages_copied']} "
              f"passages in {copies[name]['seconds']:.1f} s", file=sys.stderr)

    enc = make_encoder()
    qs, qrels = queries("test")
    qids = list(qs)[:args.limit or None]
    qtexts = [qs[q] for q in qids]
    t = time.perf_counter()
    qvecs = enc.encode(qtexts)
    print(f"encoded {len(qtexts)} test queries in {time.perf_counter() - t:.1f} s", file=sys.stderr)

    # Milvus Lite: retrieval while the rows are still in the write buffer, then sealed (flushed)
    lib = Library(args.milvus, enc)
    unflushed = {m: [] for m in MODES}
    if copies["milvus_lite"]["articles_copied"]:
        from qa import retrieve

        for m in MODES:
            for i in range(min(5, len(qtexts))):
                t = time.perf_counter()
                retrieve(lib, qtexts[i], qvecs[i:i + 1], N, m)
                unflushed[m].append(round((time.perf_counter() - t) * 1000, 1))
        copies["milvus_lite"]["flush_s"] = round(seal(lib.store), 3)
        copies["milvus_lite"]["seconds"] += copies["milvus_lite"]["flush_s"]
        print(f"milvus_lite unflushed retrieve ms: {unflushed}; flush {copies['milvus_lite']['flush_s']} s",
              file=sys.stderr)
    lib.close()

    backends = {"sqlite": args.library, "milvus_lite": args.milvus}
    variants = [v for v in args.variants.split(",") if v]
    for v in variants:
        if not needs_collection(VARIANTS[v]):  # reads the default collection differently
            backends[f"milvus_lite_{v}"] = args.milvus
            continue
        loc = f"{args.milvus}?collection=article_qa_{v}"
        if not args.reuse:
            remove_collection(loc)
        with using_store(variant_store(VARIANTS[v])):
            copies[f"milvus_lite_{v}"] = copy_library(args.library, loc, batch=200)
        print(f"milvus_lite_{v}: copied in {copies[f'milvus_lite_{v}']['seconds']:.1f} s", file=sys.stderr)
        backends[f"milvus_lite_{v}"] = loc

    results, libs = {}, {}
    for name, loc in backends.items():
        load_collections(loc)  # needed with --reuse (see copy_library.load_collections)
        v = name[len("milvus_lite_"):] if name.startswith("milvus_lite_") else None
        with using_store(variant_store(VARIANTS[v])) if v else contextlib.nullcontext():
            lib = libs[name] = Library(loc, enc)
        if name == "sqlite":
            lib.index  # load the FAISS cache outside the timings
        t = time.perf_counter()
        results[name] = {"quality": evaluate(lib, qtexts, qvecs, qrels, qids,
                                             MODES if not name.startswith("milvus_lite_") else ("bm25", "hybrid"))}
        print(f"{name}: evaluated in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    if args.latency_queries:
        lat = ask_latency({n: libs[n] for n in ("sqlite", "milvus_lite")}, qtexts[:args.latency_queries])
        for n, v in lat.items():
            results[n]["latency"] = v
    for lib in libs.values():
        lib.close()

    rows = []
    for name, r in results.items():
        c = copies.get(name, {})
        row = {"backend": name, **{f"{m} nDCG@10": r["quality"][m]["ndcg10"] for m in r["quality"]},
               "index s": c.get("write_s", float("nan")) + c.get("index_s", 0.0) + c.get("flush_s", 0.0),
               "copy s": c.get("seconds")}
        if "latency" in r:
            row.update({"ask p50 ms": r["latency"]["ask_p50_ms"], "ask p95 ms": r["latency"]["ask_p95_ms"],
                        "search p50 ms": r["latency"]["search_p50_ms"], "search p95 ms": r["latency"]["search_p95_ms"]})
        rows.append(row)
    print()
    table(rows, ["backend", "dense nDCG@10", "bm25 nDCG@10", "hybrid nDCG@10", "index s", "copy s",
                 "ask p50 ms", "ask p95 ms", "search p50 ms", "search p95 ms"])
    gaps = {n: results[n]["quality"]["hybrid"]["ndcg10"] - results["sqlite"]["quality"]["hybrid"]["ndcg10"]
            for n in results if n != "sqlite"}
    print()
    for n, g in gaps.items():
        print(f"hybrid nDCG@10 {n} minus embedded: {g:+.4f} (goal: within 0.01) -> {'met' if abs(g) <= 0.01 else 'NOT met'}")
    gap = abs(gaps["milvus_lite"])
    save("milvus", {"library": args.library, "queries": len(qids), "split": "test", "passages_per_query": N,
                    "copies": copies, "results": results, "hybrid_gap": gap, "hybrid_minus_embedded": gaps,
                    "milvus_lite_unflushed_retrieve_ms": unflushed,
                    "milvus_bm25": {"default": {"analyzer": ms.ANALYZER,
                                                "field": "passage text"},
                                    **{v: VARIANTS[v] for v in variants}},
                    "note": "copies reuse the stored vectors (no encoding); index s = inserts + the FAISS build (SQLite) "
                            "or inserts + flush into sealed, indexed segments (Milvus); copy s adds opening both "
                            "stores and listing the source; "
                            "ask latency includes query + sentence encoding on a shared 2-core CPU"})


def remove_collection(location: str):
    """Drop one benchmark collection group (prefix_*) from a Milvus location, keeping the others."""
    from pymilvus import MilvusClient

    from qa.store.milvus import parse_uri

    uri, prefix, _ = parse_uri(location)
    client = MilvusClient(uri)
    for c in client.list_collections():
        if c.startswith(prefix + "_"):
            client.drop_collection(c)
    client.close()


if __name__ == "__main__":
    main()
