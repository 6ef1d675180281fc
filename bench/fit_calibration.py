"""Fit the sentence-support and answer-confidence models (qa/answer/calibration.json) and report calibration.

Data, read in place from ../shared/data:
- xquad-en: its 48 articles are split by title; the models are fitted on half the titles and every number
  printed is measured on the other half. Unanswerable questions are made two ways: searching with the
  question's own paragraph filtered out ("filtered"), and, the hard case, asking a library in which the
  sentence holding the answer was cut out of its paragraph ("removed": same topic and people, no answer).
- mtrag-un (when present): conversations split by id, half fitted, half reported; each task's earlier
  user turns are asked first in one Conversation, as `article-qa eval --turns all` does; ANSWERABLE and
  PARTIAL turns are answerable, UNANSWERABLE ones are not (UNDERSPECIFIED are left out).
The answer-confidence model is fitted on both fitted halves; the threshold is the largest that keeps false
abstention <= 5% on each fitted half.

Usage: python bench/fit_calibration.py [--library DIR] [--mtrag-library DIR] [--write]
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
MTRAG = ROOT.parent / "shared" / "data" / "mtrag-un" / "reference.jsonl"
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
                ans = qa["answers"][0]
                qs.append({"q": qa["question"], "answer": ans["text"], "start": ans["answer_start"],
                           "context": para["context"], "article": a.id, "title": d["title"], "source": a.source})
    if len(lib) == 0:
        lib.add(arts, progress=True)
    return arts, qs


def removed_library(folder, encoder, arts, asked):
    """The hard unanswerable case ("the articles talk about this but do not say it"): a library where,
    for each paragraph, one asked question's answer sentence is cut out of it; returns (library, indexes
    of the questions to ask of it). Everything else in the library is as in xquad-en."""
    from corpus.text import make_article
    from qa import Library
    from qa.answer.reader.squad import answer_removed

    variant, picked = {}, []
    for qi, q in asked:
        if q["article"] in variant:
            continue
        text = answer_removed(q["context"], q["start"], q["answer"])
        if text:
            variant[q["article"]] = make_article([text], q["source"] + "#removed", title=q["title"].replace("_", " "))
            picked.append(qi)
    lib = Library(folder, encoder)
    if len(lib) == 0:
        lib.add([variant.get(a.id, a) for a in arts], progress=True)
    return lib, set(picked)


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


def collect(lib, qs, arts, k=5, hard=None):
    """Sentence rows (features, label) and answer rows (features, answerable, kind) for each question: the
    question as asked, with its paragraph filtered out ("filtered"), and, for questions in `hard`
    (library, indexes), asked of the library where its answer sentence was cut out ("removed")."""
    from qa import Filters
    from qa.answer.ask import analyze
    from qa.answer.evidence import stems

    all_ids = [a.id for a in arts]
    sent_X, sent_y, sent_q, ans = [], [], [], []
    for qi, q in qs:
        kinds = ["answerable", "filtered"] + (["removed"] if hard and qi in hard[1] else [])
        for kind in kinds:
            answerable = kind == "answerable"
            filters = Filters(article_ids=tuple(i for i in all_ids if i != q["article"])) if kind == "filtered" else None
            an = analyze(hard[0] if kind == "removed" else lib, q["q"], k, "hybrid", filters, (), {})
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
            ans.append({"qi": qi, "answerable": answerable, "kind": kind, "cands": an.candidates, "citations": an.citations,
                        "cited": cited, "query": q["q"], "labels": labels, "stems": stems(q["q"])})
    return np.array(sent_X), np.array(sent_y), np.array(sent_q), ans


def conversation_of(qid: str) -> str:
    return qid.split("::")[0]


def collect_mtrag(lib, items, k=5):
    """Answer rows for mtrag-un tasks, each asked after its conversation's earlier user turns."""
    from qa.answer.ask import analyze
    from qa import Conversation
    from qa.answer.evidence import stems
    from qa.answer.followup import evidence_text

    ans = []
    for item in items:
        conv = Conversation(lib)
        for q in item.history:
            conv.ask(q, k=k)
        query = conv.resolve(item.question)
        focus = conv.focus() if query != item.question else ()
        an = analyze(lib, query, k, "hybrid", None, focus, {})
        if an is None:
            continue
        ans.append({"qi": item.qid, "answerable": item.answerable, "cands": an.candidates, "citations": an.citations,
                    "cited": set().union(*(stems(c.text) for c in an.citations)), "query": query,
                    "labels": None, "stems": stems(evidence_text(query))})
    return ans


