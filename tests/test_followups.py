"""Follow-up planning (qa.answer.followup.plan) and questions that name their source (qa.answer.sources),
without a model: which searches a turn makes, in which order, with which filters."""
from __future__ import annotations

from corpus.records import Answer, Citation, Highlight
from qa import Filters
from qa.answer.followup import content_free, entities, plan, strip_note, the_other
from qa.answer.sources import named_source


def _cite(n, aid, title, text, outlet="Paper"):
    return Citation(n=n, article_id=aid, title=title, authors=(), outlet=outlet, date="2024-11-06", source="s",
                    paragraph=1, start=0, end=len(text), text=text, score=0.5, passage_id=n)


VALDORIA = _cite(1, "val", "Bank of Valdoria Holds Rate",
                 "The Bank of Valdoria kept its rate at 4.5 percent. The Northern Reserve Bank, which sets rates "
                 "for Ostland, meets on Thursday. Mortgage lenders cited the Valdorian Bankers Association.")


def turn(question, cite=VALDORIA, searched_for=None):
    a = Answer(question=question, answer=cite.text, abstained=False, confidence=0.9,
               highlight=Highlight(citation=1, start=0, end=10, text=cite.text[:10]), citations=(cite,),
               searched_for=searched_for or question)
    return (question, a)


def test_content_free_turns():
    for q in ("Did anyone die?", "How did the company respond?", "Do I need to book ahead?",
              "What's the fine if someone gets caught a third time?", "What did he say next?"):
        assert content_free(q), q
    for q in ("What did the Northern Reserve Bank decide?", "How many measles cases were confirmed in Brentford County?",
              "What about the other bank?"):
        assert not content_free(q), q


def test_a_content_free_turn_is_searched_in_the_focus_article_first_then_everywhere():
    tries = plan("How did the company respond?", [turn("What did the Bank of Valdoria decide?")])
    assert len(tries) == 2
    assert tries[0].filters == Filters(article_ids=("val",)) and "in the article in focus" in tries[0].note
    assert tries[0].supported  # a supporting sentence in the article in focus is enough
    assert tries[1].filters is None and tries[1].query == "How did the company respond?"  # widened, as asked
    assert plan("Who won the Lakeport Marathon?", [turn("What did the Bank of Valdoria decide?")])[0].filters is None
    assert [t.query for t in plan("Did anyone die?", [])] == ["Did anyone die?"]  # no history, nothing to keep


def test_the_other_one_is_the_name_not_asked_about_and_is_searched_outside_the_focus():
    turns = [turn("What did the Bank of Valdoria decide about interest rates?")]
    assert the_other("bank", turns) == ("Northern Reserve Bank", "Bank of Valdoria", "bank")
    tries = plan("What about the other bank?", turns)
    assert tries[0].query == "What did the Northern Reserve Bank decide about interest rates?"
    assert tries[0].filters == Filters(exclude_ids=("val",)) and "outside the article in focus" in tries[0].note
    assert tries[-1].filters is None
    full = plan("What did the other bank decide?", turns)[0].query
    assert full == "What did the Northern Reserve Bank decide?"
    named = plan("What about Ostland?", turns)[0]
    assert named.query == "What did the Ostland decide about interest rates?" or "Ostland" in named.query
    assert named.filters == Filters(exclude_ids=("val",))


def test_entities_and_notes():
    assert entities("The Bank of Valdoria and the Northern Reserve Bank met.") == ["Bank of Valdoria",
                                                                                  "Northern Reserve Bank"]
    assert strip_note("How much? (ferry) [in the article in focus: Port Halden]") == "How much? (ferry)"
    assert strip_note("What about [brackets] inside?") == "What about [brackets] inside?"
    titled = "How? (x) [in the article in focus: [Feature](https://b) c]"  # a title with brackets of its own
    assert strip_note(titled) == "How? (x)"


SOURCES = {"outlets": ["Overland Wire Service", "The Dunmore Herald", "AP"], "authors": ["Teresa Vance"],
           "dates": {"wire": "2024-11-08", "herald": "2024-11-09"}}


def test_questions_that_name_an_outlet_author_or_day():
    f, note = named_source("According to the Overland Wire Service, how many were evacuated?", SOURCES)
    assert f.outlets == ("Overland Wire Service",) and "Overland Wire Service" in note
    assert named_source("What did the dunmore herald report?", SOURCES)[0].outlets == ("The Dunmore Herald",)
    assert named_source("In Saturday's story, how many were evacuated?", SOURCES)[0].article_ids == ("herald",)
    assert named_source("What did the November 8 article say?", SOURCES)[0].article_ids == ("wire",)
    assert named_source("Per the 2024-11-09 report?", SOURCES)[0].article_ids == ("herald",)
    assert named_source("What did Teresa Vance report about the chlorine?", SOURCES)[0].authors == ("Teresa Vance",)
    for q in ("How many were evacuated on Saturday?", "Was there a rapid response?", "Who is Teresa Vance?",
              "What happened in Dunmore?"):
        assert named_source(q, SOURCES) is None, q  # no source named: "AP" is not found inside "rapid"


def test_filters_within():
    user = Filters(outlets=("A",), since="2024-01-01")
    both = user.within(Filters(article_ids=("x",), since="2024-06-01", exclude_ids=("y",)))
    assert both == Filters(outlets=("A",), since="2024-06-01", article_ids=("x",), exclude_ids=("y",))
    assert Filters(article_ids=("a",)).within(Filters(article_ids=("b",))).article_ids == ("",)  # none in both
