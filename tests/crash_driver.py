"""Subprocess driver for the crash tests: indexes a folder, printing CONFIRMED <id> after each commit.

    python -m tests.crash_driver LIBRARY FOLDER [--real] [--group N]      (run with cwd = the repo root)

It prints READY once the encoder and library are open, CONFIRMED <article id> (flushed) for every
article whose transaction has committed, and DONE after the library is closed. The crash test
SIGKILLs it at a random moment and then checks that every confirmed article survived whole.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("library")
    ap.add_argument("folder")
    ap.add_argument("--real", action="store_true", help="use the configured real model instead of FakeEncoder")
    ap.add_argument("--group", type=int, default=10, help="articles per add() call (each ends with a cache save)")
    args = ap.parse_args(argv)

    from qa import Library

    if args.real:
        from qa.config import make_encoder

        enc = make_encoder()
        enc.dim  # load the model before READY so kill times fall inside indexing
    else:
        from tests.conftest import FakeEncoder

        enc = FakeEncoder()
    lib = Library(args.library, enc)
    lib.index  # load (or rebuild) the cache before READY too
    files = sorted(Path(args.folder).glob("*.md"))
    print("READY", flush=True)

    def confirmed(article_id, title):
        sys.stdout.write(f"CONFIRMED {article_id}\n")
        sys.stdout.flush()

    for i in range(0, len(files), args.group):
        lib.add_paths(files[i:i + args.group], on_article=confirmed)
    lib.close()
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
