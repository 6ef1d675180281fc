"""Answer units read by the reader: the sentences (quotes kept whole) of the cited passages, each with
the reader's probability that it answers and its best answer phrase; and the composed answer text."""
from __future__ import annotations

import re
from dataclasses import dataclass

from corpus.records import Span
from corpus.sentences import sentence_units

READ_TOP = 6  # passages the reader reads for one question: the top citations by retrieval


@dataclass
class Candidate:
    citation: object  # Citation
    start: int  # article offsets of the unit (may span 2-3 sentences when a quote continues)
    end: int
    text: str
    score: float = 0.0  # the reader's probability that this unit answers
    phrase: tuple[int, int] = (0, 0)  # article offsets of the answer phrase inside the unit


_QUESTION_START = re.compile(r"^\W*(who|whom|whose|what|when|where|why|how|which|is|are|was|were|do|does|did|"
                             r"has|have|had|can|could|will|would|should|may|might|must|shall)\b", re.I)


def is_question(text: str) -> bool:
    """A question (ends with '?' or opens with a question word), not a statement or a keyword search."""
    return text.rstrip().endswith("?") or bool(_QUESTION_START.match(text))


def passage_units(p) -> list[tuple[int, int]]:
    """Answer units of a passage as offsets into the passage's own text."""
    spans = [Span(s.start - p.start, s.end - p.start) for s in p.sentences]
    return [(u.start, u.end) for u in sentence_units(p.text, spans)]


def read(reader, question: str, citations, rows) -> tuple[list[Candidate], dict, list]:
    """(scored units, {citation number: probability the passage answers}, readings) for the first
    READ_TOP citations, read in one batch."""
    shown = [(c, rows[c.passage_id][0]) for c in citations[:READ_TOP]]
    units = [passage_units(p) for _, p in shown]
    readings = reader.read(question, [(c.title, p.text, u) for (c, p), u in zip(shown, units)])
    cands, support = [], {}
    for (c, p), us, r in zip(shown, units, readings):
        support[c.n] = 1.0 - r.no_answer
        for i, (a, b) in enumerate(us):
            pa, pb = r.phrases[i]
            cands.append(Candidate(c, p.start + a, p.start + b, p.text[a:b], float(r.unit_probs[i]),
                                   (p.start + pa, p.start + pb)))
    return cands, support, readings


def compose(cands: list[Candidate], max_sentences: int = 3, within: float = 0.1):
    """(answer text with [n] markers, best candidate, chosen candidates)."""
    ranked = sorted(cands, key=lambda x: -x.score)
    best = ranked[0]
    chosen = [best]
    for c in ranked[1:]:
        if len(chosen) >= max_sentences or c.score < best.score - within:
            break
        if any(c.start < o.end and o.start < c.end and c.citation.article_id == o.citation.article_id for o in chosen):
            continue
        chosen.append(c)
    if len({c.citation.article_id for c in chosen}) == 1:
        chosen.sort(key=lambda c: c.start)  # one article: keep its order
    text = " ".join(f"{c.text} [{c.citation.n}]" for c in chosen)
    return text, best, chosen
