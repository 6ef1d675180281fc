"""A question that names where its answer was published prefers those articles: "according to the
Overland Wire Service" (an outlet), "Teresa Vance reported" (an author), "in Friday's story" or "the
November 9 article" (a publication day). Among near-copies of a wire story, that copy is cited."""
from __future__ import annotations

import datetime as dt
import re

from .filters import Filters

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
PIECES = "story|article|report|piece|edition|paper|coverage|account|version"
PIECE = rf"(?:{PIECES})"
_WEEKDAY = re.compile(rf"\b({'|'.join(WEEKDAYS)})(?:'s|\u2019s)?\s+{PIECE}\b", re.I)
_DAY = re.compile(rf"\b({'|'.join(MONTHS)})\s+(\d{{1,2}})(?:,?\s+(\d{{4}}))?(?:'s|\u2019s)?\s+{PIECE}\b"
                  rf"|\b(\d{{4}}-\d{{2}}-\d{{2}})\b", re.I)
_BY = r"(?:by|according to|reported by|written by|from)\s+"
MIN_NAME = 4  # shorter outlet names ("AP") are too easy to find inside other words


def _core(outlet: str) -> str:
    return re.sub(r"^the\s+", "", outlet.strip(), flags=re.I).lower()


def _has(text: str, phrase: str) -> bool:
    return phrase in text and re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text) is not None


def _dates_named(q: str, dates: dict) -> tuple[tuple[str, ...], str]:
    m = _WEEKDAY.search(q)
    if m:
        day = WEEKDAYS.index(m.group(1).lower())
        ids = tuple(i for i, d in dates.items() if _weekday(d) == day)
        return ids, f"{m.group(1).capitalize()}'s articles"
    m = _DAY.search(q)
    if m:
        if m.group(4):
            iso = m.group(4)
            return tuple(i for i, d in dates.items() if d == iso), iso
        month, day = MONTHS.index(m.group(1).lower()) + 1, int(m.group(2))
        ids = tuple(i for i, d in dates.items() if d[5:] == f"{month:02d}-{day:02d}" and (not m.group(3) or d[:4] == m.group(3)))
        return ids, f"articles of {m.group(1).capitalize()} {day}"
    return (), ""


def _weekday(date: str):
    try:
        return dt.date.fromisoformat(date[:10]).weekday()
    except ValueError:
        return None


def named_source(question: str, sources: dict) -> tuple[Filters, str] | None:
    """(filters for the outlet/author/day the question names, a note for searched_for), or None."""
    q = " ".join(question.lower().split())
    outlets = tuple(o for o in sources.get("outlets", ()) if len(_core(o)) >= MIN_NAME and _has(q, _core(o)))
    authors = tuple(a for a in sources.get("authors", ()) if len(a) >= MIN_NAME and _has(q, a.lower()) and re.search(
        rf"{_BY}{re.escape(a.lower())}|{re.escape(a.lower())}(?:'s|\u2019s)?\s+(?:{PIECES}|wrote|reported)",
        q))
    ids, day = _dates_named(q, sources.get("dates", {}))
    if not (outlets or authors or ids):
        return None
    names = [*outlets, *authors] + ([day] if ids else [])
    return Filters(outlets=outlets, authors=authors, article_ids=ids), "preferring " + ", ".join(names)
