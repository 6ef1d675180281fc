"""Bytes to clean text: UTF-8 decoding with clear refusals, NFC, paragraphs, and content ids."""
from __future__ import annotations

import hashlib
import re
import unicodedata

from .errors import LoadError
from .records import Article, Span

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_PARA_BREAK = re.compile(r"\n\s*\n")


def decode(data: bytes, source: str) -> str:
    """UTF-8 (BOM allowed) to NFC text; binary or undecodable bytes raise LoadError naming the file."""
    if b"\x00" in data[:8192]:
        raise LoadError(source, "looks like a binary file (it contains NUL bytes), not text",
                        "Only text files (.txt, .md, .html, .jsonl) and PDFs can be indexed; remove it from the folder")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise LoadError(source, f"is not valid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start})",
                        "Re-save the file as UTF-8 (e.g. iconv -f cp1252 -t utf-8) and index it again") from None
    if len(_CONTROL.findall(text[:8192])) > 0.05 * max(1, len(text[:8192])):
        raise LoadError(source, "looks like a binary file (too many control characters)",
                        "Only text files and PDFs can be indexed; remove it from the folder")
    return normalize(text)


def normalize(text: str) -> str:
    """NFC, unified newlines, no control characters."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _CONTROL.sub("", text)


def clean_paragraph(p: str) -> str:
    """One paragraph on one line: internal runs of whitespace become a single space."""
    return _SPACES.sub(" ", " ".join(line.strip() for line in p.split("\n"))).strip()


def split_paragraphs(body: str) -> list[str]:
    paras = (clean_paragraph(p) for p in _PARA_BREAK.split(body))
    return [p for p in paras if p]


def content_id(text: str) -> str:
    """Stable id: hash of the NFC text with whitespace collapsed, so re-encodings are duplicates."""
    canon = " ".join(unicodedata.normalize("NFC", text).split())
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()[:16]


def make_article(paragraphs: list[str], source: str, title: str = "", authors=(), outlet=None,
                 date=None) -> Article:
    """Join cleaned paragraphs with blank lines; refuse an article with no text."""
    paragraphs = [clean_paragraph(normalize(p)) for p in paragraphs]
    paragraphs = [p for p in paragraphs if p]
    if not paragraphs:
        raise LoadError(source, "has no article text (it is empty or whitespace only)",
                        "Check the file has a body below its title; nothing was indexed from it")
    spans, pos = [], 0
    for p in paragraphs:
        spans.append(Span(pos, pos + len(p)))
        pos += len(p) + 2
    text = "\n\n".join(paragraphs)
    title = clean_paragraph(normalize(title or "")) or paragraphs[0][:80]
    authors = tuple(a for a in (clean_paragraph(normalize(x)) for x in authors) if a)
    return Article(id=content_id(text), title=title, text=text, paragraphs=tuple(spans),
                   authors=authors, outlet=(clean_paragraph(outlet) or None) if outlet else None,
                   date=date, source=source)


_AUTHOR_SPLIT = re.compile(r"\s*(?:,|;|&|\band\b)\s*")


def parse_authors(value) -> tuple[str, ...]:
    """'By Ann Lee and Bo Chen' or ['Ann Lee', ...] -> ('Ann Lee', 'Bo Chen')."""
    if not value:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v).strip() for v in value if str(v).strip())
    value = re.sub(r"^\s*by\s*:?\s+", "", str(value), flags=re.I)
    return tuple(a for a in _AUTHOR_SPLIT.split(value) if a)


def parse_date(value) -> str | None:
    """Leading YYYY-MM-DD of an ISO date or timestamp, else None."""
    import datetime as dt

    if not value:
        return None
    m = re.match(r"\s*(\d{4}-\d{2}-\d{2})", str(value))
    if not m:
        return None
    try:
        return dt.date.fromisoformat(m.group(1)).isoformat()
    except ValueError:
        return None
