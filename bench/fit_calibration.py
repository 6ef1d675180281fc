"""Fit the sentence-support and answer-confidence models (qa/calibration.json) and report calibration.

Data: xquad-en from ../shared/data (read in place). Its 48 articles are split by title: the models are
fitted on half the titles and every number printed is measured on the other half. Unanswerable
questions are made by searching with the question's own paragraph filtered out (as if removed).

Usage: python bench/fit_calibration.py [--library DIR] [--write]
"""
from __future__ import annotations

import argparse
import json
import sys
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
XQUAD = ROOT.parent / "shared" / "data" / "xquad-en" / "xquad.en.json"
sys.path.insert(0, str(ROOT))


def norm(s: str) -> str:
    return " ".join(s.lower().split())


def load(lib):
    from corpus.text import make_article

    data = json.loads(XQUAD.read_text("utf-8"))["data"]
    arts, qs = [], []
    for d in data:
        for i, para in enumerate(d["paragraphs"]):
            a = make_article([para["context"]], f"xquad.en.json#{d['title']}/{i}", title=d["title"].replace("_", " "))
            arts.append(a)
            for qa in para["qas"]:
                qs.append({"q": qa["question"], "answer": qa["answers"][0]["text"], "article": a.id, "title": d["title"]})
    if len(lib) == 0:
        lib.add(arts, progress=True)
    return arts, qs


def logistic(X, y, l2=1.0, iters=50):
    """L2-regularised logistic regression by Newton's method (bias unpenalised)."""
    X1 = np.hstack([X, np.ones((len(X), 1))])
    w = np.zeros(X1.shape[1])
    reg = np.eye(X1.shape[1]) * l2
    reg[-1, -1] = 0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-X1 @ w))
        g = X1.T @ (p - y) + reg @ w
        H = (X1 * (p * (1 - p))[:, None]).T @ X1 + reg
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1].tolist(), float(w[-1])


def ece(p, y, bins=10):
    p, y = np.asarray(p), np.asarray(y)
    edges = np.linspace(0, 1, bins + 1)
    rows, total = [], 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (p >= lo) & (p < hi if hi < 1 else p <= hi)
        if m.sum():
            gap = abs(p[m].mean() - y[m].mean())
            total += m.sum() / len(p) * gap
            rows.append((lo, hi, int(m.sum()), float(p[m].mean()), float(y[m].mean())))
    return total, rows


def collect(lib, qs, arts, k=5):
    """Sentence rows (features, label) and answer rows (features, answerable) for each question."""
    from qa import Filters
    from qa.answer import analyze
    from qa.confidence import answer_features
    from qa.evidence import stems

    all_ids = [a.id for a in arts]
    sent_X, sent_y, sent_q, ans = [], [], [], []
    for qi, q in enumerate(qs):
        for answerable in (True, False):
            filters = None if answerable else Filters(article_ids=tuple(i for i in all_ids if i != q["article"]))
            an = analyze(lib, q["q"], k, "hybrid", filters, (), {})
            if an is None:
                continue
            labels = [norm(q["answer"]) in norm(c.text) and c.citation.article_id == q["article"]
                      for c in an.candidates]
            if answerable:
                for c, lab in zip(an.candidates, labels):
                    sent_X.append(c.features)
                    sent_y.append(float(lab))
                    sent_q.append(qi)
            cited = set().union(*(stems(c.text) for c in an.citations))
            ans.append({"qi": qi, "answerable": answerable, "cands": an.candidates, "citations": an.citations,
                        "cited": cited, "query": q["q"], "labels": labels, "stems": stems(q["q"])})
    return np.array(sent_X), np.array(sent_y), np.array(sent_q), ans


def answer_rows(ans, sentence_model):
    from qa.confidence import answer_features, sigmoid

    X, y, hit = [], [], []
    w, b = np.asarray(sentence_model["weights"]), sentence_model["bias"]
    for a in ans:
        scores = sigmoid(np.stack([c.features for c in a["cands"]]) @ w + b)
        for c, s in zip(a["cands"], scores):
            c.score = float(s)
        best = int(np.argmax(scores))
        X.append(answer_features(a["stems"], a["cands"][best], a["citations"], a["cited"]))
        y.append(float(a["answerable"]))
        hit.append(bool(a["labels"][best]) if a["answerable"] else None)
    return np.array(X), np.array(y), hit


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--library", default="/tmp/article-qa-xquad")
    ap.add_argument("--write", action="store_true", help="write qa/calibration.json")
    ap.add_argument("--limit", type=int, default=300, help="questions per half (fit, test); 0 = all")
    args = ap.parse_args()
    if not XQUAD.exists():
        sys.exit(f"{XQUAD} is not present")
    from qa import Library
    from qa.config import make_encoder

    lib = Library(args.library, make_encoder())
    arts, qs = load(lib)
    fit_titles = {t for t in {q["title"] for q in qs} if zlib.crc32(t.encode()) % 2 == 0}
    fit_q = [q for q in qs if q["title"] in fit_titles]
    test_q = [q for q in qs if q["title"] not in fit_titles]
    if args.limit:
        rng = np.random.default_rng(0)
        fit_q = [fit_q[i] for i in sorted(rng.choice(len(fit_q), min(args.limit, len(fit_q)), replace=False))]
        test_q = [test_q[i] for i in sorted(rng.choice(len(test_q), min(args.limit, len(test_q)), replace=False))]
    print(f"{len(arts)} paragraphs; fitting on {len(fit_q)} questions, testing on {len(test_q)}", file=sys.stderr)
    from tqdm import tqdm

    sX, sy, _, fit_ans = collect(lib, tqdm(fit_q, desc="fit"), arts)
    sw, sb = logistic(sX, sy)
    sentence = {"weights": sw, "bias": sb}
    aX, ay, _ = answer_rows(fit_ans, sentence)
    aw, ab = logistic(aX, ay)
    answer = {"weights": aw, "bias": ab}
    _, _, _, test_ans = collect(lib, tqdm(test_q, desc="test"), arts)
    tX, ty, hits = answer_rows(test_ans, sentence)
    from qa.confidence import sigmoid

    p = sigmoid(tX @ np.asarray(aw) + ab)
    err, table = ece(p, ty)
    answerable = ty == 1
    # threshold: the largest that keeps false abstention on the fitted half <= 5%
    pf = sigmoid(aX @ np.asarray(aw) + ab)
    cands = sorted(set(np.round(pf[ay == 1], 3)))
    thr = max([t for t in cands if (pf[ay == 1] < t).mean() <= 0.05] or [0.5])
    thr = min(thr, 0.5)
    result = {
        "held_out_questions": int(answerable.sum()),
        "evidence_hit": float(np.mean([h for h in hits if h is not None])),
        "ece": float(err), "threshold": float(thr),
        "false_abstention": float((p[answerable] < thr).mean()),
        "abstention_accuracy": float((p[~answerable] < thr).mean()),
        "reliability": [{"bin": f"{lo:.1f}-{hi:.1f}", "n": n, "mean_confidence": round(mp, 3),
                         "answerable_share": round(my, 3)} for lo, hi, n, mp, my in table],
    }
    print(json.dumps(result, indent=2))
    if args.write:
        out = {"sentence": sentence, "answer": answer, "threshold": thr,
               "fitted_on": "xquad-en, titles with crc32 % 2 == 0 (answerable + paragraph-removed)",
               "held_out": {k: v for k, v in result.items() if k != "reliability"}}
        (ROOT / "qa" / "calibration.json").write_text(json.dumps(out, indent=2) + "\n")
        print("wrote qa/calibration.json", file=sys.stderr)


if __name__ == "__main__":
    main()
