"""Evaluation reports: results.json, results.md (Markdown table), per_question.jsonl and PNG charts."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .metrics import INSIDE_ANSWER, RANKING, total_ms

SCORES = RANKING + ("evidence_hit", "answer_in_citations", "citation_precision", "abstention_accuracy",
                    "false_abstention_rate")
LATENCY = ("latency_p50_ms", "latency_p95_ms", "encode_p50_ms", "encode_p95_ms", "search_p50_ms", "search_p95_ms",
           "answer_p50_ms", "answer_p95_ms")


def markdown(results: dict) -> str:
    modes = list(results["modes"])
    lines = [f"# Evaluation: {results['dataset']} ({results['split']})", "",
             f"Model `{results['model']}` ({results.get('precision', '?')}), {results.get('documents')} documents, "
             f"{results.get('passages')} passages, {results.get('questions')} questions, k={results.get('k')}, "
             f"metrics by {results.get('metric_backend')}.", "",
             "| metric | " + " | ".join(modes) + " |", "|---|" + "---:|" * len(modes)]
    present = [m for m in SCORES + LATENCY if any(m in results["modes"][x] for x in modes)]
    for m in present:
        cells = []
        for x in modes:
            v = results["modes"][x].get(m)
            cells.append("—" if v is None else (f"{v:.1f}" if m.endswith("_ms") else f"{v:.4f}"))
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines.append(f"| questions scored for ranking | " +
                 " | ".join(str(results["modes"][x].get("scored_for_ranking", "—")) for x in modes) + " |")
    lines += ["", f"Index build this run: {results.get('index_seconds')} s; total {results.get('seconds')} s. "
              f"Library: `{results.get('library')}`."]
    return "\n".join(lines) + "\n"


def charts(out: Path, results: dict, timings: dict[str, list[dict]]) -> list[Path]:
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed, so no charts were drawn: pip install 'article-qa[eval]'", file=sys.stderr)
        return []
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    modes = list(results["modes"])
    written = []
    names = [m for m in SCORES if any(m in results["modes"][x] for x in modes)]
    if names:
        fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(names) + 2), 4.2))
        width = 0.8 / max(1, len(modes))
        x = np.arange(len(names))
        for i, mode in enumerate(modes):
            vals = [results["modes"][mode].get(n, 0.0) for n in names]
            bars = ax.bar(x + i * width - 0.4 + width / 2, vals, width, label=mode)
            ax.bar_label(bars, fmt="%.2f", fontsize=6, padding=1)
        ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
        ax.set_ylim(0, 1.08)
        ax.set_ylabel("score")
        ax.set_title(f"{results['dataset']} ({results['split']}): metric by mode")
        ax.legend(fontsize=8)
        fig.tight_layout()
        written.append(out / "metrics.png")
        fig.savefig(written[-1], dpi=120)
        plt.close(fig)
    totals = {m: [total_ms(t) for t in ts] for m, ts in timings.items()}
    if any(totals.values()):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        used = [m for m in modes if totals.get(m)]
        a1.boxplot([totals[m] for m in used], showfliers=True)
        a1.set_xticks(range(1, len(used) + 1), used)
        a1.set_yscale("log")
        a1.set_ylabel("ms per question (log)")
        a1.set_title("ask latency distribution")
        stages = sorted({k for m in used for t in timings[m] for k in t if k not in INSIDE_ANSWER})
        bottom = np.zeros(len(used))
        for s in stages:
            med = np.array([np.median([t.get(s, 0.0) for t in timings[m]]) for m in used])
            a2.bar(used, med, bottom=bottom, label=s)
            bottom += med
        a2.set_ylabel("median ms")
        a2.set_title("median time per stage")
        a2.legend(fontsize=8)
        fig.tight_layout()
        written.append(out / "latency.png")
        fig.savefig(written[-1], dpi=120)
        plt.close(fig)
    return written


def write_reports(out: Path, results: dict, rows: list[dict], timings: dict[str, list[dict]], draw: bool = True):
    out.mkdir(parents=True, exist_ok=True)
    pngs = charts(out, results, timings) if draw else []
    results["charts"] = [p.name for p in pngs]
    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    (out / "results.md").write_text(markdown(results), "utf-8")
    with open(out / "per_question.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
