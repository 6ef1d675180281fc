"""The reader alone, without retrieval or calibration: does its no-answer margin separate questions its
passage answers from questions it does not, and does its best unit hold the answer?

    python bench/reader_signals.py [--weights shipped DIR ...] [--limit 800] [--heldout 800]

Per reader weights (the shipped ones, or a folder written by `python -m qa.answer.reader.train --out DIR`):
- SQuAD 2.0 dev, report half (paragraphs outside xquad-en; never trained on or fitted): each question
  with the passage holding its answer (or, unanswerable, its plausible wrong answer). AUC of the margin
  (best unit minus no-answer) and the share of unanswerable questions abstained at the margin that keeps
  false abstention at 0.10.
- The bundled samples' reader questions (tests/data/reader_questions.jsonl): every passage of the asked
  article is read; answerability = the highest margin, right sentence = the most probable unit holds the
  gold sentence. These 20 questions are also the product's test, so they are reported, never tuned on.
- With --heldout N: the training command's held-out scores (SQuAD train titles never trained on) per
  negative kind, on the same examples for every reader.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

from common import ROOT, SHARED, save, table

SQUAD2 = SHARED / "squad" / "dev-v2.0.json.gz"
XQUAD = SHARED / "xquad-en" / "xquad.en.json"


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(score of a random answerable > score of a random unanswerable), ties half."""
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    d = pos[:, None] - neg[None, :]
    return float(((d > 0).sum() + 0.5 * (d == 0).sum()) / d.size)


def abstained_at(pos: np.ndarray, neg: np.ndarray, false_abstention: float = 0.10) -> float:
    cut = np.quantile(pos, false_abstention)
    return float((neg < cut).mean())


def squad2_pairs(count, limit: int):
    """(question, title, passage, units, answerable) of the report half, a seeded sample."""
    from qa.answer.reader import squad

    out = [(e.question, e.title, e.text, list(e.units), e.kind != "squad2")
           for e in squad.squad2_examples(SQUAD2, XQUAD, count, "report", answerable=True)]
    random.Random(0).shuffle(out)
    return out[:limit]


def sample_passages(count):
    """{file name: (title, [(passage text, units)])} for the bundled samples, chunked as the library does."""
    from corpus.chunking import chunk_article
    from corpus.loaders import load_file
    from qa.answer.evidence import passage_units
    from qa.config import samples_dir
    from qa.library import TARGET_TOKENS

    out = {}
    for path in sorted(samples_dir().glob("*.md")):
        art = next(iter(load_file(path)))
        out[path.name] = (art.title, [(p.text, [(a - p.start, b - p.start) for a, b in passage_units(p)])
                                      for p in chunk_article(art, count, 250, TARGET_TOKENS)])
    return out


def measure(reader, pairs, samples, questions) -> dict:
    ok = []
    m = np.array([reader.read(q, [(t, text, units)])[0].margin for q, t, text, units, _ in pairs])
    y = np.array([p[4] for p in pairs])
    s_m, s_y = [], []
    for q in questions:
        title, rows = samples[q["article"]]
        reads = reader.read(q["question"], [(title, text, units) for text, units in rows])
        s_m.append(max(r.margin for r in reads))
        s_y.append(q["answerable"])
        if q["answerable"]:
            i = int(np.argmax([r.unit_probs.max() for r in reads]))
            a, z = rows[i][1][reads[i].best]
            ok.append(q["sentence"] in rows[i][0][a:z] or rows[i][0][a:z] in q["sentence"])
    s_m, s_y = np.array(s_m), np.array(s_y)
    return {"squad2_n": len(pairs), "squad2_auc": round(auc(m[y], m[~y]), 3),
            "squad2_abstained_at_fa_0.10": round(abstained_at(m[y], m[~y]), 3),
            "samples_auc": round(auc(s_m[s_y], s_m[~s_y]), 3),
            "samples_abstained_at_margin_0": f"{int((s_m[~s_y] < 0).sum())}/{int((~s_y).sum())}",
            "samples_answered_at_margin_0": f"{int((s_m[s_y] >= 0).sum())}/{int(s_y.sum())}",
            "samples_right_sentence": f"{sum(ok)}/{len(ok)}"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", nargs="+", default=["shipped"], help="'shipped' or folders with reader weights")
    ap.add_argument("--limit", type=int, default=800, help="SQuAD 2.0 report-half questions (seeded sample)")
    ap.add_argument("--heldout", type=int, default=0, help="also score N held-out SQuAD train questions per kind")
    args = ap.parse_args(argv)
    if not SQUAD2.is_file():
        sys.exit(f"skipped: {SQUAD2} not found (the shared data's squad folder)")
    from embeddings.bert import Tokenizer
    from qa.answer.reader import model
    from qa.answer.reader.read import Reader

    tok = Tokenizer(model.base_path())
    count = lambda s: len(tok(s, add_special_tokens=False)["input_ids"])  # noqa: E731
    pairs = squad2_pairs(count, args.limit)
    samples = sample_passages(count)
    questions = [json.loads(l) for l in (ROOT / "tests" / "data" / "reader_questions.jsonl").open()]
    held = None
    if args.heldout:
        from qa.answer.reader.train import heldout_examples

        held = heldout_examples(SHARED / "squad" / "train-v1.1.json.gz", count, args.heldout)
    rows = []
    for w in args.weights:
        reader = Reader(None if w == "shipped" else Path(w))
        row = {"weights": w, **measure(reader, pairs, samples, questions)}
        if held is not None:
            from qa.answer.reader.train import heldout_scores

            reader.ensure_loaded()
            row.update(heldout_scores(reader._net, tok, held, reader.precision == "bfloat16"))
        rows.append(row)
        print(json.dumps(row), flush=True)
    table(rows, list(rows[0]))
    save("reader_signals", {"readers": rows})


if __name__ == "__main__":
    main()
