"""Property tests (hypothesis): chunking any unicode text, and asking any question string."""
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from corpus.chunking import chunk_article
from corpus.errors import LoadError, QuestionError
from corpus.records import Answer, Article, Span
from corpus.text import make_article, split_paragraphs

from .conftest import DATA, FakeEncoder

count = FakeEncoder().count_tokens
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Text with the characters that matter to sentence splitting and chunking, plus any unicode at all.
PIECES = st.sampled_from([" ", "  ", "\n", "\n\n", ".", "!", "?", "...", "Dr.", "U.S.", "\"", "'", "\u201d", "\u2019",
                          "\t", "\u00a0", "\u3000", "\u200b", "e\u0301", "\U0001F600", "x" * 40, "word ", "Word. "])
TEXT = st.one_of(st.text(max_size=600), st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=120).map("".join))
_WS = re.compile(r"\s+")


def _check_passages(article: Article, passages, max_tokens: int):
    assert passages, "an article with text produced no passages"
    prev_end = 0
    for i, p in enumerate(passages):
        assert p.index == i and p.article_id == article.id
        assert 0 <= prev_end <= p.start < p.end <= len(article.text)
        assert article.text[p.start:p.end] == p.text
        assert count(p.text) <= max_tokens, (p.text, count(p.text))
        for s in p.sentences:
            assert p.start <= s.start < s.end <= p.end
        prev_end = p.end
    # nothing but whitespace is lost between or around passages
    kept = "".join(p.text for p in passages)
    assert _WS.sub("", kept) == _WS.sub("", article.text)


@SETTINGS
@given(text=TEXT, max_tokens=st.integers(8, 64))
def test_chunking_any_loaded_text(text, max_tokens):
    try:
        article = make_article(split_paragraphs(text), "prop.txt", title="t")
    except LoadError:
        assume(False)
    _check_passages(article, chunk_article(article, count, max_tokens, max_tokens // 2), max_tokens)


@SETTINGS
@given(text=TEXT.filter(lambda t: t.strip()), max_tokens=st.integers(8, 64))
def test_chunking_raw_text_as_one_paragraph(text, max_tokens):
    """Even text that never went through the loaders (control characters, odd spaces) chunks exactly."""
    article = Article(id="raw", title="t", text=text, paragraphs=(Span(0, len(text)),))
    passages = chunk_article(article, count, max_tokens)
    if _WS.sub("", text):
        _check_passages(article, passages, max_tokens)


@pytest.fixture(scope="module")
def small_library(tmp_path_factory):
    from qa import Library

    lib = Library(tmp_path_factory.mktemp("prop") / "lib", FakeEncoder())
    lib.add_paths(sorted((DATA / "news").glob("*.md"))[:4])
    yield lib
    lib.close()


QUESTION_BITS = st.sampled_from(['"', "*", "NEAR(", "-", "(", ")", "AND", "OR", "NOT", "^", ":", "\\", "budget",
                                 "council", " ", "\u00e9", "\U0001F4B8", "title:", "{", "[", "'", "%", "\x00", "\n"])
QUESTIONS = st.one_of(st.text(max_size=300), st.lists(st.one_of(QUESTION_BITS, st.text(max_size=5)), max_size=40).map("".join))


@SETTINGS
@given(question=QUESTIONS, mode=st.sampled_from(["hybrid", "dense", "bm25"]), k=st.integers(1, 100))
def test_asking_any_question(small_library, question, mode, k):
    if not question.strip():
        with pytest.raises(QuestionError):
            small_library.ask(question, k=k, mode=mode)
        return
    a = small_library.ask(question, k=k, mode=mode)
    assert isinstance(a, Answer) and len(a.citations) <= k
    for c in a.citations:
        assert small_library.get(c.article_id).text[c.start:c.end] == c.text
