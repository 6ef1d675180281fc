"""Sentence-aware chunking into passages that fit the encoder, with exact character offsets.

`count_tokens` is the encoder's own tokenizer (passed in, so this floor stays free of ML imports).
Passages group whole sentences, prefer paragraph boundaries, never exceed `max_tokens`; a sentence
longer than that is cut at word boundaries, and a single giant "word" at character boundaries.
"""
from __future__ import annotations

import re
from typing import Callable

from .records import Article, Passage, Span
from .sentences import split_sentences

TokenCounter = Callable[[str], int]
_WS = re.compile(r"\s+")


def _split_long(text: str, span: Span, limit: int, count: TokenCounter) -> list[Span]:
    """Cut an over-long span at whitespace (or characters) into pieces of <= limit tokens."""
    pieces, start = [], span.start
    while start < span.end:
        if count(text[start:span.end]) <= limit:
            pieces.append(Span(start, span.end))
            break
        cuts = [m.start() for m in _WS.finditer(text, start, span.end) if m.start() > start]
        lo, hi, best = 0, len(cuts) - 1, None
        while lo <= hi:  # largest whitespace cut that still fits
            mid = (lo + hi) // 2
            if count(text[start:cuts[mid]]) <= limit:
                best, lo = cuts[mid], mid + 1
            else:
                hi = mid - 1
        if best is None:  # one enormous word: cut by characters
            lo, hi, best = start + 1, span.end, start + 1
            while lo <= hi:
                mid = (lo + hi) // 2
                if count(text[start:mid]) <= limit:
                    best, lo = mid, mid + 1
                else:
                    hi = mid - 1
        pieces.append(Span(start, best))
        start = best
        while start < span.end and text[start].isspace():
            start += 1
    return pieces


def _units(article: Article, limit: int, count: TokenCounter):
    """(paragraph number, sentence span, tokens) for every sentence piece, in order."""
    for pno, para in enumerate(article.paragraphs):
        for sent in split_sentences(article.text, para.start, para.end):
            n = count(article.text[sent.start:sent.end])
            if n <= limit:
                yield pno, sent, n
            else:
                for piece in _split_long(article.text, sent, limit, count):
                    yield pno, piece, count(article.text[piece.start:piece.end])


def chunk_article(article: Article, count_tokens: TokenCounter, max_tokens: int,
                  target_tokens: int | None = None) -> list[Passage]:
    """Pack sentences into passages of about `target_tokens` (never more than `max_tokens`)."""
    if max_tokens < 8:
        raise ValueError(f"max_tokens={max_tokens} is too small to hold a sentence; use at least 8")
    target = min(target_tokens or max_tokens, max_tokens)
    passages: list[Passage] = []
    group: list[tuple[int, Span, int]] = []

    def flush():
        if not group:
            return
        start, end = group[0][1].start, group[-1][1].end
        passages.append(Passage(
            article_id=article.id, index=len(passages),
            paragraphs=tuple(sorted({u[0] for u in group})), start=start, end=end,
            text=article.text[start:end], sentences=tuple(u[1] for u in group)))
        group.clear()

    for unit in _units(article, max_tokens, count_tokens):
        if group:
            total = sum(u[2] for u in group) + unit[2]
            new_para = unit[0] != group[-1][0]
            # Start a new passage when over target; also at a paragraph break once the group is
            # substantial, so passages follow the article's own structure.
            if total > target or (new_para and sum(u[2] for u in group) >= target // 2):
                flush()
            elif total > max_tokens - 4 and count_tokens(
                    article.text[group[0][1].start:unit[1].end]) > max_tokens:
                flush()
        group.append(unit)
    flush()
    return passages
