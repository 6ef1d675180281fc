"""With the real bundled model: questions cite the right article."""
import json

import pytest

from qa import Library

from .conftest import DATA

pytestmark = pytest.mark.model


def _questions(name):
    return [json.loads(line) for line in (DATA / name).read_text("utf-8").splitlines() if line.strip()]


def _file(c):
    return (c.source or "").replace("\\", "/").rsplit("/", 1)[-1]


def test_sample_questions_cite_the_right_article_first(sample_library):
    qs = _questions("sample_questions.jsonl")
    assert len(qs) >= 10
    misses, later = [], []
    for q in qs:
        a = sample_library.ask(q["question"], k=5)
        if _file(a.citations[0]) != q["article"]:
            misses.append((q["question"], _file(a.citations[0])))
        if a.highlight is not None and a.highlight.citation != 1:
            later.append(q["question"])  # the answer sentence should sit in the first citation
    assert not misses, misses
    assert len(later) <= 1, later


def test_maduro_question_cites_the_sample_article_with_exact_offsets(sample_library):
    a = sample_library.ask("What did the U.S. offer Maduro?", k=5)
    assert _file(a.citations[0]) == "01-venezuela-maduro-amnesty.md"
    for c in a.citations:
        assert sample_library.get(c.article_id).text[c.start:c.end] == c.text
    assert "amnesty" in a.answer.lower() or "pardon" in a.answer.lower()


def test_hundred_news_questions_find_their_article_in_top_five(real_encoder, tmp_path):
    lib = Library(tmp_path / "lib", real_encoder)
    lib.add_paths([DATA / "news"])
    qs = _questions("news_questions.jsonl")
    shown = [(a.citations or a.closest) for a in (lib.ask(q["question"], k=5) for q in qs)]
    hits = sum(q["article"] in {_file(c) for c in s} for q, s in zip(qs, shown))
    assert hits / len(qs) >= 0.9, hits


def _reader_questions(answerable: bool):
    qs = [q for q in _questions("reader_questions.jsonl") if q["answerable"] is answerable]
    assert len(qs) == 10
    return qs


@pytest.mark.xfail(strict=True, reason="issue 12 open: 5/10 today with the calibrated blend of similarity "
                                       "and the reader choosing the sentence (target >= 9/10)")
def test_answers_beyond_the_lead_highlight_the_sentence_with_the_phrase_inside(sample_library):
    """tests/data/reader_questions.jsonl: 10 questions whose answer is past the article's lead."""
    from qa.evaluation.metrics import squad_f1

    misses, phrases = [], 0
    for q in _reader_questions(True):
        a = sample_library.ask(q["question"])
        span, hl = a.answer_span, a.highlight
        ok = (not a.abstained and q["sentence"] in hl.text and _file(a.citations[hl.citation - 1]) == q["article"]
              and span is not None and span.citation == hl.citation and hl.start <= span.start < span.end <= hl.end
              and sample_library.get(a.citations[hl.citation - 1].article_id).text[span.start:span.end] == span.text)
        if not ok:
            misses.append((q["question"], None if a.abstained else hl.text))
        phrases += ok and squad_f1(span.text, q["answer"]) > 0
    assert len(misses) <= 1, misses
    assert phrases >= 7  # the bold phrase overlaps the expected answer


@pytest.mark.xfail(strict=True, reason="issue 12 open: 0/10 abstain today (target >= 9/10); see the closing note")
def test_questions_about_unstated_facts_abstain(sample_library):
    """10 questions about facts the samples never state, about people and things they do mention."""
    answered = [(q["question"], a.highlight.text) for q in _reader_questions(False)
                if not (a := sample_library.ask(q["question"])).abstained]
    assert len(answered) <= 1, answered
