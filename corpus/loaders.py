"""File loaders chosen by extension; folders are walked recursively in a stable order."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Iterable, Iterator, Union

from .errors import LoadError, UnsafeURLError
from .records import Article, LoadFailure
from .text import decode, make_article, parse_authors, parse_date, split_paragraphs
from .url import MAX_BYTES, TEXT_TYPES, TIMEOUT, fetch_text, is_url

LOADERS = {}
MAX_FILE_BYTES = 50 * 1024 * 1024


def loader(*exts):
    def register(fn):
        for e in exts:
            LOADERS[e] = fn
        return fn
    return register


@loader(".txt")
def load_txt(data: bytes, source: str) -> Iterator[Article]:
    text = decode(data, source)
    first, _, rest = text.strip().partition("\n")
    yield make_article(split_paragraphs(rest) or [first], source, title=first if rest.strip() else "")


_MD_HEADER = re.compile(r"^\s*(by|author|authors|outlet|source|publication|date|published)\s*:\s*(.*)$", re.I)


@loader(".md", ".markdown")
def load_md(data: bytes, source: str) -> Iterator[Article]:
    lines = decode(data, source).strip().split("\n")
    title, meta, i = "", {}, 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i < len(lines) and lines[i].lstrip().startswith("#"):
        title = lines[i].lstrip().lstrip("#").strip()
        i += 1
    while i < len(lines):
        line = lines[i]
        m = _MD_HEADER.match(line)
        if m:
            meta[m.group(1).lower()] = m.group(2).strip()
        elif line.strip():
            break
        i += 1
    body = "\n".join(lines[i:])
    yield make_article(
        split_paragraphs(body), source, title=title,
        authors=parse_authors(meta.get("by") or meta.get("author") or meta.get("authors")),
        outlet=meta.get("outlet") or meta.get("source") or meta.get("publication"),
        date=parse_date(meta.get("date") or meta.get("published")),
    )


@loader(".jsonl")
def load_jsonl(data: bytes, source: str) -> Iterator[Union[Article, LoadFailure]]:
    yield from jsonl_records(data.split(b"\n"), source)


def jsonl_records(lines: Iterable[bytes], source: str) -> Iterator[Union[Article, LoadFailure]]:
    """One article per line; lines are decoded one at a time so a huge file streams in bounded memory."""
    name = os.path.basename(source)
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{source} line {lineno}"
        try:
            line = decode(raw[3:] if lineno == 1 and raw.startswith(b"\xef\xbb\xbf") else raw, where)
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise LoadError(where, "is not a JSON object", 'Write one object per line: {"title": ..., "text": ...}')
            text = rec.get("text")
            if not isinstance(text, str) or not text.strip():
                raise LoadError(where, "has no non-empty 'text' field", "Add the article body as a 'text' string")
            rid = rec.get("id", rec.get("_id"))
            src = rec.get("url") or (f"{name}#{rid}" if rid not in (None, "") else f"{name}#{lineno}")
            yield make_article(
                split_paragraphs(text), str(src), title=str(rec.get("title") or ""),
                authors=parse_authors(rec.get("authors") or rec.get("author")),
                outlet=rec.get("outlet"), date=parse_date(rec.get("date")),
            )
        except json.JSONDecodeError as e:
            yield LoadFailure(where, f"is not valid JSON ({e.msg} at column {e.colno}); fix that line")
        except LoadError as e:
            yield LoadFailure(e.source, f"{e.problem}. {e.fix}")


@loader(".html", ".htm")
def load_html(data: bytes, source: str) -> Iterator[Article]:
    from .html import extract_html

    yield extract_html(decode(data, source), source)


@loader(".pdf")
def load_pdf(data: bytes, source: str) -> Iterator[Article]:
    from .pdf import extract_pdf

    yield extract_pdf(data, source)


def iter_files(paths: Iterable[Union[str, Path]]) -> Iterator[Union[Path, str]]:
    """Files under the given paths (folders recursively, hidden entries skipped), sorted per folder.

    URL strings ('https://...', any 'scheme://') are passed through unchanged: Path() would mangle them."""
    for p in paths:
        if is_url(p):
            yield p
            continue
        p = Path(p)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for f in sorted(files):
                    if not f.startswith(".") and Path(f).suffix.lower() in LOADERS:
                        yield Path(root) / f
        else:
            yield p


def load_file(path: Union[str, Path], source: str | None = None) -> Iterator[Union[Article, LoadFailure]]:
    """Articles from one file; any problem becomes a LoadFailure naming the file, never an exception."""
    path = Path(path)
    source = source or str(path)
    ext = path.suffix.lower()
    if ext not in LOADERS:
        yield LoadFailure(source, f"unsupported file type '{ext or '(none)'}'; expected one of "
                                  f"{', '.join(sorted(LOADERS))}")
        return
    try:
        if not path.is_file():
            raise LoadError(source, "does not exist or is not a file", "Check the path")
        if ext == ".jsonl":  # streamed line by line: no size cap
            with open(path, "rb") as f:
                yield from jsonl_records(f, source)
            return
        if path.stat().st_size > MAX_FILE_BYTES:
            raise LoadError(source, f"is larger than {MAX_FILE_BYTES // 2**20} MB", "Split it into smaller files")
        data = path.read_bytes()
        yield from LOADERS[ext](data, source)
    except LoadError as e:
        yield LoadFailure(e.source, f"{e.problem}. {e.fix}")
    except OSError as e:
        yield LoadFailure(source, f"could not be read ({e.strerror}); check permissions")


def load_paths(paths: Iterable[Union[str, Path]]) -> Iterator[Union[Article, LoadFailure]]:
    """Articles from files, folders and http(s) URLs (see corpus.url for what a URL may point at)."""
    for f in iter_files(paths):
        yield from (load_url(f) if is_url(f) else load_file(f))


def count_articles(paths: Iterable[Union[str, Path]]) -> int:
    """How many articles load_paths will yield, at most (one per file or URL, one per non-empty .jsonl line),
    without parsing anything: the total of the indexing progress bar."""
    n = 0
    for f in iter_files(paths):
        if not is_url(f) and Path(f).suffix.lower() == ".jsonl":
            try:
                with open(f, "rb") as fh:
                    n += sum(1 for line in fh if line.strip())
            except OSError:
                n += 1
        else:
            n += 1
    return n


def load_url(url: str, allow_loopback: bool = False, timeout=TIMEOUT,
             max_bytes: int = MAX_BYTES) -> Iterator[Union[Article, LoadFailure]]:
    """The article on one web page, or a LoadFailure saying why not (never raises)."""
    try:
        data, mime, final = fetch_text(url, allow_loopback, timeout, max_bytes)
        yield from (load_txt if mime in TEXT_TYPES else load_html)(data, final)
    except UnsafeURLError as e:
        yield LoadFailure(url, str(e).removeprefix(f"{url}: "))
    except LoadError as e:
        yield LoadFailure(e.source, f"{e.problem}. {e.fix}")
