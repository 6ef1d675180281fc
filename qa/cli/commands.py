"""The article-qa command line. Every UI action is also a verb here."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from corpus.errors import ArticleQAError

from . import evaluate, maint, serve, users
from . import formatting as fmt

EPILOG = """examples:
  article-qa ask "What did the U.S. offer Maduro?"        (first run indexes the sample articles)
  article-qa index ~/articles --library ~/qa-library
  article-qa ask "Who won the election?" --library ~/qa-library --json
  article-qa show ARTICLE_ID

environment: ARTICLE_QA_LIBRARY (library folder), ARTICLE_QA_MODEL (model name or folder),
ARTICLE_QA_PRECISION (auto, float32, bfloat16)"""


# Verb modules with a `register(subparsers)` function; each adds its own verbs.
EXTENSIONS = (serve, evaluate, maint, users)


def _common(p: argparse.ArgumentParser):
    p.add_argument("--library", metavar="DIR", help="library folder (default: $ARTICLE_QA_LIBRARY or a per-user data folder)")
    p.add_argument("--model", metavar="NAME_OR_PATH", help="sentence-transformers model (default: the bundled all-MiniLM-L6-v2)")
    p.add_argument("--precision", choices=["auto", "float32", "bfloat16"], help="inference precision (default: auto)")


def _open(args, **kw):
    from ..config import open_library

    return open_library(args.library, args.model, args.precision, progress=sys.stderr.isatty(), **kw)


def _filters(args):
    from ..answer.filters import Filters

    return Filters(outlets=tuple(args.outlet or ()), authors=tuple(args.author or ()), since=args.since,
                   until=args.until, article_ids=tuple(args.article or ()))


def cmd_index(args) -> int:
    import os

    from corpus.url import is_url

    if args.devices:
        os.environ["ARTICLE_QA_DEVICES"] = args.devices
    lib = _open(args, seed_samples=False)
    for p in args.paths:
        if is_url(p) and not str(p).lower().startswith(("http://", "https://")):
            print(f"error: {p}: only http:// and https:// addresses can be indexed; download other files "
                  "and index them from disk", file=sys.stderr)
            return 2
        if not is_url(p) and not Path(p).exists():
            print(f"error: {p} does not exist; give a file or folder of articles", file=sys.stderr)
            return 2
    report = lib.add_paths(args.paths, progress=not args.quiet, batch_passages=args.batch)
    lib.close()
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(f"added {len(report.added)} article(s) ({report.passages} passages), "
              f"{len(report.duplicates)} duplicate(s) skipped, {len(report.failed)} failed")
        for src, aid in report.duplicates:
            print(f"  duplicate: {src} (already in the library as {aid})")
        for src, reason in report.failed:
            print(f"  failed: {src}: {reason}")
    return 1 if report.failed and not report.added and not report.duplicates else 0


def _read_questions(path: str):
    """(question, conversation id) pairs from a text file (one per line) or JSONL with 'question'."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text("utf-8")
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise ArticleQAError(f"{path} line {lineno}: invalid JSON ({e.msg}); write one object per line "
                                     'like {"question": "..."}') from None
            if not isinstance(rec.get("question"), str):
                raise ArticleQAError(f'{path} line {lineno}: no "question" string; add one')
            yield rec["question"], rec.get("conversation"), rec
        else:
            yield line.strip(), None, None


def cmd_ask(args) -> int:
    lib = _open(args)
    filters = _filters(args)
    if args.questions:
        from ..answer.conversation import answer_lines

        for out in answer_lines(lib, _read_questions(args.questions), k=args.k, mode=args.mode, filters=filters):
            print(json.dumps(out, ensure_ascii=False), flush=True)
        return 0
    if not args.question:
        print('error: give a question, e.g. article-qa ask "Who won?", or --questions FILE', file=sys.stderr)
        return 2
    answer = lib.ask(" ".join(args.question), k=args.k, mode=args.mode, filters=filters)
    print(json.dumps(answer.to_json(), ensure_ascii=False, indent=None if args.compact else 2)
          if args.json else fmt.answer_text(answer, sys.stdout.isatty()))
    return 0


CHAT_HELP = "Type a question; follow-ups may say 'he' or 'that'. Commands: /new (forget the conversation), /quit."


