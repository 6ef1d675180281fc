"""The reader's "not found": SQuAD 2.0 dev abstention, mtrag-un turns, and the confidence calibration.

    python bench/reader_abstention.py --fit      # fit qa/answer/reader/calibration.json (data never reported)
    python bench/reader_abstention.py            # report on held-out data, write the trade-off chart

Data, read in place from ../shared/data. SQuAD 2.0 dev paragraphs that are not in xquad-en, split by
title (qa/answer/reader/squad.py: squad2_split): the 'train' quarter's unanswerables were trained on, the
'calibrate' quarter fits the confidence, the 'report' half is only ever reported. Each split is one
library (a paragraph = an article); every question, answerable or not, is asked of the whole split, so
an unanswerable question meets its own paragraph with a plausible wrong answer in it. mtrag-un tasks
(pooled gold passages as the corpus; earlier user turns asked first in one Conversation) are split by
conversation id: crc32 % 2 == 0 fits, the other half reports. UNDERSPECIFIED turns are left out.

Confidence = sigmoid(w * margin + b), margin = the reader's best answer logit minus its no-answer logit,
fitted by logistic regression with "the articles answer" as the label. The threshold is the largest one
that keeps false abstention <= --max-false-abstention on each fitted set.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import zlib
from pathlib import Path

import numpy as np

from common import OUT, ROOT, SHARED, save, table

SQUAD2 = SHARED / "squad" / "dev-v2.0.json.gz"
XQUAD = SHARED / "xquad-en" / "xquad.en.json"
MTRAG = SHARED / "mtrag-un" / "reference.jsonl"
CALIBRATION = ROOT / "qa" / "reader" / "calibration.json"


def squad2_dataset(split: str):
    """(Dataset of the split's paragraphs outside xquad-en, all its questions)."""
    from corpus.text import make_article
    from qa.evaluation.datasets import Dataset, Item
    from qa.answer.reader.squad import load_json_gz, squad2_split, xquad_contexts

    skip = xquad_contexts(XQUAD) if XQUAD.is_file() else set()
    arts, items = [], []
    for art in load_json_gz(SQUAD2)["data"]:
        if squad2_split(art["title"]) != split:
            continue
        for i, p in enumerate(art["paragraphs"]):
            if p["context"] in skip:
                continue
            a = make_article([p["context"]], f"dev-v2.0#{art['title']}/{i}", title=art["title"].replace("_", " "))
            arts.append(a)
            for qa in p["qas"]:
                imp = bool(qa.get("is_impossible"))
                items.append(Item(qid=qa["id"], question=qa["question"], gold={} if imp else {a.id: 1},
                                  answers=[x["text"] for x in qa["answers"]], answerable=not imp))
    return Dataset(f"squad2-dev-{split}", split, str(SQUAD2), arts, items)


def sample(items, limit: int, seed: int = 0):
    """Up to limit/2 answerable and limit/2 unanswerable items, seeded."""
    rng = random.Random(seed)
    out = []
    for flag in (True, False):
        group = [it for it in items if it.answerable is flag]
        rng.shuffle(group)
        out += group[:limit // 2]
    return out


def mtrag_fit(qid: str) -> bool:
    return zlib.crc32(qid.split("::")[0].encode()) % 2 == 0


def measure(lib, items, history: bool) -> list[dict]:
    """One row per item: answerable, the reader's margin, and whether the highlight holds the answer."""
    from tqdm import tqdm

    from qa.answer.ask import analyze
    from qa.answer.conversation import Conversation
    from qa.evaluation.metrics import contains_answer

    rows = []
    for it in tqdm(items, unit="q", file=sys.stderr, dynamic_ncols=True):
        conv = Conversation(lib)
        for q in (it.history if history else []):
            conv.ask(q)
        query = conv.resolve(it.question)
        focus = conv.focus() if query != it.question else ()
        an = analyze(lib, query, 5, "hybrid", None, focus, {})
        rows.append({"qid": it.qid, "answerable": it.answerable, "margin": an.margin if an else -20.0,
                     "hit": bool(an and it.answers and contains_answer(an.best.text, it.answers))})
    return rows


def logistic(x: np.ndarray, y: np.ndarray, iters: int = 100) -> tuple[float, float]:
    """Newton's method for sigmoid(w x + b); a tiny L2 keeps it finite on separable data."""
    w = np.zeros(2)
    X = np.stack([x, np.ones_like(x)], 1)
    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.clip(X @ w, -50, 50)))
        g = X.T @ (p - y) + 1e-3 * w
        H = (X * (p * (1 - p))[:, None]).T @ X + 1e-3 * np.eye(2)
        w -= np.linalg.solve(H, g)
    return float(w[0]), float(w[1])


def rates(rows, conf, t) -> dict:
    ans = [c < t for r, c in zip(rows, conf) if r["answerable"]]
    una = [c < t for r, c in zip(rows, conf) if not r["answerable"]]
    return {"false_abstention": float(np.mean(ans)) if ans else float("nan"),
            "abstention_on_unanswerable": float(np.mean(una)) if una else float("nan")}


