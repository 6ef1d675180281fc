"""Answer sentences: score every sentence of the cited passages, keep quotes whole, compose the answer.

Scores come from a small logistic model (weights in calibration.json, fitted by
bench/fit_calibration.py on xquad-en) over cheap features: bi-encoder similarity of the sentence and of
its passage, lexical overlap with the question, passage rank, and quote/attribution cues.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

import numpy as np

from corpus.records import Span
from corpus.sentences import sentence_units

from ..store.fts import terms

QUOTE_QUESTION = re.compile(
    r"\b(say|said|says|saying|quote[ds]?|warn(?:ed|s)?|told|tell|argue[ds]?|claim(?:ed|s)?|call(?:ed|s)?|"
    r"describe[ds]?|predict(?:ed|s)?|react(?:ed)?|respond(?:ed)?|insist(?:ed)?|add(?:ed)?|promise[ds]?)\b", re.I)
WHO_WHAT = re.compile(r"^\s*(who|what|how|which)\b", re.I)
ATTRIBUTION = re.compile(r"\b(said|says|say|told|added|warned|wrote|argued|noted|asked|explained|according to|"
                         r"insisted|predicted|cautioned|recalled|declared|stated)\b", re.I)
_QUOTES = re.compile(r"[\"\u201c\u201d]")
SENTENCE_FEATURES = ("sim", "overlap", "passage_sim", "bigram_overlap", "quote_match", "length", "idf_overlap",
                     "type_match", "reader_prob", "reader_margin")
_YEAR_DATE = re.compile(r"\b(1[0-9]{3}|20[0-9]{2}|January|February|March|April|May|June|July|August|September|"
                        r"October|November|December|Jan\.|Feb\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\.|Monday|Tuesday|"
                        r"Wednesday|Thursday|Friday|Saturday|Sunday|century|decade)\b")
_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|"
                     r"dozen|percent)\b", re.I)
_CAPWORD = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z\u00C0-\u024F]+")


_TOKEN = re.compile(r"\w+")


def bigrams(text: str) -> set:
    words = _TOKEN.findall(text.lower())
    return set(zip(words, words[1:]))


def bigram_overlap(qbigrams: set, sentence: str) -> float:
    """Share of the question's word pairs that the sentence repeats (phrases, not just words)."""
    return len(qbigrams & bigrams(sentence)) / len(qbigrams) if qbigrams else 0.0


def answer_type_match(question: str, sentence: str) -> float:
    """1.0 when the sentence holds the kind of thing the question asks for (a date, a number, a name)."""
    q = question.lower()
    new_caps = {w for w in _CAPWORD.findall(sentence) if w.lower() not in q}
    if re.search(r"\b(when|what year|which year|what date|what day|how long ago)\b", q):
        return float(bool(_YEAR_DATE.search(sentence)))
    if re.search(r"\b(how many|how much|what percentage|what percent|how long|how old|how far|how big|"
                 r"what number|what amount)\b", q):
        return float(bool(_NUMBER.search(sentence)))
    if re.search(r"\b(who|whom|whose|where|which (?:company|city|country|team|group))\b", q):
        return float(bool(new_caps))
    return 0.5


def in_context(title, sentence: str, max_words: int = 24) -> str:
    title = " ".join((title or "").split()[:max_words])
    return f"{title}. {sentence}" if title else sentence


@dataclass
class Candidate:
    citation: object  # Citation
    start: int  # article offsets (may span 2-3 sentences when a quote continues)
    end: int
    text: str
    features: np.ndarray
    score: float = 0.0
    phrase: tuple[int, int] | None = None  # article offsets of the reader's answer phrase in this unit


def stems(text: str) -> set:
    return {t[:5] for t in terms(text)}


_QUESTION_START = re.compile(r"^\W*(who|whom|whose|what|when|where|why|how|which|is|are|was|were|do|does|did|"
                             r"has|have|had|can|could|will|would|should|may|might|must|shall)\b", re.I)


def is_question(text: str) -> bool:
    """A question (ends with '?' or opens with a question word), not a statement or a keyword search."""
    return text.rstrip().endswith("?") or bool(_QUESTION_START.match(text))


def is_quote_question(q: str) -> bool:
    return bool(QUOTE_QUESTION.search(q) and WHO_WHAT.search(q))


def passage_units(p) -> list[tuple[int, int]]:
    """Answer units of a passage as article offsets; a quotation running over up to three sentences stays
    in one unit (corpus.sentences.sentence_units)."""
    spans = [Span(s.start - p.start, s.end - p.start) for s in p.sentences]
    return [(u.start + p.start, u.end + p.start) for u in sentence_units(p.text, spans)]


READ_TOP = 5  # passages the trained reader reads for one question: the top citations by retrieval
UNREAD_MARGIN = -5.0  # reader margin given to units of passages it did not read


def read_units(library, question: str, citations, rows) -> dict:
    """{(citation n, start, end): (unit probability, passage margin, phrase offsets)} from the trained
    reader over the top READ_TOP citations, read in one batch (article offsets)."""
    reader = getattr(library, "reader", None)
    if reader is None:
        return {}
    shown = [(c, rows[c.passage_id][0]) for c in citations[:READ_TOP]]
    units = [passage_units(p) for _, p in shown]
    readings = reader.read(question, [(c.title, p.text, [(a - p.start, b - p.start) for a, b in us])
                                      for (c, p), us in zip(shown, units)])
    out = {}
    for (c, p), us, r in zip(shown, units, readings):
        margin = float(np.clip(r.margin, -10.0, 10.0))
        for i, (a, b) in enumerate(us):
            pa, pb = r.phrases[i]
            out[c.n, a, b] = (float(r.unit_probs[i]), margin, (p.start + pa, p.start + pb) if pa < pb else None)
    return out


