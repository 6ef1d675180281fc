"""SQuAD 2.0 dev, the report half: does `ask` abstain on questions its paragraph does not answer?

    python bench/squad2_abstention.py [--limit 1200]

Only the 'report' half of SQuAD 2.0 dev's titles is used (qa/answer/reader/squad.py: squad2_split), and
only paragraphs that are not in xquad-en; the reader never trained on them and calibration never fitted
them. The half is one library (a paragraph = an article) and every question is asked of all of it, so an
unanswerable question meets its own paragraph, which holds a plausible wrong answer. Per question the
shipped `analyze` gives the calibrated confidence; the shipped threshold decides. Prints false abstention
(answerable refused), abstention on unanswerable questions, ECE and the evidence hit, and writes the
trade-off curve over every threshold to bench/out/squad2_abstention.png (and bench/charts/ with --keep).
"""
from __future__ import annotations

import argparse
import random
import shutil
import sys
from pathlib import Path

import numpy as np

from common import OUT, ROOT, SHARED, save, table
from fit_calibration import abstention, ece

SQUAD2 = SHARED / "squad" / "dev-v2.0.json.gz"
XQUAD = SHARED / "xquad-en" / "xquad.en.json"
CHARTS = ROOT / "bench" / "charts"


def report_half():
    """(Dataset of the report half's paragraphs outside xquad-en, with all their questions)."""
    from corpus.text import make_article
    from qa.answer.reader.squad import load_json_gz, squad2_split, xquad_contexts
    from qa.evaluation.datasets import Dataset, Item

    skip = xquad_contexts(XQUAD) if XQUAD.is_file() else set()
    arts, items = [], []
    for art in load_json_gz(SQUAD2)["data"]:
        if squad2_split(art["title"]) != "report":
            continue
        for i, p in enumerate(art["paragraphs"]):
            if p["context"] in skip:
                continue
            a = make_article([p["context"]], f"dev-v2.0#{art['title']}/{i}", title=art["title"].replace("_", " "))
            arts.append(a)
            for qa in p["qas"]:
                imp = bool(qa.get("is_impossible"))
                items.append(Item(qid=qa["id"], question=qa["question"], gold={} if imp else {a.source: 1},
                                  answers=[x["text"] for x in qa["answers"]], answerable=not imp))
    return Dataset("squad2-dev-report", "report", str(SQUAD2), arts, items)


def balanced(items, limit: int, seed: int = 0):
    """limit/2 answerable and limit/2 unanswerable items, seeded."""
    rng = random.Random(seed)
    out = []
    for flag in (True, False):
        group = [it for it in items if it.answerable is flag]
        rng.shuffle(group)
        out += group[:limit // 2]
    return out


def measure(lib, items) -> list[dict]:
    from tqdm import tqdm

    from qa.answer.ask import analyze
    from qa.evaluation.metrics import contains_answer

    rows = []
    for it in tqdm(items, unit="q", file=sys.stderr, dynamic_ncols=True):
        an = analyze(lib, " ".join(it.question.split()), 5, "hybrid", None, (), {})
        rows.append({"qid": it.qid, "answerable": it.answerable, "confidence": an.confidence if an else 0.0,
                     "hit": bool(an and it.answers and contains_answer(an.best.text, it.answers))})
    return rows


def rates(conf: np.ndarray, y: np.ndarray, t: float) -> dict:
    r = abstention(conf, y.astype(float), t)
    return {"false_abstention": r["false_abstention"], "abstention_on_unanswerable": r["abstention_accuracy"]}


def at_false_abstention(conf, y, limit: float) -> dict:
    """The best abstention reachable with false abstention <= limit (the curve's point there)."""
    best = {"threshold": 0.0, **rates(conf, y, 0.0)}
    for t in np.unique(conf):
        r = rates(conf, y, float(t))
        if r["false_abstention"] <= limit and r["abstention_on_unanswerable"] > best["abstention_on_unanswerable"]:
            best = {"threshold": float(t), **r}
    return best


def chart(conf, y, threshold: float, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ts = np.concatenate([[0.0], np.unique(conf), [1.01]])
    pts = [rates(conf, y, t) for t in ts]
    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=110)
    ax.plot([p["false_abstention"] for p in pts], [p["abstention_on_unanswerable"] for p in pts], label="ask (shipped)")
    r = rates(conf, y, threshold)
    ax.scatter([r["false_abstention"]], [r["abstention_on_unanswerable"]], zorder=3, label=f"threshold {threshold:.2f}")
    ax.axvline(0.10, ls=":", c="grey")
    ax.axhline(0.60, ls=":", c="grey")
    ax.set_xlabel("false abstention (answerable questions refused)")
    ax.set_ylabel("abstention on unanswerable questions")
    ax.set_title("SQuAD 2.0 dev, report half: abstention trade-off")
    ax.set_xlim(0, 1), ax.set_ylim(0, 1), ax.grid(alpha=.3), ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=1200, help="questions (half unanswerable), seeded sample")
    ap.add_argument("--keep", action="store_true", help="also copy the chart to bench/charts/ (tracked)")
    args = ap.parse_args()
    if not SQUAD2.is_file():
        print(f"{SQUAD2} is not present; nothing to measure", file=sys.stderr)
        return 0
    from qa.answer.confidence import threshold
    from qa.config import make_encoder
    from qa.evaluation.runner import build_library, library_dir

    enc = make_encoder()
    ds = report_half()
    lib, _ = build_library(ds, enc, library_dir(ds, enc))
    rows = measure(lib, balanced(ds.items, args.limit))
    lib.close()
    conf = np.array([r["confidence"] for r in rows])
    y = np.array([bool(r["answerable"]) for r in rows])
    thr = threshold()
    result = {"questions": len(rows), "answerable": int(y.sum()), "threshold": thr, **rates(conf, y, thr),
              "ece": ece(conf, y.astype(float))[0], "at_false_abstention_0.10": at_false_abstention(conf, y, 0.10),
              "evidence_hit (answerable, before abstaining)": float(np.mean([r["hit"] for r in rows if r["answerable"]]))}
    table([result], ["questions", "answerable", "threshold", "false_abstention", "abstention_on_unanswerable", "ece"])
    print(f"at false abstention <= 0.10: {result['at_false_abstention_0.10']}")
    print(f"evidence hit: {result['evidence_hit (answerable, before abstaining)']:.3f}")
    png = OUT / "squad2_abstention.png"
    chart(conf, y, thr, png)
    if args.keep:
        CHARTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(png, CHARTS / png.name)
    save("squad2_abstention", {"result": result, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
