"""Fit the sentence-support and answer-confidence models (qa/answer/calibration.json) and report calibration.

Fitted on (bench/calibration_data.py; read in place from ../shared/data):
- SQuAD 1.1 train, the titles the reader never trains on: each sampled question asked as is, with its
  paragraph filtered out ("filtered"), and of a library where the sentence holding its answer was cut
  out of its paragraph ("removed": same topic and people, no answer);
- SQuAD 2.0 dev, the 'calibrate' quarter of its titles (paragraphs outside xquad-en), answerable and
  unanswerable questions in equal numbers, each asked of that quarter's library;
- mtrag-un (when present), half of its conversations: each task's earlier user turns are asked first
  in one Conversation, as `article-qa eval --turns all` does; ANSWERABLE and PARTIAL turns are
  answerable, UNANSWERABLE ones are not (UNDERSPECIFIED are left out).
Checked on data never fitted: xquad-en (the same three kinds) and mtrag-un's other half. The sentence model
is fitted on the answerable SQuAD questions, the answer-confidence model on every fitted row; the
threshold is the largest that keeps false abstention <= 5% on each fitted set.

Usage: python bench/fit_calibration.py [--library DIR] [--limit 200] [--mtrag-limit 80] [--write]
"""
from __future__ import annotations

import argparse
import json
import sys
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MTRAG = ROOT.parent / "shared" / "data" / "mtrag-un" / "reference.jsonl"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def norm(s: str) -> str:
    return " ".join(s.lower().split())


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
    """Sentence rows (features, label) and answer rows (features, answerable, kind) for each question: an
    answerable one as asked, with its paragraph filtered out ("filtered"), and, for questions in `hard`
    (library, indexes), asked of the library where its answer sentence was cut out ("removed"); an
    unanswerable one (answer None) as asked ("unanswerable")."""
    from qa import Filters
    from qa.answer.ask import analyze
    from qa.answer.evidence import stems

    all_ids = [a.id for a in arts]
    sent_X, sent_y, sent_q, ans = [], [], [], []
    for qi, q in qs:
        kinds = ["answerable", "filtered"] + (["removed"] if hard and qi in hard[1] else [])
        if q["answer"] is None:
            kinds = ["unanswerable"]
        for kind in kinds:
            answerable = kind == "answerable"
            filters = Filters(article_ids=tuple(i for i in all_ids if i != q["article"])) if kind == "filtered" else None
            an = analyze(hard[0] if kind == "removed" else lib, q["q"], k, "hybrid", filters, (), {})
            if an is None:
                continue
            labels = [q["answer"] is not None and norm(q["answer"]) in norm(c.text)
                      and c.citation.article_id == q["article"] for c in an.candidates]
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


def fit_sets(args, enc):
    """{name: (sentence rows X, y, answer rows)} for the fitted SQuAD sets."""
    import calibration_data as cd
    from tqdm import tqdm

    out = {}
    base = Path(args.library)
    arts, qs = cd.squad_train_heldout()
    lib = cd.library(base / "squad-train-heldout", enc, arts)
    asked = cd.sample(qs, args.limit)
    hard = cd.removed_library(base / f"squad-train-heldout-removed-{args.limit}", enc, arts, asked)
    sX, sy, _, ans = collect(lib, tqdm(asked, desc="squad train (held-out titles)"), arts, hard=hard)
    out["squad_train"] = (sX, sy, ans)
    arts, qs = cd.squad2_calibrate()
    lib = cd.library(base / "squad2-calibrate", enc, arts)
    sX, sy, _, ans = collect(lib, tqdm(cd.sample(qs, args.limit, balanced=True), desc="squad2 calibrate"), arts)
    out["squad2_calibrate"] = (sX, sy, ans)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--library", default="/tmp/article-qa-calibration", help="folder for the libraries (reused)")
    ap.add_argument("--write", action="store_true", help="write qa/answer/calibration.json")
    ap.add_argument("--limit", type=int, default=200, help="questions per SQuAD set and of xquad-en; 0 = all")
    ap.add_argument("--mtrag-limit", type=int, default=80, help="mtrag-un tasks per half; 0 = all")
    args = ap.parse_args()
    import calibration_data as cd

    for path in (cd.XQUAD, cd.SQUAD_TRAIN, cd.SQUAD2):
        if not path.exists():
            sys.exit(f"{path} is not present")
    from tqdm import tqdm

    from qa.answer.confidence import sigmoid
    from qa.config import make_encoder

    enc = make_encoder()
    sets = fit_sets(args, enc)
    sw, sb = logistic(np.vstack([s[0] for s in sets.values()]), np.concatenate([s[1] for s in sets.values()]))
    sentence = {"weights": sw, "bias": sb}
    mt = mtrag_halves(args.mtrag_limit)
    mt_test = []
    if mt is not None:
        mlib, mfit, mtest = mt
        sets["mtrag"] = (None, None, collect_mtrag(mlib, tqdm(mfit, desc="mtrag fit")))
        mt_test = collect_mtrag(mlib, tqdm(mtest, desc="mtrag test"))
    rows = {name: answer_rows(s[2], sentence)[:2] for name, s in sets.items()}
    aw, ab = logistic(np.vstack([X for X, _ in rows.values()]), np.concatenate([y for _, y in rows.values()]))
    answer = {"weights": aw, "bias": ab}

    def conf(X):
        return sigmoid(X @ np.asarray(aw) + ab) if len(X) else np.zeros(0)

    thr = min([threshold_for(conf(X), y) for X, y in rows.values() if (y == 1).any()] + [0.5])
    fitted = {name: {"questions": len(y), **abstention(conf(X), y, thr)} for name, (X, y) in rows.items()}
    x_arts, x_qs = cd.xquad()
    xlib = cd.library(Path(args.library) / "xquad", enc, x_arts)
    asked = cd.sample(x_qs, args.limit)
    hard = cd.removed_library(Path(args.library) / f"xquad-removed-{args.limit}", enc, x_arts, asked)
    _, _, _, test_ans = collect(xlib, tqdm(asked, desc="xquad-en (check)"), x_arts, hard=hard)
    tX, ty, hits = answer_rows(test_ans, sentence)
    p = conf(tX)
    err, table = ece(p, ty)
    kinds = np.array([a["kind"] for a in test_ans])
    result = {
        "fitted": fitted,
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
               "fitted_on": f"SQuAD 1.1 train, titles the reader never trains on ({args.limit} questions: answerable; "
                            "paragraph filtered out; answer sentence cut out of the paragraph); SQuAD 2.0 dev, "
                            f"'calibrate' quarter of titles, paragraphs outside xquad-en ({args.limit} questions, "
                            "half unanswerable); mtrag-un, conversations with crc32 % 2 == 0 (answerable, partial, "
                            "unanswerable)",
               "held_out": {k: ({kk: vv for kk, vv in v.items() if kk != "reliability"} if isinstance(v, dict) else v)
                            for k, v in result.items() if k != "reliability"}}
        (ROOT / "qa" / "answer" / "calibration.json").write_text(json.dumps(out, indent=2) + "\n")
        print("wrote qa/answer/calibration.json", file=sys.stderr)


if __name__ == "__main__":
    main()