def mtrag_halves(limit):
    """(library, fit items, test items) for mtrag-un, or None when the data is absent."""
    if not MTRAG.exists():
        return None
    from qa.config import make_encoder
    from qa.evaluation.datasets import load_mtrag
    from qa.evaluation.runner import build_library, library_dir

    ds = load_mtrag(MTRAG)
    enc = make_encoder()
    lib, _ = build_library(ds, enc, library_dir(ds, enc))
    items = [it for it in ds.items if it.answerable is not None]
    fit = [it for it in items if zlib.crc32(conversation_of(it.qid).encode()) % 2 == 0]
    test = [it for it in items if zlib.crc32(conversation_of(it.qid).encode()) % 2 == 1]
    if limit:
        fit, test = fit[:limit], test[:limit]
    return lib, fit, test


def threshold_for(p, y, max_false=0.05):
    """The largest threshold whose false-abstention share on answerable rows stays <= max_false."""
    pa = np.sort(p[y == 1])
    if not len(pa):
        return 0.5
    return float(pa[int(np.floor(max_false * len(pa)))]) - 1e-9


def abstention(p, y, thr):
    ans = y == 1
    return {"false_abstention": float((p[ans] < thr).mean()), "abstention_accuracy": float((p[~ans] < thr).mean()),
            "answerable": int(ans.sum()), "unanswerable": int((~ans).sum())}


