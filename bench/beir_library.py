"""Build (once) a library of the BEIR SciFact corpus from ../shared/data, for tuning and evaluation.

Usage: python bench/beir_library.py [LIBRARY_DIR]   (default /tmp/article-qa-scifact)
Reads ../shared/data in place; nothing from it is written into the repository.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEIR = ROOT.parent / "shared" / "data" / "beir-scifact" / "beir"


def articles():
    from corpus.text import make_article

    with open(BEIR / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            yield make_article([d["text"]], f"corpus.jsonl#{d['_id']}", title=d.get("title", ""))


def queries(split: str):
    qs = {}
    with open(BEIR / "queries.jsonl", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            qs[d["_id"]] = d["text"]
    qrels: dict[str, dict[str, int]] = {}
    lines = (BEIR / "qrels" / f"{split}.tsv").read_text().splitlines()[1:]
    for line in lines:
        q, d, s = line.split("\t")
        qrels.setdefault(q, {})[d] = int(s)
    return {q: qs[q] for q in qrels}, qrels


def build(folder: str):
    from qa import Library
    from qa.config import make_encoder

    lib = Library(folder, make_encoder())
    if len(lib) < 5183:  # resumes an interrupted build: committed articles are skipped, not re-embedded
        report = lib.add(articles(), progress=True)
        print(f"added {len(report.added)} articles, {report.passages} passages", file=sys.stderr)
    return lib


if __name__ == "__main__":
    if not BEIR.exists():
        sys.exit(f"{BEIR} is not present; nothing to build")
    build(sys.argv[1] if len(sys.argv) > 1 else "/tmp/article-qa-scifact")
