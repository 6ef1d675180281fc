"""Run an evaluation: build (or reuse) the data set's library, ask every question in each mode, score, report.

The library is cached under <cache>/<data set checksum>-<model slug>-<precision> and reused across
modes and runs; adding is idempotent (known articles are skipped), so an interrupted build resumes.
Document rankings start with the articles of the answer's citations, in the order `Library.ask` shows
them, then continue with `retrieve` (`depth_passages` passages, deduplicated by article, best passage
first); the span metrics and latencies come from the same `Library.ask` call with k citations.
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..answer.conversation import Conversation
from ..library import Library
from ..answer.retrieval import check_mode, retrieve
from .datasets import Dataset
from .metrics import RANKING, abstention_scores, has_trec_eval, latency_stats, per_query_ranking, span_scores

SPAN = ("evidence_hit", "phrase_em", "phrase_f1", "answer_in_citations", "citation_precision")


def default_cache_root() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("article-qa", appauthor=False)) / "eval"


def precision_of(encoder) -> str:
    resolve = getattr(encoder, "resolved_precision", None)
    return resolve() if resolve else "float32"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def library_dir(dataset: Dataset, encoder, cache_root=None) -> Path:
    root = Path(cache_root).expanduser() if cache_root else default_cache_root()
    return root / f"{dataset.checksum()}-{slug(encoder.model_id)}-{precision_of(encoder)}"


def build_library(dataset: Dataset, encoder, folder, progress: bool = True) -> tuple[Library, float]:
    """Open the library at `folder`, adding whatever of the data set is not there yet; returns seconds spent."""
    lib = Library(folder, encoder)
    t = time.perf_counter()
    n = len(lib)
    if n < len(dataset.doc_ids()):
        if progress:
            print(f"Indexing {len(dataset.articles)} documents into {folder} (once; reused later) ...", file=sys.stderr)
        lib.add(dataset.articles, progress=progress)
    return lib, time.perf_counter() - t


def rank_documents(lib: Library, ranked: list[tuple[int, float]], doc_ids: dict[str, list[str]],
                   depth: int, head: Sequence[str] = ()) -> list[str]:
    """Data set document ids, ordered by each article's best-ranked passage.

    `head` (article ids) comes first: the articles of an answer's citations, in the order the user sees."""
    rows = lib.store.passages([pid for pid, _ in ranked])
    order = list(head) + [rows[pid][0].article_id for pid, _ in ranked if pid in rows]
    docs, seen = [], set()
    for aid in order:
        if aid in seen:
            continue
        seen.add(aid)
        docs += doc_ids.get(aid, [])
        if len(docs) >= depth:
            break
    return docs[:depth]


def ask_item(lib: Library, item, k: int, mode: str, history: bool):
    """The Answer for an item; with `history`, earlier user turns are asked first in one Conversation."""
    if history and item.history:
        conv = Conversation(lib)
        for q in item.history:
            conv.ask(q, k=k, mode=mode)
        return conv.ask(item.question, k=k, mode=mode)
    return lib.ask(item.question, k=k, mode=mode)


