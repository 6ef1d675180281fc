"""Scores: ranking metrics with trec_eval semantics, span-level answer checks, and latency percentiles.

Ranking metrics use pytrec_eval (trec_eval's own C code, package pytrec_eval-terrier, the `eval` extra)
when installed, else an equivalent pure-Python implementation. Semantics, as BEIR reports them:
- nDCG@10: gain = graded relevance (linear), discount log2(rank + 1), ideal from the qrels;
- MRR@10: reciprocal rank of the first relevant document within the top 10 (0 when none);
- recall@k: relevant documents in the top k / all relevant documents of the query;
- averaged over every query in the qrels that has a relevant document (an empty run scores 0).
"""
from __future__ import annotations

import math
import re
import string
import unicodedata
from typing import Iterable, Optional, Sequence

import numpy as np

from ..answer.reader.squad import squad_em, squad_f1  # noqa: F401  (scored here too)

RECALL_KS = (1, 5, 10, 100)
RANKING = ("ndcg@10", "mrr@10") + tuple(f"recall@{k}" for k in RECALL_KS)


def _python_metrics(gold: dict[str, int], ranked: Sequence[str]) -> dict[str, float]:
    rel = {d: r for d, r in gold.items() if r > 0}
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sorted(rel.values(), reverse=True)[:10]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    first = next((i for i, d in enumerate(ranked[:10]) if d in rel), None)
    out = {"ndcg@10": dcg / idcg if idcg else 0.0, "mrr@10": 0.0 if first is None else 1.0 / (first + 1)}
    for k in RECALL_KS:
        out[f"recall@{k}"] = len(rel.keys() & set(ranked[:k])) / len(rel) if rel else 0.0
    return out


def _trec_metrics(qrels: dict[str, dict[str, int]], runs: dict[str, Sequence[str]]) -> dict[str, dict[str, float]]:
    import pytrec_eval

    # Scores strictly decreasing with rank, so trec_eval's sort (score, then doc id) keeps our order.
    full = {q: {d: float(len(r) - i) for i, d in enumerate(r)} for q, r in runs.items() if r}
    top10 = {q: {d: s for d, s in docs.items() if s > len(runs[q]) - 10} for q, docs in full.items()}
    measures = {"ndcg_cut.10", "recall." + ",".join(map(str, RECALL_KS))}
    a = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(full)
    b = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    out = {}
    for q, m in a.items():
        out[q] = {"ndcg@10": m["ndcg_cut_10"], "mrr@10": b[q]["recip_rank"],
                  **{f"recall@{k}": m[f"recall_{k}"] for k in RECALL_KS}}
    return out


def per_query_ranking(qrels: dict[str, dict[str, int]], runs: dict[str, Sequence[str]],
                      backend: Optional[str] = None) -> dict[str, dict[str, float]]:
    """Metrics per query id for each query with at least one relevant document."""
    qrels = {q: {d: int(r) for d, r in g.items()} for q, g in qrels.items() if any(r > 0 for r in g.values())}
    zero = {m: 0.0 for m in RANKING}
    if backend is None:
        backend = "trec_eval" if has_trec_eval() else "python"
    if backend == "trec_eval":
        got = _trec_metrics(qrels, {q: list(runs.get(q, ())) for q in qrels})
    else:
        got = {q: _python_metrics(g, list(runs.get(q, ()))) for q, g in qrels.items() if runs.get(q)}
    return {q: got.get(q, zero) for q in qrels}


def ranking_metrics(qrels, runs, backend: Optional[str] = None) -> dict[str, float]:
    """Mean nDCG@10, MRR@10, recall@1/5/10/100 over the queries that have relevant documents."""
    per = per_query_ranking(qrels, runs, backend)
    return {m: float(np.mean([v[m] for v in per.values()])) if per else 0.0 for m in RANKING}


def has_trec_eval() -> bool:
    try:
        import pytrec_eval  # noqa: F401
    except ImportError:
        return False
    return True


# -- span level
_WS = re.compile(r"\s+")
_PUNCT = set(string.punctuation)


def norm(text: str) -> str:
    """Case- and whitespace-insensitive form (NFC, lower-cased, runs of whitespace as one space)."""
    return _WS.sub(" ", unicodedata.normalize("NFC", text or "")).strip().lower()


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    t = norm(text)
    return any(norm(a) and norm(a) in t for a in answers)


def span_scores(answer, item, doc_ids: dict[str, list[str]]) -> dict[str, Optional[float]]:
    """Per-question span metrics; None where the metric does not apply to this question."""
    abstained = bool(answer.abstained)
    cites = list(answer.citations)
    out: dict[str, Optional[float]] = {"evidence_hit": None, "phrase_em": None, "phrase_f1": None,
                                       "answer_in_citations": None, "citation_precision": None,
                                       "abstained": float(abstained)}
    if item.answers and item.answerable is not False:
        hl = answer.highlight.text if (answer.highlight and not abstained) else ""
        out["evidence_hit"] = float(contains_answer(hl, item.answers))
        span = getattr(answer, "answer_span", None)
        out["phrase_em"], out["phrase_f1"] = phrase_scores(span.text if span and not abstained else "", item.answers)
        out["answer_in_citations"] = float(not abstained and any(contains_answer(c.text, item.answers) for c in cites))
    if item.gold and cites and not abstained:
        good = {d for d, r in item.gold.items() if r > 0}
        out["citation_precision"] = float(np.mean([bool(good & set(doc_ids.get(c.article_id, [c.source])))
                                                   for c in cites]))
    return out


def abstention_scores(rows: list[tuple[Optional[bool], bool]]) -> dict[str, float]:
    """From (answerable, abstained) pairs: accuracy of abstaining exactly on the unanswerable ones,
    and the share of answerable questions that were refused. Empty unless some item is unanswerable."""
    rows = [(a, ab) for a, ab in rows if a is not None]
    if not any(a is False for a, _ in rows):
        return {}
    answerable = [ab for a, ab in rows if a]
    return {"abstention_accuracy": float(np.mean([ab == (not a) for a, ab in rows])),
            "false_abstention_rate": float(np.mean(answerable)) if answerable else 0.0}


INSIDE_ANSWER = ("reader_ms", "sentences_ms")  # the answer step's model time: parts of answer_ms, not stages


def total_ms(t: dict) -> float:
    """The whole ask: the sum of its stages (parts of a stage are not added again)."""
    return sum(v for k, v in t.items() if isinstance(v, (int, float)) and k not in INSIDE_ANSWER)


def latency_stats(timings: list[dict]) -> dict[str, float]:
    """p50/p95 of the whole ask (sum of stages) and of each stage (and part), in milliseconds."""
    out = {}
    totals = [total_ms(t) for t in timings]
    if totals:
        out["latency_p50_ms"], out["latency_p95_ms"] = (float(np.percentile(totals, p)) for p in (50, 95))
    for stage in sorted({k for t in timings for k in t}):
        vals = [t[stage] for t in timings if isinstance(t.get(stage), (int, float))]
        if vals:
            name = stage[:-3] if stage.endswith("_ms") else stage
            out[f"{name}_p50_ms"], out[f"{name}_p95_ms"] = (float(np.percentile(vals, p)) for p in (50, 95))
    return out


def phrase_scores(pred: str, golds: Iterable[str]) -> tuple[float, float]:
    """(exact match, F1) of a predicted phrase against the best of several gold answers."""
    golds = [g for g in golds if g] or [""]
    return max(squad_em(pred, g) for g in golds), max(squad_f1(pred, g) for g in golds)
