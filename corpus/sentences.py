"""Rule-based sentence splitter that returns exact character spans.

Fast (regex, no model) and tuned for news copy: it does not break after titles and abbreviations
("Dr.", "Gov.", "Sen.", "St."), initialisms ("U.S.", "a.m.") unless a new sentence clearly starts,
single initials ("John F. Kennedy") or decimals ("$15.5 million").
"""
from __future__ import annotations

import re

from .records import Span

# Abbreviations that are (almost) never the end of a sentence.
_TITLES = {
    "mr", "mrs", "ms", "mx", "dr", "prof", "gov", "sen", "rep", "gen", "col", "lt", "sgt", "capt",
    "cmdr", "adm", "maj", "cpl", "pvt", "st", "ste", "mt", "ft", "fr", "rev", "hon", "pres", "supt",
    "jr", "sr", "messrs", "mme", "mlle", "insp", "det", "atty", "gov't", "no", "nos", "vol", "vols",
    "fig", "figs", "approx", "dept", "univ", "assn", "bros", "corp", "inc", "ltd", "co", "vs", "v",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "ave", "blvd", "rd", "hwy", "e.g", "i.e", "cf", "al", "etc", "est", "pp", "ed", "eds",
}
# After these, a following capitalised word starts a new sentence only if it is a common opener.
_SOFT = {"etc", "inc", "ltd", "co", "corp", "bros", "jr", "sr", "al", "est"}
_OPENERS = {
    "the", "a", "an", "he", "she", "it", "they", "we", "i", "you", "his", "her", "its", "their",
    "our", "but", "and", "or", "so", "yet", "in", "on", "at", "for", "if", "when", "while", "after",
    "before", "this", "that", "these", "those", "there", "here", "then", "still", "also", "however",
    "officials", "some", "many", "most", "none", "both", "each", "no", "yes", "as", "by", "with",
    "from", "to", "what", "why", "how", "who", "where", "one", "two", "last", "next", "since",
}

_CANDIDATE = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s+)")
_NEXT_WORD = re.compile(r"\s+([\"'\u201c\u2018(\[]*)(\S+)")
_WORD_BEFORE = re.compile(r"(\S+)$")
_INITIALISM = re.compile(r"^(?:[A-Za-z]\.){2,}$")


def _is_boundary(text: str, match: re.Match) -> bool:
    nxt = _NEXT_WORD.match(text, match.end())
    if not nxt:
        return False
    opener, word = nxt.group(1), nxt.group(2)
    first = word[0]
    if not (first.isupper() or first.isdigit() or opener):
        return False
    punct = match.group(0)
    if punct[0] != ".":
        return True  # ! ? and ellipses followed by a capital end a sentence
    before = _WORD_BEFORE.search(text, 0, match.start())
    token = (before.group(1) if before else "") + "."
    bare = token.rstrip(".").lstrip("\"'\u201c\u2018([").lower()
    next_lower = word.strip("\"'\u201c\u2018,;:").lower()
    if _INITIALISM.match(token.lstrip("\"'\u201c\u2018([")):
        return next_lower in _OPENERS  # "U.S. Army" vs "in the U.S. The ..."
    if len(bare) == 1 and bare.isalpha():
        return False  # a single initial: "John F. Kennedy"
    if bare in _TITLES:
        return bare in _SOFT and next_lower in _OPENERS
    return True


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans of text[start:end], in order, trimmed of surrounding whitespace."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    cur = start
    for m in _CANDIDATE.finditer(text, start, end):
        if _is_boundary(text[:end], m):
            spans.append(Span(cur, m.end()))
            cur = m.end()
    spans.append(Span(cur, end))
    out = []
    for s in spans:
        a, b = s.start, s.end
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            out.append(Span(a, b))
    return out


def _unbalanced(s: str) -> int:
    """+1 when a quotation opens and does not close in s, -1 when it closes one opened earlier."""
    curly_open, curly_close = s.count("\u201c"), s.count("\u201d")
    if curly_open or curly_close:
        return (curly_open > curly_close) - (curly_close > curly_open)
    n = s.count('"')
    if n % 2 == 0:
        return 0
    return 1 if s.lstrip().startswith('"') or s.rfind('"') > len(s) / 2 else -1


def sentence_units(text: str, spans) -> list[Span]:
    """Answer units over sentence `spans` of `text`: a quotation running over up to three sentences
    stays in one unit, so a highlighted quote is never cut in half."""
    spans = [(s.start, s.end) for s in spans]
    out, i = [], 0
    while i < len(spans):
        j = i
        if _unbalanced(text[spans[i][0]:spans[i][1]]) == 1:
            for nxt in range(i + 1, min(i + 3, len(spans))):
                if _unbalanced(text[spans[nxt][0]:spans[nxt][1]]) == -1:
                    j = nxt
                    break
        out.append(Span(spans[i][0], spans[j][1]))
        i = j + 1
    return out