def answer_rows(ans, sentence_model):
    from qa.answer.confidence import answer_features, sigmoid

    X, y, hit = [], [], []
    w, b = np.asarray(sentence_model["weights"]), sentence_model["bias"]
    for a in ans:
        scores = sigmoid(np.stack([c.features for c in a["cands"]]) @ w + b)
        for c, s in zip(a["cands"], scores):
            c.score = float(s)
        best = int(np.argmax(scores))
        X.append(answer_features(a["stems"], a["cands"][best], a["citations"], a["cited"]))
        y.append(float(a["answerable"]))
        hit.append(bool(a["labels"][best]) if a["answerable"] and a["labels"] is not None else None)
    return np.array(X), np.array(y), hit


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--library", default="/tmp/article-qa-xquad")
    ap.add_argument("--write", action="store_true", help="write qa/answer/calibration.json")
    ap.add_argument("--limit", type=int, default=300, help="questions per half (fit, test); 0 = all")
    ap.add_argument("--mtrag-limit", type=int, default=0, help="mtrag-un tasks per half; 0 = all")
    args = ap.parse_args()
    if not XQUAD.exists():
        sys.exit(f"{XQUAD} is not present")
    from qa import Library
    from qa.config import make_encoder

    lib = Library(args.library, make_encoder())
    arts, qs = load(lib)
    fit_titles = {t for t in {q["title"] for q in qs} if zlib.crc32(t.encode()) % 2 == 0}
    fit_q = [(i, q) for i, q in enumerate(qs) if q["title"] in fit_titles]
    test_q = [(i, q) for i, q in enumerate(qs) if q["title"] not in fit_titles]
    if args.limit:
        rng = np.random.default_rng(0)
        fit_q = [fit_q[i] for i in sorted(rng.choice(len(fit_q), min(args.limit, len(fit_q)), replace=False))]
        test_q = [test_q[i] for i in sorted(rng.choice(len(test_q), min(args.limit, len(test_q)), replace=False))]
    print(f"{len(arts)} paragraphs; fitting on {len(fit_q)} questions, testing on {len(test_q)}", file=sys.stderr)
    from tqdm import tqdm

    hard = removed_library(f"{args.library}-removed-{args.limit}", lib.encoder, arts, fit_q + test_q)
    sX, sy, _, fit_ans = collect(lib, tqdm(fit_q, desc="xquad fit"), arts, hard=hard)
    sw, sb = logistic(sX, sy)
    sentence = {"weights": sw, "bias": sb}
    _, _, _, test_ans = collect(lib, tqdm(test_q, desc="xquad test"), arts, hard=hard)
    mt = mtrag_halves(args.mtrag_limit)
    mt_fit, mt_test = [], []
    if mt is not None:
        mlib, mfit, mtest = mt
        mt_fit = collect_mtrag(mlib, tqdm(mfit, desc="mtrag fit"))
        mt_test = collect_mtrag(mlib, tqdm(mtest, desc="mtrag test"))
    aX, ay, _ = answer_rows(fit_ans, sentence)
    mX, my, _ = answer_rows(mt_fit, sentence) if mt_fit else (np.zeros((0, aX.shape[1])), np.zeros(0), [])
    aw, ab = logistic(np.vstack([aX, mX]), np.concatenate([ay, my]))
    answer = {"weights": aw, "bias": ab}
    from qa.answer.confidence import sigmoid

    def conf(X):
        return sigmoid(X @ np.asarray(aw) + ab) if len(X) else np.zeros(0)

    thr = min(threshold_for(conf(aX), ay), threshold_for(conf(mX), my) if len(my) else 1.0, 0.5)
    tX, ty, hits = answer_rows(test_ans, sentence)
    p = conf(tX)
    err, table = ece(p, ty)
    kinds = np.array([a["kind"] for a in test_ans])
    result = {
        "held_out_questions": int((ty == 1).sum()),
        "evidence_hit": float(np.mean([h for h in hits if h is not None])),
        "ece": float(err), "threshold": float(thr), **abstention(p, ty, thr),
        **{f"abstention_{kind}": float((p[kinds == kind] < thr).mean()) for kind in ("filtered", "removed")
           if (kinds == kind).any()},
        "removed_questions": int((kinds == "removed").sum()),
        "reliability": [{"bin": f"{lo:.1f}-{hi:.1f}", "n": n, "mean_confidence": round(mp, 3),
                         "answerable_share": round(my_, 3)} for lo, hi, n, mp, my_ in table],
    }
    if mt_test:
        mtX, mty, _ = answer_rows(mt_test, sentence)
        mp_ = conf(mtX)
        merr, mtable = ece(mp_, mty)
        result["mtrag_held_out"] = {
            "tasks": len(mty), "ece": float(merr), **abstention(mp_, mty, thr),
            "reliability": [{"bin": f"{lo:.1f}-{hi:.1f}", "n": n, "mean_confidence": round(mp2, 3),
                             "answerable_share": round(my2, 3)} for lo, hi, n, mp2, my2 in mtable]}
    print(json.dumps(result, indent=2))
    if args.write:
        out = {"sentence": sentence, "answer": answer, "threshold": thr,
               "fitted_on": "xquad-en, titles with crc32 % 2 == 0 (answerable; paragraph filtered out; "
                            "answer sentence cut out of the paragraph); "
                            "mtrag-un, conversations with crc32 % 2 == 0 (answerable, partial, unanswerable)",
               "held_out": {k: ({kk: vv for kk, vv in v.items() if kk != "reliability"} if isinstance(v, dict) else v)
                            for k, v in result.items() if k != "reliability"}}
        (ROOT / "qa" / "answer" / "calibration.json").write_text(json.dumps(out, indent=2) + "\n")
        print("wrote qa/calibration.json", file=sys.stderr)


if __name__ == "__main__":
    main()
