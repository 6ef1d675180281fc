"""`article-qa eval`: score retrieval and answers on a benchmark, several modes side by side."""
from __future__ import annotations

import json
import sys

from corpus.errors import ArticleQAError

EPILOG = """examples:
  article-qa eval --format beir ../shared/data/beir-scifact/beir --split test --out eval-scifact
  article-qa eval --format squad ../shared/data/xquad-en/xquad.en.json --limit 200 --out eval-xquad
  article-qa eval --format mtrag ../shared/data/mtrag-un/reference.jsonl --split fiqa --turns all
  article-qa eval --format articles tests/data/news --questions tests/data/news_questions.jsonl

writes OUT/results.json, OUT/results.md, OUT/per_question.jsonl, OUT/metrics.png, OUT/latency.png.
The data set's library is built once and cached (see --cache); later runs and other modes reuse it."""


def register(sub):
    import argparse

    from ..evaluation.datasets import FORMATS

    p = sub.add_parser("eval", help="evaluate retrieval and answers on a benchmark (BEIR, SQuAD, MTRAG, articles)",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path", metavar="PATH", help="BEIR folder, SQuAD JSON, MTRAG JSONL, or a folder of articles")
    p.add_argument("--format", required=True, choices=FORMATS, help="data set format")
    p.add_argument("--split", help="BEIR qrels split (default test); MTRAG collection or all (default all)")
    p.add_argument("--modes", default="bm25,dense,hybrid", help="comma-separated modes (default bm25,dense,hybrid)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N questions (for quick runs)")
    p.add_argument("--max-docs", type=int, metavar="N",
                   help="shrink the corpus to the questions' gold documents plus others up to N (quick runs; "
                        "scores are then not comparable with published ones)")
    p.add_argument("--out", default="eval-results", metavar="DIR", help="output folder (default eval-results)")
    p.add_argument("--questions", metavar="FILE", help="--format articles: JSONL with question, article, answer")
    p.add_argument("-k", type=int, default=10, help="citations per answer (default 10)")
    p.add_argument("--depth", type=int, default=100, help="documents ranked per question for recall (default 100)")
    p.add_argument("--turns", choices=["last", "all"], default="last",
                   help="conversations: ask only the last user turn (default) or every turn in one conversation")
    p.add_argument("--cache", metavar="DIR", help="where data set libraries are cached "
                   "(default: the per-user cache folder, article-qa/eval); --library uses one folder instead")
    p.add_argument("--retrieval-only", action="store_true",
                   help="rank documents only (no answers: no span metrics; latency is encode + search)")
    p.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print results.json instead of the Markdown table")
    p.set_defaults(func=cmd_eval)


def cmd_eval(args) -> int:
    from pathlib import Path

    from ..config import make_encoder
    from ..evaluation.datasets import load_dataset
    from ..evaluation.report import markdown
    from ..evaluation.runner import run_eval
    from ..answer.retrieval import check_mode

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes:
        raise ArticleQAError("--modes is empty; give e.g. --modes bm25,dense,hybrid")
    for m in modes:
        check_mode(m)
    for name in ("limit", "max_docs", "k", "depth"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise ArticleQAError(f"--{name.replace('_', '-')} must be at least 1 (got {v})")
    if not Path(args.path).exists():
        raise ArticleQAError(f"{args.path} does not exist; give the data set's file or folder")
    dataset = load_dataset(args.format, args.path, args.split, args.questions).subset(args.limit, args.max_docs)
    if not dataset.items:
        raise ArticleQAError(f"{args.path} has no questions for split '{dataset.split}'")
    encoder = make_encoder(args.model, args.precision)
    results = run_eval(dataset, encoder, modes, args.out, k=args.k, depth=args.depth, cache_root=args.cache,
                       library=args.library, history=args.turns == "all", progress=not args.quiet,
                       charts=not args.no_charts, extra={"limit": args.limit, "max_docs": args.max_docs},
                       answers=not args.retrieval_only)
    print(json.dumps(results, indent=2) if args.json else markdown(results))
    print(f"wrote {Path(args.out) / 'results.json'}", file=sys.stderr)
    return 0
