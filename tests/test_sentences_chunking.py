"""Sentence splitting and chunking: exact offsets, abbreviations kept, token limits held."""
from pathlib import Path

import pytest

from corpus.chunking import chunk_article
from corpus.loaders import load_paths
from corpus.records import Article
from corpus.sentences import split_sentences
from corpus.text import make_article

from .conftest import DATA, FakeEncoder


def _sents(text):
    return [text[s.start:s.end] for s in split_sentences(text)]


def test_abbreviations_do_not_end_sentences():
    text = ('The U.S. Army arrived at 9 a.m. on Monday. Gov. Ann Holt met Dr. Ravi Shah in St. Paul. '
            '"We will not wait," said Sen. Lee. Acme Inc. reported a loss of $15.5 million. John F. Kennedy spoke.')
    assert _sents(text) == [
        "The U.S. Army arrived at 9 a.m. on Monday.",
        "Gov. Ann Holt met Dr. Ravi Shah in St. Paul.",
        '"We will not wait," said Sen. Lee.',
        "Acme Inc. reported a loss of $15.5 million.",
        "John F. Kennedy spoke.",
    ]


def test_sentence_ends_after_initialism_when_a_new_sentence_starts():
    assert _sents("Talks began in the U.S. The talks ended. Is it over? Yes!") == [
        "Talks began in the U.S.", "The talks ended.", "Is it over?", "Yes!"]


def _articles():
    arts = [a for a in load_paths([DATA / "news", Path(__file__).parents[1] / "corpus" / "samples"])
            if isinstance(a, Article)]
    assert len(arts) >= 36
    return arts


def test_offsets_round_trip_on_every_test_article():
    enc = FakeEncoder(max_tokens=60)
    for a in _articles():
        passages = chunk_article(a, enc.count_tokens, enc.max_tokens, 40)
        assert passages, a.source
        covered = 0
        for p in passages:
            assert a.text[p.start:p.end] == p.text
            assert enc.count_tokens(p.text) <= enc.max_tokens
            for s in p.sentences:
                assert p.start <= s.start < s.end <= p.end
            covered += len(p.text.split())
        assert covered == len(a.text.split())  # every word lands in exactly one passage


def test_a_huge_paragraph_is_split_within_the_limit_without_gaps():
    words = ("lorem ipsum dolor sit amet consectetur " * 2000)[:50_000]
    a = make_article([words, "A short closing paragraph."], "huge.txt", title="Huge")
    enc = FakeEncoder(max_tokens=100)
    passages = chunk_article(a, enc.count_tokens, enc.max_tokens)
    assert all(enc.count_tokens(p.text) <= 100 for p in passages)
    # no gaps: the text between consecutive passages is whitespace only
    prev = 0
    for p in passages:
        assert a.text[prev:p.start].strip() == ""
        assert a.text[p.start:p.end] == p.text
        prev = p.end
    assert prev == len(a.text)


def test_a_giant_word_is_cut_by_characters():
    a = make_article(["x" * 5000], "w.txt", title="W")
    count = lambda s: len(s) // 10 + 1  # noqa: E731 - tokens grow with characters
    passages = chunk_article(a, count, 50)
    assert "".join(p.text for p in passages) == "x" * 5000
    assert all(count(p.text) <= 50 for p in passages)


@pytest.mark.model
def test_real_tokenizer_limits_hold(real_encoder):
    words = " ".join(f"Word{i} is here." for i in range(3000))
    a = make_article([words], "big.txt", title="Big")
    passages = chunk_article(a, real_encoder.count_tokens, real_encoder.max_tokens)
    assert all(real_encoder.count_tokens(p.text) <= real_encoder.max_tokens for p in passages)
    assert all(a.text[p.start:p.end] == p.text for p in passages)
