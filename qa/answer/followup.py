"""Deterministic follow-up resolution: pronouns and ellipsis filled in from earlier turns, never an LLM.

"What did he say next?" after a turn about Mayor Dennis Okafor becomes "What did Dennis Okafor say
next?"; "And what about that?" gets the earlier topic appended. Self-contained questions pass through.
"""
from __future__ import annotations

import re

from ..store.fts import STOP_WORDS

PERSON = {"he": None, "him": None, "his": "'s", "she": None, "her": None, "hers": "'s"}
THING = {"it", "its", "that", "this", "those", "these", "they", "them", "their", "there", "then"}
ELLIPSIS = re.compile(r"^\s*(and|also|what about|how about|and what about|or|but)\b", re.I)
_NAME = re.compile(r"\b(?:[A-Z][\w\u00C0-\u024F'\u2019-]*\.?)(?:\s+(?:[A-Z][\w\u00C0-\u024F'\u2019-]*\.?|de|del|la|van|von|bin|al))*")
_TITLES = re.compile(r"^(Mr|Mrs|Ms|Dr|Gov|Sen|Rep|Mayor|President|Prof|Judge|Chief|Gen|Minister|Secretary)\.?\s+")
_NOT_NAMES = {"the", "a", "an", "in", "on", "at", "but", "and", "what", "who", "when", "where", "why", "how",
              "which", "did", "does", "do", "is", "was", "were", "are", "he", "she", "it", "they", "we", "i", "if",
              "as", "after", "before", "for", "this", "that", "there", "those", "these", "his", "her", "their"}
_ATTRIB = re.compile(r"\b(said|says|told|according to|warned|added|argued)\s+(?:the\s+)?$", re.I)


def names(text: str) -> list[str]:
    """Capitalised name-like spans, in order (sentence-initial function words dropped)."""
    out = []
    for m in _NAME.finditer(text):
        words = m.group(0).split()
        while words and words[0].lower().strip(".") in _NOT_NAMES:
            words = words[1:]
        if words:
            out.append(" ".join(words))
    return out


def person_in(text: str) -> str | None:
    """The most likely person named in text: an attributed speaker, a titled name, else a two-word name."""
    best = None
    for m in _NAME.finditer(text):
        cand = " ".join(w for w in m.group(0).split() if w.lower() not in _NOT_NAMES)
        if not cand:
            continue
        bare = _TITLES.sub("", cand)
        if len(bare.split()) > 2:  # "Venezuelan President Nicolás Maduro" -> "Nicolás Maduro"
            bare = " ".join(bare.split()[-2:])
        if _ATTRIB.search(text[:m.start()]) or _TITLES.match(cand):
            if len(bare.split()) >= 1 and bare[:1].isupper():
                return bare
        if best is None and len(bare.split()) >= 2 and not bare.isupper():
            best = bare
    return best


def _words(q: str) -> list[str]:
    return re.findall(r"[\w'\u2019]+", q.lower())


def needs_context(question: str) -> bool:
    ws = _words(question)
    if any(w in PERSON or w in THING for w in ws) or ELLIPSIS.match(question):
        return True
    content = [w for w in ws if w not in STOP_WORDS]
    return len(content) <= 1  # "Why?", "And then?"


def topic(previous_query: str) -> str:
    """Content words of the previous query, original casing kept, pronouns removed."""
    ws = re.findall(r"[\w'\u2019.-]+", previous_query)
    keep = [w if w.count(".") > 1 else w.strip(".") for w in ws if w.lower().strip(".") not in STOP_WORDS and w.lower() not in PERSON
            and w.lower() not in THING and w.lower() not in {"what", "who", "why", "how", "when", "where", "which"}]
    return " ".join(keep)


FOCUS_SEP = "; "


def evidence_text(query: str) -> str:
    """The resolved query without the focus article's title: titles pull every answer to the lead."""
    if query.endswith(")") and FOCUS_SEP in query:
        return query[:query.rindex(FOCUS_SEP)] + ")"
    return query


def resolve(question: str, turns: list) -> str:
    """The self-contained query for `question` given earlier (question, Answer) turns."""
    if not turns or not needs_context(question):
        return question
    prev_q, prev = turns[-1]
    prev_query = prev.searched_for or prev_q
    person = None
    for text in (prev.highlight.text if prev.highlight else "", prev_query, prev.answer or ""):
        person = person_in(text)
        if person:
            break
    out = question
    replaced = False
    if person:
        def sub(m):
            nonlocal replaced
            w = m.group(0)
            suffix = PERSON[w.lower()]
            if replaced:
                return w
            replaced = True
            return person + (suffix or "")
        out = re.sub(r"\b(he|him|his|she|her|hers)\b", sub, out, flags=re.I)
    rest = [w for w in _words(question) if w in THING] or ELLIPSIS.match(question) or not replaced
    if rest:
        context = topic(prev_query)
        focus = prev.citations[0].title if prev.citations else (prev.closest[0].title if prev.closest else "")
        if focus and focus.lower() not in context.lower():
            context = f"{context}{FOCUS_SEP}{focus}" if context else focus  # the article in focus names the topic
        if context and context.lower() not in out.lower():
            out = f"{out} ({context})"
    return out
