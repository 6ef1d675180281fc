"""Retrieval: modes, safe FTS5 queries, filters before ranking, near-duplicates, diversity."""
import pytest

from corpus.errors import QuestionError
from corpus.text import make_article
from qa import Filters
from qa.store.fts import match_query
from qa.answer.retrieval import retrieve

from .conftest import DATA

HOSTILE = ['"', '""', "*", "NEAR(a b)", "-x", "(", ")", "a AND OR NOT b", "^start", "col:val", "\\", "'; DROP TABLE",
           "émigré naïve", "日本語のテキスト", "🙂🙂", "a" * 5000, "NOT", "OR OR OR", "x*y*z", "{a b}", "[1]"]


@pytest.fixture
def news(library):
    library.add_paths([DATA / "news"])
    return library


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_never_breaks_the_fts_query(news, text):
    q = match_query(text)
    assert q is None or all(part.startswith('"') and part.endswith('"') for part in q.split(" OR "))
    for mode in ("bm25", "hybrid", "dense"):
        news.ask(text, mode=mode)  # must not raise


def test_modes_and_unknown_mode(news):
    for mode in ("dense", "bm25", "hybrid"):
        assert news.ask("storm damage", mode=mode).citations
    with pytest.raises(QuestionError, match="mode"):
        news.ask("storm", mode="magic")


def test_filters_apply_before_ranking(news):
    rows = news.list()
    outlet = next(r["outlet"] for r in rows if r["outlet"])
    want = {r["id"] for r in rows if r["outlet"] == outlet}
    title = next(r["title"] for r in rows if r["outlet"] == outlet)
    for mode in ("dense", "bm25", "hybrid"):
        ans = news.ask(title + " budget storm election", k=10, mode=mode, filters=Filters(outlets=(outlet.upper(),)))
        got = {c.article_id for c in ans.citations}
        assert got and got <= want, mode
    dated = sorted(r["date"] for r in rows if r["date"])
    mid = dated[len(dated) // 2]
    ans = news.ask("city council", k=20, filters=Filters(since=mid))
    assert ans.citations and all(c.date >= mid for c in ans.citations)
    ans = news.ask("city council", k=20, filters=Filters(until=mid))
    assert all(c.date <= mid for c in ans.citations)
    one = rows[3]["id"]
    ans = news.ask("anything at all about the story", k=5, filters=Filters(article_ids=(one,)))
    assert {c.article_id for c in ans.citations} == {one}
    author = next(r["authors"][0] for r in rows if r["authors"])
    ans = news.ask("news", k=10, filters=Filters(authors=(author.lower(),)))
    assert ans.citations and all(author in c.authors for c in ans.citations)
    with pytest.raises(QuestionError, match="YYYY-MM-DD"):
        Filters(since="last week")


def test_filter_with_no_match_says_so(news):
    ans = news.ask("storm", filters=Filters(outlets=("No Such Outlet",)))
    assert ans.citations == () and "filters" in ans.answer


def _wire_copy(text: str) -> str:
    return text.replace(" said ", " told reporters ").replace("The ", "The ", 1)


def test_near_duplicates_are_linked_and_cited_once(library):
    src = (DATA / "news").glob("*.md")
    library.add_paths(sorted(src)[:6])
    orig = library.get(library.list()[0]["id"])
    paras = [orig.text[p.start:p.end] for p in orig.paragraphs]
    copy = make_article([_wire_copy(p) for p in paras] + ["The copy alone reports that the zebra mascot was named Quintessa."],
                        "copy.md", title=orig.title + " (wire)", outlet="Wire Service Daily")
    report = library.add([copy])
    assert len(report.added) == 1
    listed = {r["id"]: r for r in library.list()}
    assert listed[copy.id]["duplicate_of"] == orig.id
    ans = library.ask(paras[0][:120], k=5)
    cited = [c.article_id for c in ans.citations]
    assert not ({orig.id, copy.id} <= set(cited)), "copies fill the citations"
    top = ans.citations[0]
    assert top.article_id in (orig.id, copy.id) and top.also_in
    assert {a.article_id for a in top.also_in} == {orig.id, copy.id} - {top.article_id}
    # a fact only in the copy is still found, and cites the copy
    ans = library.ask("What was the zebra mascot named?", k=3)
    assert ans.citations[0].article_id == copy.id and "Quintessa" in ans.citations[0].text
    # removing the original leaves the copy standing alone
    library.remove(orig.id)
    assert {r["id"]: r for r in library.list()}[copy.id]["duplicate_of"] is None


def test_different_stories_are_not_linked(news):
    assert all(r["duplicate_of"] is None for r in news.list())


def test_diversity_no_near_identical_citations(news):
    ans = news.ask("city budget", k=8)
    texts = [c.text for c in ans.citations]
    assert len(set(texts)) == len(texts)


def test_k_larger_than_the_library(library):
    library.add_paths([DATA / "bad" / "good.md"])
    ans = library.ask("anything", k=50)
    assert 1 <= len(ans.citations) <= library.store.counts()[1]


def test_retrieve_returns_ranked_pairs(news):
    q = news.encoder.encode(["storm"])
    hits = retrieve(news, "storm", q, 10, "hybrid")
    assert len(hits) == 10 and all(a[1] >= b[1] for a, b in zip(hits, hits[1:]))


def test_bm25_keeps_the_best_weighted_scores(news):
    """The lexical leg's top n are the n best by the title/body-weighted score it returns, in order."""
    from qa.store.fts import terms
    from qa.answer.retrieval import BODY_WEIGHT, TITLE_WEIGHT

    q = terms("storm council budget flood school river")
    everything = news.store.lexical_search(q, 10_000, None, TITLE_WEIGHT, BODY_WEIGHT)
    top = news.store.lexical_search(q, 5, None, TITLE_WEIGHT, BODY_WEIGHT)
    assert len(everything) > 5
    assert [s for _, s in top] == sorted((s for _, s in everything), reverse=True)[:5]


def test_bm25_leaves_out_terms_most_passages_hold_at_scale():
    """At 100k passages a term in 30% of them would make FTS5 score 30k rows; it adds little (low IDF)."""
    import numpy as np

    from qa.answer import retrieval

    class Big:
        def __init__(self, n, df):
            self.n, self.df = n, df

        def passage_count(self):
            return self.n

        def idf(self, ts):
            return {t: float(np.log1p((self.n - self.df.get(t, 0) + 0.5) / (self.df.get(t, 0) + 0.5))) for t in ts}

    q = "Did the study find coral reefs recovering after the heatwave"
    df = {"study": 30000, "find": 20000, "coral": 400, "reefs": 350, "recovering": 2000, "heatwave": 90}
    kept = retrieval.lexical_terms(Big(100_000, df), q)
    assert set(kept) == {"heatwave", "reefs", "coral", "recovering"} and kept[0] == "heatwave"
    assert retrieval.lexical_terms(Big(900, {}), q) == retrieval.terms(q)  # small library: every term
    common = {t: 60000 for t in retrieval.terms(q)}
    assert len(retrieval.lexical_terms(Big(100_000, common), q)) == retrieval.MIN_TERMS
