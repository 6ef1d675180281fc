"""Deterministic follow-up resolution: pronouns and ellipsis filled in from earlier turns, never an LLM.

"What did he say next?" after a turn about Mayor Dennis Okafor becomes "What did Dennis Okafor say
next?"; "And what about that?" gets the earlier topic appended. A turn that names nothing of its own
("Did anyone die?") is searched inside the article in focus first; "the other bank" becomes the bank
the earlier turns named but the last answer did not cite, searched outside the article in focus.
Self-contained questions pass through.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..store.fts import STOP_WORDS, terms
from .filters import Filters

PERSON = {"he": None, "him": None, "his": "'s", "she": None, "her": None, "hers": "'s"}
THING = {"it", "its", "that", "this", "those", "these", "they", "them", "their", "there", "then"}
ELLIPSIS = re.compile(r"^\s*(and|also|what about|how about|and what about|or|but)\b", re.I)
_NAME = re.compile(r"\b(?:[A-Z][\w\u00C0-\u024F'\u2019-]*\.?)(?:\s+(?:[A-Z][\w\u00C0-\u024F'\u2019-]*\.?|de|del|la|van|von|bin|al))*")
_TITLES = re.compile(r"^(Mr|Mrs|Ms|Dr|Gov|Sen|Rep|Mayor|President|Prof|Judge|Chief|Gen|Minister|Secretary)\.?\s+")
_NOT_NAMES = {"the", "a", "an", "in", "on", "at", "but", "and", "what", "who", "when", "where", "why", "how",
              "which", "did", "does", "do", "is", "was", "were", "are", "he", "she", "it", "they", "we", "i", "if",
              "as", "after", "before", "for", "this", "that", "there", "those", "these", "his", "her", "their"}
_ATTRIB = re.compile(r"\b(said|says|told|according to|warned|added|argued)\s+(?:the\s+)?$", re.I)


def names(text: str, pattern: re.Pattern = _NAME) -> list[str]:
    """Capitalised name-like spans, in order (sentence-initial function words and trailing joiners dropped)."""
    out = []
    for m in pattern.finditer(text or ""):
        words = m.group(0).split()
        while words and words[0].lower().strip(".") in _NOT_NAMES:
            words = words[1:]
        while words and words[-1].lower() in ("of", "for", "and", "de", "la"):
            words = words[:-1]
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
    prev_query = strip_note(prev.searched_for) or prev_q
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


# Nouns that point back at the story instead of naming something new ("How did the company respond?").
GENERIC = {"anyone", "anybody", "someone", "somebody", "everyone", "everybody", "anything", "something", "people",
           "person", "company", "firm", "city", "town", "country", "state", "government", "official", "officials",
           "authorities", "police", "group", "team", "thing", "things", "time", "times", "story", "article",
           "report", "situation", "plan", "deal", "place", "area", "event", "incident", "case", "happen",
           "happened", "next", "now", "today", "still", "else", "anyone's", "one", "ones", "way", "result",
           "reason", "need", "say", "said", "think", "know", "get", "got", "make", "made", "take", "took", "end",
           "ended", "respond", "response", "react", "reaction", "happen", "cause", "caused", "mean"}
OTHER = re.compile(r"\b(?:the\s+)?(?:other|second|another)\s+((?:[a-z][\w-]*\s+)?[a-z][\w-]*)", re.I)
WHAT_ABOUT = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\s+(?:the\s+)?(.+?)\s*\??\s*$", re.I)
_ENTITY = re.compile(r"\b[A-Z][\w\u00C0-\u024F'\u2019-]*(?:\s+(?:of|for|de|del|la|van|von|and)?\s*"
                     r"[A-Z][\w\u00C0-\u024F'\u2019-]*)*")
MAX_OWN_TERMS = 3  # content words a follow-up may carry and still count as "about the story in focus"


def clean(question: str) -> str:
    return " ".join(str(question).split())


NOTES = (" [in the article in focus: ", " [outside the article in focus: ", " [preferring ")


def strip_note(searched_for: str) -> str:
    """The searched query without the trailing "[in the article in focus: ...]" note `ask` adds (titles
    inside the note may hold brackets of their own)."""
    text = searched_for or ""
    at = max(text.rfind(n) for n in NOTES)
    return text[:at] if at >= 0 and text.endswith("]") else text


def own_names(question: str) -> list[str]:
    """Names the question itself carries (its capitalised first word is not a name)."""
    body = re.sub(r"^\W*\w[\w'\u2019]*", "", question.strip(), count=1)
    return [n for n in names(body) if n.lower() not in STOP_WORDS]


def content_free(question: str) -> bool:
    """A follow-up that names nothing new: no names of its own and at most a few specific words."""
    if own_names(question) or OTHER.search(question):
        return False
    specific = [t for t in terms(question)
                if not ({t, t.rstrip("s"), re.sub(r"(ed|ing)$", "", t)} & (GENERIC | set(PERSON) | THING))]
    return len(specific) <= MAX_OWN_TERMS


def entities(text: str) -> list[str]:
    """Multi-word capitalised names in order, joined by "of"/"for"/"and" ("Bank of Valdoria")."""
    return names(text, _ENTITY)


def _same_word(a: str, b: str) -> bool:
    a, b = a.lower().strip(".,'\u2019"), b.lower().strip(".,'\u2019")
    return a == b or a.rstrip("s") == b.rstrip("s")


def the_other(noun: str, turns: list) -> tuple[str, str, str] | None:
    """(the X named earlier but not asked about last, the name it replaces, X) for "the other X"; `noun`
    is one or two words after "other" ("bank", "central bank", "bank decide")."""
    prev_q, prev = turns[-1]
    texts = [prev.answer or "", *(c.text for c in prev.citations), *(c.text for c in prev.closest)]
    texts += [t for q, a in reversed(turns[:-1]) for t in (q, a.answer or "")]
    for head in dict.fromkeys(reversed(noun.split())):
        asked = [e for e in entities(strip_note(prev.searched_for) or prev_q)
                 if any(_same_word(w, head) for w in e.split())]
        for text in texts:
            for e in entities(text):
                if any(_same_word(w, head) for w in e.split()) and not any(
                        e.lower() in a.lower() or a.lower() in e.lower() for a in asked):
                    return e, (asked[0] if asked else ""), head
    return None


@dataclass(frozen=True)
class Try:
    """One search of a turn: the query, filters narrowing it (None: the whole library), and the note
    `searched_for` gets when this try answers."""

    query: str
    filters: Filters | None = None
    note: str = ""
    supported: bool = False  # answer when a sentence supports it (SUPPORT_MIN), even below the confidence bar


def focus_of(turns: list) -> tuple[tuple[str, ...], str]:
    """(article ids, title) of the article the previous answer was drawn from."""
    if not turns:
        return (), ""
    prev = turns[-1][1]
    if prev.highlight is not None:
        c = prev.citations[prev.highlight.citation - 1]
        return (c.article_id,), c.title
    return ((prev.closest[0].article_id,), prev.closest[0].title) if prev.closest else ((), "")


def plan(question: str, turns: list) -> list[Try]:
    """The searches for a turn, in order: the first that finds an answer is used, the last is the plain one."""
    if not turns:
        return [Try(question)]
    ids, title = focus_of(turns)
    prev_q, prev = turns[-1]
    prev_query = strip_note(prev.searched_for) or prev_q
    other, about = OTHER.search(question), WHAT_ABOUT.match(question)
    new = None
    if other:
        new, old, head = the_other(other.group(1), turns) or (None, "", "")
        short = len(_words(question)) <= 6 and (about or question.strip().lower().startswith("and "))
        end = other.start(1) + other.group(1).lower().rfind(head.lower()) + len(head) if new else 0
    elif about and [n for n in names(about.group(1)) if n.lower() not in STOP_WORDS]:
        new, old, short = about.group(1).strip(), (entities(prev_query) or [""])[0], True
    if new:
        if short and old and old in prev_query:
            query = prev_query.replace(old, new)  # the earlier question, about the other one
        elif short:
            query = f"{new} {topic(prev_query)}"
        else:
            query = question[:other.start()] + f"the {new}" + question[end:]
        outside = Filters(exclude_ids=ids) if ids else None
        return [Try(query, outside, f"outside the article in focus: {title}"), Try(query)]
    query = resolve(question, turns)
    if ids and content_free(question):
        inside = Filters(article_ids=ids)
        # Widened, the turn is searched as before (mtrag-un: adding the earlier topic to every such turn
        # cost more topic switches than it won).
        # In the article the user is reading, a sentence that supports the answer is enough ("No injuries
        # were reported." for "Did anyone get hurt?"); the confidence bar is for questions at large.
        return [Try(evidence_text(query), inside, f"in the article in focus: {title}", supported=True), Try(query)]
    return [Try(query)]