def cmd_chat(args) -> int:
    from ..answer.conversation import Conversation

    lib = _open(args)
    conv = Conversation(lib)
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"article-qa chat: {len(lib)} article(s) in {lib.location}. {CHAT_HELP}")
    while True:
        try:
            line = input("you> " if interactive else "")
        except EOFError:
            break
        line = line.strip()
        if not line:
            continue
        if line in ("/quit", "/exit", "/q"):
            break
        if line in ("/new", "/reset"):
            conv.reset()
            print("(new conversation)")
            continue
        try:
            answer = conv.ask(line, k=args.k, mode=args.mode)
        except ArticleQAError as e:
            print(f"error: {e}")
            continue
        print(json.dumps(answer.to_json(), ensure_ascii=False) if args.json else fmt.answer_text(answer, sys.stdout.isatty()), flush=True)
        if not args.json:
            print()
    return 0


def cmd_show(args) -> int:
    lib = _open(args, seed_samples=False)
    a = lib.get(args.article_id)
    print(json.dumps(a.to_json(), ensure_ascii=False, indent=2) if args.json else fmt.article_text(a))
    return 0


def cmd_list(args) -> int:
    lib = _open(args)
    rows = lib.list(limit=args.limit, query=args.search)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for r in rows:
            dup = f"  (copy of {r['duplicate_of']})" if r["duplicate_of"] else ""
            print(f"{r['id']}  {r['date'] or '----------'}  {(r['outlet'] or '')[:22]:22}  {r['title'][:70]}{dup}")
        print(f"{len(rows)} article(s)", file=sys.stderr)
    return 0


def cmd_stats(args) -> int:
    lib = _open(args, seed_samples=False)
    s = lib.stats()
    print(json.dumps(s, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in s.items()))
    return 0


def cmd_remove(args) -> int:
    lib = _open(args, seed_samples=False)
    a = lib.remove(args.article_id)
    print(f"removed {a.id}: {a.title}")
    return 0


def cmd_reindex(args) -> int:
    lib = _open(args, seed_samples=False, check_model=False)
    old = lib.model_id
    report = lib.reindex(progress=sys.stderr.isatty())
    print(f"re-embedded {len(report.added)} article(s), {report.passages} passages: {old} -> {lib.model_id}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from ..answer.retrieval import MODES

    ap = argparse.ArgumentParser(prog="article-qa", description="Ask questions of your own articles; answers cite "
                                 "exact passages.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("index", help="add files, folders or URLs to the library")
    p.add_argument("paths", nargs="+", metavar="PATH", help="file, folder (recursive) or http(s) URL")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--batch", type=int, default=None, metavar="N",
                   help="passages encoded and committed together (default 256; larger for bulk loads on a GPU)")
    p.add_argument("--devices", metavar="LIST", help="encode on these devices in parallel, e.g. cuda:0,cuda:1")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="ask a question; prints the answer with citations")
    p.add_argument("question", nargs="*", help="the question")
    p.add_argument("-k", type=int, default=5, help="number of citations (default 5)")
    p.add_argument("--mode", choices=MODES, default="hybrid", help="retrieval mode (default hybrid)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON (schema in the README)")
    p.add_argument("--compact", action="store_true", help="with --json: one line")
    p.add_argument("--questions", metavar="FILE", help="answer one question per line (text or JSONL); prints JSONL")
    p.add_argument("--outlet", action="append", help="only articles from this outlet (repeatable)")
    p.add_argument("--author", action="append", help="only articles by this author (repeatable)")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="only articles dated on or after this day")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="only articles dated on or before this day")
    p.add_argument("--article", action="append", metavar="ID", help="only this article (repeatable)")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="interactive chat in the terminal; follow-up questions use earlier turns")
    p.add_argument("-k", type=int, default=5, help="number of citations (default 5)")
    p.add_argument("--mode", choices=MODES, default="hybrid", help="retrieval mode (default hybrid)")
    p.add_argument("--json", action="store_true", help="one JSON answer per line")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("show", help="print one article with its text (the text citation offsets refer to)")
    p.add_argument("article_id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("list", help="list the articles in the library")
    p.add_argument("--search", metavar="TEXT", help="only titles, outlets, authors or ids containing TEXT")
    p.add_argument("--limit", type=int, help="at most this many")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("stats", help="counts, model and index facts")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("remove", help="remove an article (its passages and vectors too)")
    p.add_argument("article_id")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("reindex", help="re-embed all stored articles with the configured model")
    p.set_defaults(func=cmd_reindex)

    for mod in EXTENSIONS:  # verbs that live in their own modules: register(sub) adds subparsers
        mod.register(sub)
    for name, sp in sub.choices.items():
        _common(sp)
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except ArticleQAError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; everything confirmed so far is saved", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
