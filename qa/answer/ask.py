"""Asking: retrieve passages, build numbered citations, pick the answer-bearing sentence."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from corpus.errors import QuestionError
from corpus.records import Answer, Citation, Highlight

from .confidence import answer_confidence, answer_features, sentence_support, threshold
from .evidence import answer_phrase, candidates, compose, is_question, quoted_phrase, stems
from .filters import Filters
from .followup import Try, evidence_text
from .retrieval import retrieve
from .sources import named_source

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
    """Numbered citations for the selected passages; `score` is the passage's similarity to the question,
    `retrieval` its fused retrieval score (used to order citations once the sentences are scored)."""
    from corpus.records import AlsoIn

    from .select import select

    chosen = select(library, ranked, k)
    arts = library.store.article_rows({p.article_id for _, _, p, _, _ in chosen})
    cites = []
    for pid, fused, p, r, also in chosen:
        a = arts[p.article_id]
        sim = float(np.frombuffer(r["vector"], np.float32) @ qvec[0])
        cites.append(Citation(
            n=len(cites) + 1, article_id=p.article_id, title=a["title"], authors=tuple(json.loads(a["authors"])),
            outlet=a["outlet"], date=a["date"], source=a["source"], paragraph=p.paragraphs[0] + 1,
            start=p.start, end=p.end, text=p.text, score=sim, passage_id=pid, retrieval=float(fused),
            also_in=tuple(AlsoIn(m["article_id"], m["outlet"], m["title"]) for m in also)))
    return cites


FOCUS_BOOST = 1.25
SUPPORT_WEIGHT = 0.5  # citation order = retrieval score / the best one + this * the best sentence's support


def reorder(citations: list, best_of: dict, weight: float = SUPPORT_WEIGHT) -> tuple[list, dict]:
    """Citations ordered by relative retrieval score plus `weight` x the support of their best sentence,
    renumbered 1..n.

    The sentences of the cited passages are scored anyway; for a question, using them to order the
    passages puts the one that holds the answer first (xquad-en passage R@1 0.952 -> 0.966). The support
    model recognises sentences that answer a question, so statements and keyword searches keep the
    retrieval order (on SciFact's claims it cost 0.01 nDCG@10; see bench/README.md)."""
    top = max((c.retrieval for c in citations), default=0.0)
    scale = 1.0 / top if top > 0 else 0.0
    order = sorted(citations, key=lambda c: -(c.retrieval * scale + weight * best_of.get(c.n, 0.0)))
    mapping = {c.n: replace(c, n=i + 1) for i, c in enumerate(order)}
    return [mapping[c.n] for c in order], mapping


def boost(library, ranked, focus):
    """Raise the scores of passages from the articles in focus (follow-up questions), then re-sort."""
    rows = library.store.passages([pid for pid, _ in ranked])
    focus = set(focus)
    out = [(pid, s * FOCUS_BOOST if pid in rows and rows[pid][0].article_id in focus and s > 0 else s)
           for pid, s in ranked]
    return sorted(out, key=lambda x: -x[1])


NOT_FOUND = "I could not find this in your articles."
SUPPORT_MIN = 0.05  # citations whose best sentence supports the answer less than this are not shown


def _abstain(question, query, citations, confidence, timings, message=NOT_FOUND) -> Answer:
    return Answer(question=question, answer=message, abstained=True, confidence=confidence, highlight=None,
                  citations=(), searched_for=query, closest=tuple(citations), timings=timings)


@dataclass
class Analysis:
    """Everything `ask` computed before deciding what to show (used by calibration and evaluation)."""

    citations: list
    candidates: list
    best: object
    best_of: dict
    confidence: float
    question: bool = True  # False for a statement or keyword search: support does not order or hide citations


def analyze(library, query: str, k: int, mode: str, filters, focus, timings: dict) -> Optional[Analysis]:
    t = time.perf_counter()
    qvec = library.encoder.encode([query])
    timings["encode_ms"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    ranked = retrieve(library, query, qvec, max(3 * k, 20), mode, filters)
    if focus:
        ranked = boost(library, ranked, focus)
    timings["search_ms"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    citations = make_citations(library, ranked, qvec, k)
    if not citations:
        return None
    rows = library.store.passages([c.passage_id for c in citations])
    equery = evidence_text(query)
    cands = candidates(library, equery, qvec if equery == query else library.encoder.encode([equery]),
                       citations, rows, timings)
    for c, s in zip(cands, sentence_support(np.stack([c.features for c in cands]))):
        c.score = float(s)
    best_of: dict = {}
    for c in cands:
        best_of[c.citation.n] = max(best_of.get(c.citation.n, 0.0), c.score)
    question = is_question(equery)
    citations, mapping = reorder(citations, best_of, SUPPORT_WEIGHT if question else 0.0)
    best_of = {mapping[n].n: s for n, s in best_of.items()}
    for c in cands:
        c.citation = mapping[c.citation.n]
    _, best, _ = compose(cands)
    cited_stems = set().union(*(stems(c.text) for c in citations))
    confidence = answer_confidence(answer_features(stems(equery), best, citations, cited_stems))
    timings["answer_ms"] = (time.perf_counter() - t) * 1000
    return Analysis(citations, cands, best, best_of, confidence, question)


def ask(library, question: str, k: int = 5, mode: str = "hybrid", filters: Optional[Filters] = None,
        searched_for: Optional[str] = None, focus: tuple[str, ...] = (), tries=None) -> Answer:
    """Answer a question from the library's articles, with numbered, exactly-placed citations.

    `searched_for` is the query actually searched (a resolved follow-up); it defaults to the question.
    `focus` names articles a follow-up is about; their passages get a small ranking boost. `tries`
    (followup.Try: query, filters, note) are searches tried in order, the first that answers is used
    and its note added to `searched_for`; a question that names an outlet, author or publication day
    ("according to the Overland Wire Service") tries those articles first."""
    question = clean_question(question)
    k = check_k(k)
    if len(library) == 0:
        return _abstain(question, clean_question(searched_for) if searched_for else question, [], 0.0, {},
                        EMPTY_LIBRARY)
    plan = list(tries) if tries else [Try(clean_question(searched_for) if searched_for else question)]
    named = named_source(question, library.sources()) if hasattr(library, "sources") else None
    if named:
        plan.insert(0, Try(plan[-1].query, named[0], named[1]))
    for t in plan:
        narrowed = t.filters.within(filters) if t.filters is not None and filters is not None else (t.filters or filters)
        answer = _ask_once(library, question, clean_question(t.query), k, mode, narrowed, focus, t.supported)
        if not answer.abstained:
            return replace(answer, searched_for=f"{answer.searched_for} [{t.note}]") if t.note else answer
    return answer


def _ask_once(library, question: str, query: str, k: int, mode: str, filters, focus, supported=False) -> Answer:
    timings: dict = {}
    an = analyze(library, query, k, mode, filters, focus, timings)
    if an is None:
        msg = "No passage matched the question" + (" with these filters." if filters and filters.active else ".")
        return _abstain(question, query, [], 0.0, timings, msg)
    citations, cands, best, best_of = an.citations, an.candidates, an.best, an.best_of
    if an.confidence < threshold() and not (supported and an.best.score >= SUPPORT_MIN):
        return _abstain(question, query, [replace(c, support=best_of.get(c.n, 0.0)) for c in citations],
                        an.confidence, timings)
    # For a question, only citations whose sentences support the answer are shown (renumbered 1..n); a
    # statement or keyword search has no answer to support, so its k passages all stay, as in a search.
    keep = [c for c in citations
            if not an.question or best_of.get(c.n, 0.0) >= SUPPORT_MIN or c.n == best.citation.n]
    mapping = {c.n: replace(c, n=i + 1, support=best_of.get(c.n, 0.0)) for i, c in enumerate(keep)}
    for cand in cands:
        cand.citation = mapping.get(cand.citation.n)
    text, best, _ = compose([c for c in cands if c.citation is not None])
    highlight = Highlight(citation=best.citation.n, start=best.start, end=best.end, text=best.text)
    return Answer(question=question, answer=text, abstained=False, confidence=an.confidence, highlight=highlight,
                  citations=tuple(mapping.values()), searched_for=query, timings=timings,
                  answer_span=phrase_of(library, query, best, timings))


def phrase_of(library, query: str, best, timings: dict) -> Optional[Highlight]:
    """The answer phrase inside the highlight, read by the trained reader (qa/answer/reader)."""
    t = time.perf_counter()
    passage = library.store.passages([best.citation.passage_id])[best.citation.passage_id][0]
    span = best.phrase or answer_phrase(library.reader, evidence_text(query), best, passage)
    span = quoted_phrase(query, best, span)
    timings["phrase_ms"] = (time.perf_counter() - t) * 1000
    if span is None:
        return None
    text = passage.text[span[0] - passage.start:span[1] - passage.start]
    return Highlight(citation=best.citation.n, start=span[0], end=span[1], text=text)