PER_CITATION = 2  # sentences per citation always scored with the encoder
MAX_ENCODED = 16  # sentences encoded per question: the query-time cost of answer selection


def candidates(library, question: str, qvec: np.ndarray, citations, rows, timings=None) -> list[Candidate]:
    """Scored sentence candidates of the cited passages (scores filled by the caller).

    Encoding every sentence is the slow part of answering, so sentences are first ranked by lexical
    overlap; each citation's best two and the best overall (up to MAX_ENCODED) are encoded. `timings`
    gets the models' own time: reader_ms (the reader's batch) and sentences_ms (the sentence encodings)."""
    timings = {} if timings is None else timings
    qstems = stems(question)
    qterms = terms(question)
    idf = library.idf(qterms) if hasattr(library, "idf") else {t: 1.0 for t in qterms}
    idf_by_stem: dict[str, float] = {}
    for t in qterms:
        idf_by_stem[t[:5]] = max(idf_by_stem.get(t[:5], 0.0), idf.get(t, 1.0))
    idf_total = sum(idf_by_stem.values()) or 1.0
    quote_q = is_quote_question(question)
    qbigrams = bigrams(question)
    items = []
    for c in citations:
        p, _ = rows[c.passage_id]
        text_of = lambda a, b, p=p: p.text[a - p.start:b - p.start]  # noqa: E731
        for a, b in passage_units(p):
            t = text_of(a, b)
            st = stems(t)
            overlap = len(qstems & st) / max(1, len(qstems))
            idf_overlap = sum(w for s_, w in idf_by_stem.items() if s_ in st) / idf_total
            quote = 1.0 if quote_q and _QUOTES.search(t) and ATTRIBUTION.search(t) else 0.0
            items.append((c, a, b, t, overlap, quote, idf_overlap))
    if not items:
        return []
    t = time.perf_counter()
    read = read_units(library, question, citations, rows)
    timings["reader_ms"] = (time.perf_counter() - t) * 1000
    # the reader's favourite units are always encoded, even when they share few words with the question
    prior = [it[6] + 0.5 * it[5] + 0.2 / it[0].n + 2.0 * read.get((it[0].n, it[1], it[2]), (0.0,))[0] for it in items]
    order = sorted(range(len(items)), key=lambda i: -prior[i])
    keep, per = [], {}
    for i in order:  # each citation's best sentences first
        n = items[i][0].n
        if per.get(n, 0) < PER_CITATION:
            per[n] = per.get(n, 0) + 1
            keep.append(i)
    for i in order:
        if len(keep) >= max(MAX_ENCODED, len(per) * PER_CITATION):
            break
        if i not in keep:
            keep.append(i)
    keep.sort()
    items = [items[i] for i in keep]
    # Each sentence is embedded after its article's title, as passages are: "It won the award in 2000"
    # then knows what "it" is (held-out xquad-en evidence hit +1 point against the bare sentence).
    t = time.perf_counter()
    sims = library.encoder.encode([in_context(it[0].title, it[3]) for it in items], batch_size=64) @ qvec[0]
    timings["sentences_ms"] = (time.perf_counter() - t) * 1000
    out = []
    for (c, a, b, t, overlap, quote, idf_overlap), sim in zip(items, sims):
        prob, margin, phrase = read.get((c.n, a, b), (0.0, UNREAD_MARGIN, None))
        f = np.array([sim, overlap, c.score, bigram_overlap(qbigrams, t), quote, min(len(t), 400) / 400,
                      idf_overlap, answer_type_match(question, t), prob, margin], np.float64)
        out.append(Candidate(c, a, b, t, f, phrase=phrase))
    return out


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


_QUOTED = re.compile(r"[\"\u201c]\s*([^\"\u201c\u201d]+?)[\s,.;:!?]*[\"\u201d]")
_WHAT_SAID = re.compile(r"^\W*(what|how)\b", re.I)


def quoted_phrase(question: str, best: Candidate, phrase: tuple[int, int] | None):
    """For "What did X say ...?" the answer is the quote: when the reader's phrase lies outside every
    quotation of the highlighted unit (the speaker's name, say), the quoted words are the phrase instead.
    "Who said ...?" asks for the speaker and keeps the reader's phrase."""
    if not (QUOTE_QUESTION.search(question) and _WHAT_SAID.search(question)):
        return phrase
    quotes = [(best.start + m.start(1), best.start + m.end(1)) for m in _QUOTED.finditer(best.text)]
    if not quotes or (phrase and any(a <= phrase[0] and phrase[1] <= b for a, b in quotes)):
        return phrase
    return max(quotes, key=lambda q: q[1] - q[0])


def answer_phrase(reader, question: str, best: Candidate, passage):
    """Article offsets (start, end) of the answer phrase inside the highlighted unit, as the trained reader
    reads it ("Dr. Marisol Quintero", "$75", "1966"); None when the unit is not one of the passage's."""
    units = passage_units(passage)
    if (best.start, best.end) not in units:
        return None
    i = units.index((best.start, best.end))
    local = [(a - passage.start, b - passage.start) for a, b in units]
    a, b = reader.read(question, [(best.citation.title, passage.text, local)])[0].phrases[i]
    return (passage.start + a, passage.start + b) if a < b else None