def evaluate_mode(lib, dataset: Dataset, mode: str, k: int = 10, depth: int = 100, depth_passages: int = 300,
                  history: bool = False, progress: bool = True, qvecs: Optional[dict] = None, answers: bool = True):
    """(metrics, per-question rows, timings) for one mode; answers=False ranks documents only (no `ask`)."""
    from tqdm import tqdm

    check_mode(mode)
    doc_ids = dataset.doc_ids()
    qvecs = {} if qvecs is None else qvecs
    runs, rows, timings, abst = {}, [], [], []
    for item in tqdm(dataset.items, desc=f"{mode:>6}", unit="q", disable=not progress, file=sys.stderr,
                     dynamic_ncols=True):
        answer, spans, timing = None, {}, {}
        if answers:
            answer = ask_item(lib, item, k, mode, history)
            query = answer.searched_for or item.question
            spans, timing = span_scores(answer, item, doc_ids), dict(answer.timings or {})
            abst.append((item.answerable, bool(answer.abstained)))
        else:
            query = item.question
        t = time.perf_counter()
        if query not in qvecs or not answers:  # retrieval-only runs time their own encoding
            qvecs[query] = lib.encoder.encode([query])
        encode_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        ranked = retrieve(lib, query, qvecs[query], depth_passages, mode)
        head = [c.article_id for c in (answer.citations or answer.closest)] if answer else []
        runs[item.qid] = rank_documents(lib, ranked, doc_ids, depth, head)
        if not answers:
            timing = {"encode_ms": encode_ms, "search_ms": (time.perf_counter() - t) * 1000}
        if timing:
            timings.append(timing)
        rows.append({"qid": item.qid, "mode": mode, "question": item.question, "searched_for": query,
                     "gold": sorted(d for d, r in item.gold.items() if r > 0), "ranked": runs[item.qid][:10],
                     "highlight": answer.highlight.text if answer and answer.highlight else None,
                     "answer_span": answer.answer_span.text if answer and answer.answer_span else None,
                     "confidence": round(float(answer.confidence), 4) if answer else None,
                     "answerable": item.answerable,
                     "cited": [c.source for c in answer.citations] if answer else None, **spans,
                     "timings": {s: round(v, 2) for s, v in timing.items()}})
    per = per_query_ranking({it.qid: it.gold for it in dataset.items}, runs)
    for r in rows:
        r.update(per.get(r["qid"], {}))
    metrics: dict[str, float] = {}
    if per:
        metrics.update({m: float(np.mean([v[m] for v in per.values()])) for m in RANKING})
    for m in SPAN:
        vals = [r[m] for r in rows if r.get(m) is not None]
        if vals:
            metrics[m] = float(np.mean(vals))
    metrics.update(abstention_scores(abst))
    metrics.update(latency_stats(timings))
    metrics["questions"] = len(rows)
    metrics["scored_for_ranking"] = len(per)
    return metrics, rows, timings


def run_eval(dataset: Dataset, encoder, modes: Sequence[str], out, k: int = 10, depth: int = 100,
             cache_root=None, library=None, history: bool = False, progress: bool = True,
             charts: bool = True, extra: Optional[dict] = None, answers: bool = True) -> dict:
    """Evaluate every mode on the same library; writes results.json, results.md, per_question.jsonl, PNGs."""
    from .report import write_reports

    for m in modes:
        check_mode(m)
    folder = Path(library).expanduser() if library else library_dir(dataset, encoder, cache_root)
    t0 = time.perf_counter()
    lib, index_s = build_library(dataset, encoder, folder, progress)
    results = {"dataset": dataset.name, "split": dataset.split, "model": encoder.model_id,
               "precision": precision_of(encoder), "path": dataset.path, "library": str(folder),
               "documents": len(dataset.articles), "passages": lib.store.counts()[1], "questions": len(dataset.items),
               "k": k if answers else None, "depth": depth, "history": history, "answers": answers,
               "index_seconds": round(index_s, 2),
               "metric_backend": "trec_eval (pytrec_eval)" if has_trec_eval() else "python", **(extra or {}),
               "modes": {}}
    all_rows, all_timings, qvecs = [], {}, {}
    try:
        for mode in modes:
            metrics, rows, timings = evaluate_mode(lib, dataset, mode, k=k, depth=depth, depth_passages=3 * depth,
                                                   history=history, progress=progress, qvecs=qvecs,
                                                   answers=answers)
            results["modes"][mode] = metrics
            all_rows += rows
            all_timings[mode] = timings
            results["seconds"] = round(time.perf_counter() - t0, 2)
            last = mode == modes[-1]  # reports after every mode, so a long run's finished modes are kept
            write_reports(Path(out), results, all_rows, all_timings, draw=charts and last)
    finally:
        lib.close()
    return results
