"""Core records: small frozen dataclasses shared by every floor (corpus -> embeddings -> qa -> app)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class Span:
    """A half-open character range [start, end) in an article's text."""

    start: int
    end: int


@dataclass(frozen=True)
class Article:
    """One article as loaded: normalized text plus metadata. `id` is a hash of the normalized text."""

    id: str
    title: str
    text: str
    paragraphs: tuple[Span, ...]
    authors: tuple[str, ...] = ()
    outlet: Optional[str] = None
    date: Optional[str] = None  # YYYY-MM-DD
    source: Optional[str] = None  # path, URL or "<file>#<id>"

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "authors": list(self.authors),
            "outlet": self.outlet,
            "date": self.date,
            "source": self.source,
            "text": self.text,
            "paragraphs": [[p.start, p.end] for p in self.paragraphs],
        }


@dataclass(frozen=True)
class Passage:
    """A chunk of one article: `article.text[start:end] == text`; sentences are article-level spans."""

    article_id: str
    index: int  # position of the passage in its article
    paragraphs: tuple[int, ...]  # paragraph numbers (0-based) the passage covers
    start: int
    end: int
    text: str
    sentences: tuple[Span, ...]


@dataclass(frozen=True)
class LoadFailure:
    """A file or record that could not be loaded, and why."""

    source: str
    reason: str


@dataclass(frozen=True)
class AlsoIn:
    """Another article carrying (nearly) the same story as a citation."""

    article_id: str
    outlet: Optional[str]
    title: str


@dataclass(frozen=True)
class Citation:
    """A cited passage with its exact place in the article."""

    n: int
    article_id: str
    title: str
    authors: tuple[str, ...]
    outlet: Optional[str]
    date: Optional[str]
    source: Optional[str]
    paragraph: int
    start: int
    end: int
    text: str
    score: float
    support: Optional[float] = None
    passage_id: Optional[int] = None
    also_in: tuple[AlsoIn, ...] = ()
    retrieval: float = 0.0  # fused retrieval score (hybrid/dense/bm25), before sentence support

    def to_json(self) -> dict:
        out = {
            "n": self.n,
            "article_id": self.article_id,
            "title": self.title,
            "authors": list(self.authors),
            "outlet": self.outlet,
            "date": self.date,
            "source": self.source,
            "paragraph": self.paragraph,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "score": round(float(self.score), 6),
            "support": None if self.support is None else round(float(self.support), 6),
            "retrieval": round(float(self.retrieval), 6),
            "also_in": [
                {"article_id": a.article_id, "outlet": a.outlet, "title": a.title} for a in self.also_in
            ],
        }
        return out


@dataclass(frozen=True)
class Highlight:
    """A span in a cited article: the answer-bearing sentence (`Answer.highlight`) or the answer phrase
    inside it (`Answer.answer_span`); `citation` is the citation's number, start/end article offsets."""

    citation: int
    start: int
    end: int
    text: str

    def to_json(self) -> dict:
        return {"citation": self.citation, "start": self.start, "end": self.end, "text": self.text}


@dataclass(frozen=True)
class Answer:
    """What `ask` returns: answer text, highlight, ranked citations, and whether it abstained."""

    question: str
    answer: str
    abstained: bool
    confidence: float
    highlight: Optional[Highlight]
    citations: tuple[Citation, ...]
    searched_for: Optional[str] = None
    closest: tuple[Citation, ...] = ()
    timings: dict = field(default_factory=dict, compare=False)
    answer_span: Optional[Highlight] = None  # the answer phrase, inside the highlight

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "confidence": round(float(self.confidence), 6),
            "searched_for": self.searched_for if self.searched_for is not None else self.question,
            "highlight": self.highlight.to_json() if self.highlight else None,
            "answer_span": self.answer_span.to_json() if self.answer_span else None,
            "citations": [c.to_json() for c in self.citations],
            "closest": [c.to_json() for c in self.closest],
        }
