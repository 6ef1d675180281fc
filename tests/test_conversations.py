"""Written conversations about the sample articles, answered with the real bundled model: follow-ups that
name nothing new stay with the article in focus, "the other X" finds the other one, and a question that
names an outlet or a day cites that copy of a wire story (issue 14)."""
from __future__ import annotations

import pytest

from qa import Conversation

pytestmark = pytest.mark.model


def _cited(a):
    return a.citations[a.highlight.citation - 1]


def talk(lib, *questions):
    conv = Conversation(lib)
    return [conv.ask(q) for q in questions]


def test_follow_ups_that_name_nothing_new_are_answered_from_the_article_in_focus(sample_library):
    first, company = talk(sample_library, "How many residents were evacuated after the Dunmore derailment?",
                          "How did the company respond?")
    assert "Dunmore" in _cited(first).title
    assert not company.abstained and "Dunmore" in _cited(company).title
    assert "spokeswoman" in company.highlight.text and "[in the article in focus:" in company.searched_for
    _, cost = talk(sample_library, "What did Mayor Dennis Okafor announce?", "How much will it cost?")
    assert "$42 million" in cost.highlight.text and "in the article in focus" in cost.searched_for
    _, fine = talk(sample_library, "What restrictions did Sagebrush Valley impose on watering?",
                   "What's the fine if someone gets caught a third time?")
    assert not fine.abstained and "fines of $" in fine.highlight.text
    _, hurt = talk(sample_library, "How many residents were evacuated after the Dunmore derailment?",
                   "Did anyone get hurt?")
    assert "No injuries were reported" in hurt.highlight.text and "Dunmore" in _cited(hurt).title


def test_the_other_bank_is_the_one_the_first_answer_named_but_did_not_cite(sample_library):
    first, other, vote = talk(sample_library, "What did the Bank of Valdoria decide about interest rates?",
                              "What about the other bank?", "Did anyone vote against it?")
    assert _cited(first).outlet == "The Continental Economist"
    assert "Northern Reserve Bank" in other.searched_for and "outside the article in focus" in other.searched_for
    assert _cited(other).outlet == "Ostland Business Daily" and "cut" in other.highlight.text
    assert "unanimous" in vote.highlight.text and _cited(vote).outlet == "Ostland Business Daily"


@pytest.mark.parametrize("question, outlet, number", [
    ("According to the Overland Wire Service, how many residents were evacuated?", "Overland Wire Service", "1,200"),
    ("According to The Dunmore Herald, how many residents were evacuated?", "The Dunmore Herald", "1,400"),
    ("In Saturday's story, how many residents had to leave their homes in Dunmore?", "The Dunmore Herald", "1,400"),
])
def test_a_named_outlet_or_day_cites_that_copy_of_the_wire_story(sample_library, question, outlet, number):
    a = sample_library.ask(question)
    assert _cited(a).outlet == outlet and number in a.highlight.text and "[preferring" in a.searched_for
    others = {x.outlet for c in a.citations for x in c.also_in}
    assert others and outlet not in others  # the other copy is listed as a near-copy, not cited


def test_a_named_outlet_with_nothing_to_say_falls_back_to_every_article(sample_library):
    a = sample_library.ask("According to the Overland Wire Service, what did the U.S. offer Maduro?")
    assert not a.abstained and "Maduro" in _cited(a).title and "[preferring" not in a.searched_for