def ece(rows, conf, bins: int = 10) -> tuple[float, list]:
    y = np.array([bool(r["answerable"]) for r in rows], float)
    conf = np.asarray(conf)
    edges = np.linspace(0, 1, bins + 1)
    total, table_ = 0.0, []
    for i in range(bins):
        m = (conf >= edges[i]) & ((conf < edges[i + 1]) if i < bins - 1 else (conf <= 1))
        if m.any():
            total += m.sum() / len(conf) * abs(conf[m].mean() - y[m].mean())
            table_.append({"bin": f"{edges[i]:.1f}-{edges[i + 1]:.1f}", "n": int(m.sum()),
                           "mean confidence": round(float(conf[m].mean()), 3), "answerable share": round(float(y[m].mean()), 3)})
    return float(total), table_


def chart(curves: dict, threshold: float, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=110)
    for name, (rows, conf) in curves.items():
        ts = np.linspace(0, 1, 101)
        pts = [rates(rows, conf, t) for t in ts]
        ax.plot([p["false_abstention"] for p in pts], [p["abstention_on_unanswerable"] for p in pts], label=name)
        r = rates(rows, conf, threshold)
        ax.scatter([r["false_abstention"]], [r["abstention_on_unanswerable"]], zorder=3)
    ax.axvline(0.10, ls=":", c="grey")
    ax.axhline(0.60, ls=":", c="grey")
    ax.set_xlabel("false abstention (answerable questions refused)")
    ax.set_ylabel("abstention on unanswerable questions")
    ax.set_title(f"Abstention trade-off (dots: shipped threshold {threshold:.2f})")
    ax.set_xlim(0, 1), ax.set_ylim(0, 1), ax.grid(alpha=.3), ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fit", action="store_true", help="fit and write qa/answer/reader/calibration.json")
    ap.add_argument("--limit", type=int, default=1200, help="SQuAD 2.0 questions per split (half unanswerable)")
    ap.add_argument("--mtrag-limit", type=int, default=0, help="only the first N mtrag tasks (0: all)")
    ap.add_argument("--max-false-abstention", type=float, default=0.05)
    ap.add_argument("--workdir", type=Path, default=OUT / "libraries", help="where the evaluation libraries are kept")
    args = ap.parse_args()
    if not SQUAD2.is_file():
        print(f"{SQUAD2} is not present; nothing to measure", file=sys.stderr)
        return 0
    from qa.config import make_encoder
    from qa.evaluation.runner import build_library

    enc = make_encoder()
    sets = {}
    ds = squad2_dataset("calibrate" if args.fit else "report")
    lib, _ = build_library(ds, enc, args.workdir / ds.name)
    sets[f"SQuAD 2.0 dev {ds.split}"] = measure(lib, sample(ds.items, args.limit), False)
    lib.close()
    if MTRAG.is_file():
        from qa.evaluation.datasets import load_mtrag

        md = load_mtrag(MTRAG).subset(args.mtrag_limit or None)
        items = [it for it in md.items if it.answerable is not None and mtrag_fit(it.qid) == args.fit]
        lib, _ = build_library(md, enc, args.workdir / "mtrag-un")
        sets[f"mtrag-un {'fit' if args.fit else 'held-out'} half"] = measure(lib, items, True)
        lib.close()
    if args.fit:
        x = np.concatenate([[r["margin"] for r in rows] for rows in sets.values()])
        y = np.concatenate([[bool(r["answerable"]) for r in rows] for rows in sets.values()]).astype(float)
        w, b = logistic(x, y)
        conf = {k: 1 / (1 + np.exp(-(w * np.array([r["margin"] for r in v]) + b))) for k, v in sets.items()}
        ok = [t for t in np.linspace(0.01, 0.99, 99)
              if all(rates(sets[k], conf[k], t)["false_abstention"] <= args.max_false_abstention for k in sets)]
        threshold = float(max(ok)) if ok else 0.01
        cal = {"weight": w, "bias": b, "threshold": round(threshold, 2),
               "fitted_on": {k: len(v) for k, v in sets.items()},
               "rule": f"largest threshold with false abstention <= {args.max_false_abstention} on each fitted set",
               "command": "python bench/reader_abstention.py --fit"}
        CALIBRATION.write_text(json.dumps(cal, indent=2) + "\n", "utf-8")
        print(f"wrote {CALIBRATION}: {json.dumps(cal)}")
    from qa.answer.confidence import CALIBRATION_FILE, answer_confidence, model

    model.cache_clear()
    threshold = json.loads(CALIBRATION_FILE.read_text())["threshold"] if CALIBRATION_FILE.exists() else 0.5
    results, curves = {}, {}
    for name, rows in sets.items():
        conf = [answer_confidence(r["margin"]) for r in rows]
        curves[name] = (rows, conf)
        e, rel = ece(rows, conf)
        hits = [r["hit"] for r, c in zip(rows, conf) if r["answerable"]]
        results[name] = {"set": name, "questions": len(rows), "answerable": sum(bool(r["answerable"]) for r in rows),
                         **rates(rows, conf, threshold), "ece": e, "evidence_hit (answerable, before abstaining)":
                         float(np.mean(hits)) if hits else float("nan"), "reliability": rel}
    table(list(results.values()), ["set", "questions", "answerable", "false_abstention", "abstention_on_unanswerable", "ece"])
    for name, r in results.items():
        print(f"\nreliability, {name}:")
        table(r["reliability"], ["bin", "n", "mean confidence", "answerable share"])
    OUT.mkdir(parents=True, exist_ok=True)
    chart(curves, threshold, OUT / f"abstention_{'fit' if args.fit else 'report'}.png")
    save(f"reader_abstention_{'fit' if args.fit else 'report'}", {"threshold": threshold, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
