"""Turn any user text into a safe FTS5 query: terms quoted and ORed, stop words dropped.

User text never reaches FTS5 syntax: every term is a double-quoted string, so quotes, `*`, `NEAR`,
`-`, `:` and parentheses are just characters. Stemming comes from the porter tokenizer.
"""
from __future__ import annotations

import re

MAX_TERMS = 64
_WORD = re.compile(r"\w+(?:['\u2019.]\w+)*", re.UNICODE)
STOP_WORDS = frozenset("""
a about above after again against all am an and any are aren't as at be because been before being
below between both but by can could did didn't do does doesn't doing don't down during each few for
from further had has have having he her here hers herself him himself his how i if in into is isn't
it it's its itself just let's me more most my myself no nor not now of off on once only or other
our ours ourselves out over own same she should so some such than that that's the their theirs them
themselves then there these they this those through to too under until up very was we were what
what's when where which while who whom why will with would you your yours yourself yourselves
tell say said says told according also did does do done one two many much new""".split())
# Words that carry meaning in questions even though they look like stop words in general text.
_KEEP = {"said", "says", "say", "told"}


# News copy spells out what questions abbreviate (and the other way round).
EXPANSIONS = {
    "ceo": ("chief", "executive"), "cfo": ("chief", "financial", "officer"), "coo": ("chief", "operating"),
    "cto": ("chief", "technology"), "gop": ("republican",), "ev": ("electric", "vehicle"),
    "evs": ("electric", "vehicles"), "ai": ("artificial", "intelligence"), "un": ("united", "nations"),
    "eu": ("european", "union"), "uk": ("britain", "british"), "us": ("united", "states"),
    "u.s": ("united", "states"), "fbi": ("bureau",), "pm": ("prime", "minister"),
}


def terms(text: str, keep_quote_verbs: bool = False) -> list[str]:
    """Lower-cased content terms in order, de-duplicated, common news abbreviations expanded."""
    out, seen = [], set()

    def add(w):
        if w not in seen and len(out) < MAX_TERMS:
            seen.add(w)
            out.append(w)

    for m in _WORD.finditer(text):
        w = m.group(0).lower().replace("\u2019", "'")
        if w == "us" and m.group(0) != "US":
            continue  # the pronoun "us", not the country
        if w in STOP_WORDS and w != "us" and not (keep_quote_verbs and w in _KEEP):
            continue
        add(w)
        for x in EXPANSIONS.get(w, ()):
            add(x)
    return out


def match_query(text: str) -> str | None:
    """FTS5 MATCH expression for the text (every term a quoted string), or None when nothing remains."""
    ts = terms(text)
    if not ts:
        return None
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in ts)  # same quoting as Store.lexical_search
