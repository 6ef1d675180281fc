"""Filters on article metadata, applied before ranking (as the set of passages each search may return)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from corpus.errors import QuestionError
from corpus.text import parse_date


@dataclass(frozen=True)
class Filters:
    """Restrict a question to some outlets, authors, a date range, or article ids (all optional)."""

    outlets: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    since: Optional[str] = None  # YYYY-MM-DD, inclusive
    until: Optional[str] = None
    article_ids: tuple[str, ...] = ()
    exclude_ids: tuple[str, ...] = ()  # articles never returned (a follow-up about "the other" one)

    def __post_init__(self):
        for name in ("since", "until"):
            v = getattr(self, name)
            if v is not None and parse_date(v) != v:
                raise QuestionError(f"--{name} '{v}' is not a date; expected YYYY-MM-DD, e.g. 2024-08-01")

    @property
    def active(self) -> bool:
        return bool(self.outlets or self.authors or self.since or self.until or self.article_ids or self.exclude_ids)

    def where(self) -> tuple[str, list]:
        """SQL condition on the `articles` table alias `a`."""
        conds, args = [], []
        if self.outlets:
            conds.append(f"lower(a.outlet) IN ({','.join('?' * len(self.outlets))})")
            args += [o.lower() for o in self.outlets]
        if self.authors:
            # authors is a JSON list; match any listed author case-insensitively
            conds.append("(" + " OR ".join("lower(a.authors) LIKE ?" for _ in self.authors) + ")")
            args += [f'%"{x.lower()}"%' for x in self.authors]
        if self.since:
            conds.append("a.date >= ?")
            args.append(self.since)
        if self.until:
            conds.append("a.date <= ?")
            args.append(self.until)
        if self.article_ids:
            conds.append(f"a.id IN ({','.join('?' * len(self.article_ids))})")
            args += list(self.article_ids)
        if self.exclude_ids:
            conds.append(f"a.id NOT IN ({','.join('?' * len(self.exclude_ids))})")
            args += list(self.exclude_ids)
        return " AND ".join(conds) or "1", args

    def within(self, other: Optional["Filters"]) -> "Filters":
        """These filters and `other`'s together (a preference narrowing the user's own filters)."""
        if other is None:
            return self
        if self.article_ids and other.article_ids:  # both: the articles in both ("" matches no article)
            ids = tuple(i for i in self.article_ids if i in other.article_ids) or ("",)
        else:
            ids = self.article_ids or other.article_ids
        return Filters(outlets=self.outlets or other.outlets, authors=self.authors or other.authors,
                       since=max(filter(None, (self.since, other.since)), default=None),
                       until=min(filter(None, (self.until, other.until)), default=None),
                       article_ids=ids, exclude_ids=tuple(dict.fromkeys(self.exclude_ids + other.exclude_ids)))

    def passage_ids(self, store) -> np.ndarray:
        return store.filter_passage_ids(self)
