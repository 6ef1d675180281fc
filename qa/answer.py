"""Asking: retrieve passages, build numbered citations, pick the answer-bearing sentence."""
from __future__ import annotations

import json
import time
from typing import Optional

import numpy as np

from corpus.errors import QuestionError
from corpus.records import Answer, Citation, Highlight

from .filters import Filters
from .fts import terms
from .retrieval import retrieve

MAX_QUESTION_CHARS = 2000  # longer questions are cut (the encoder sees ~256 tokens anyway)
EMPTY_LIBRARY = "The library has no articles yet. Add some with: article-qa index PATH"


def clean_question(question) -> str:
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("The question is empty; type a question such as: article-qa ask \"Who won the election?\"")
    return " ".join(question.split())[:MAX_QUESTION_CHARS]


def check_k(k) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1 or k > 100:
        raise QuestionError(f"k={k!r} is not a number of citations between 1 and 100; use e.g. -k 5")
    return k


def make_citations(library, ranked: list[tuple[int, float]], qvec: np.ndarray, k: int) -> list[Citation]:
    from corpus.records import AlsoIn

    from .select import select

    chosen = select(library, ranked, k)
    arts = library.store.article_rows({p.article_id for _, _, p, _, _ in chosen})
    cites = []
    for pid, _, p, r, also in chosen:
        a = arts[p.article_id]
        sim = float(np.frombuffer(r["vector"], np.float32) @ qvec[0])
        cites.append(Citation(
            n=len(cites) + 1, article_id=p.article_id, title=a["title"], authors=tuple(json.loads(a["authors"])),
            outlet=a["outlet"], date=a["date"], source=a["source"], paragraph=p.paragraphs[0] + 1,
            start=p.start, end=p.end, text=p.text, score=sim, passage_id=pid,
            also_in=tuple(AlsoIn(m["article_id"], m["outlet"], m["title"]) for m in also)))
    return cites


def sentence_candidates(library, citations: list[Citation], limit: int = 60):
    """(citation, start, end, text) for the sentences of the cited passages, in citation order."""
    rows = library.store.passages([c.passage_id for c in citations])
    out = []
    for c in citations:
        p, _ = rows.get(c.passage_id, (None, None))
        if p is None:
            continue
        for s in p.sentences:
            out.append((c, s.start, s.end, p.text[s.start - p.start:s.end - p.start]))
            if len(out) >= limit:
                return out
    return out


def score_sentences(library, question: str, qvec: np.ndarray, cands) -> np.ndarray:
    """Bi-encoder similarity plus lexical overlap with the question's content terms."""
    if not cands:
        return np.zeros(0)
    svecs = library.encoder.encode([t for *_, t in cands], batch_size=64)
    sim = svecs @ qvec[0]
    qterms = set(terms(question))
    overlap = np.array([len(qterms & set(terms(t))) / max(1, len(qterms)) for *_, t in cands])
    rank_bonus = np.array([0.02 * (1.0 / c.n) for c, *_ in cands])  # prefer better-ranked passages on ties
    return sim + 0.3 * overlap + rank_bonus


def ask(library, question: str, k: int = 5, mode: str = "hybrid", filters: Optional[Filters] = None,
        searched_for: Optional[str] = None) -> Answer:
    """Answer a question from the library's articles, with numbered, exactly-placed citations.

    `searched_for` is the query actually searched (a resolved follow-up); it defaults to the question."""
    question = clean_question(question)
    query = clean_question(searched_for) if searched_for else question
    k = check_k(k)
    timings = {}
    if len(library) == 0:
        return Answer(question=question, answer=EMPTY_LIBRARY, abstained=True, confidence=0.0,
                      highlight=None, citations=(), searched_for=query)
    t = time.perf_counter()
    qvec = library.encoder.encode([query])
    timings["encode_ms"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    ranked = retrieve(library, query, qvec, max(3 * k, 20), mode, filters)
    timings["search_ms"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    citations = make_citations(library, ranked, qvec, k)
    if not citations:
        return Answer(question=question, answer="No passage matched the question" +
                      (" with these filters." if filters and filters.active else "."),
                      abstained=True, confidence=0.0, highlight=None, citations=(), searched_for=query,
                      timings=timings)
    cands = sentence_candidates(library, citations)
    scores = score_sentences(library, query, qvec, cands)
    best = int(np.argmax(scores))
    c, s, e, text = cands[best]
    highlight = Highlight(citation=c.n, start=s, end=e, text=text)
    timings["answer_ms"] = (time.perf_counter() - t) * 1000
    return Answer(question=question, answer=f"{text} [{c.n}]", abstained=False,
                  confidence=max(0.0, min(1.0, citations[0].score)), highlight=highlight,
                  citations=tuple(citations), searched_for=query, timings=timings)
