"""The calibration's question sets: SQuAD 2.0's unanswerable questions stay unanswerable, samples are
seeded and balanced, and the 'removed' library cuts only the answer's sentence."""
from bench import calibration_data as cd

from .conftest import FakeEncoder

C1 = "The Harbor Board approved a ferry route on Monday. Tickets will cost $3 for adults."
C2 = "Engineers tested two electric ferries. Each carries 150 passengers."
DATA = [{"title": "Port_Halden", "paragraphs": [
    {"context": C1,
     "qas": [{"id": "a", "question": "How much will adult tickets cost?",
              "answers": [{"text": "$3", "answer_start": C1.index("$3")}]},
             {"id": "b", "question": "Who built the ferries?", "answers": [], "is_impossible": True}]},
    {"context": C2,
     "qas": [{"id": "c", "question": "How many passengers does each ferry carry?",
              "answers": [{"text": "150 passengers", "answer_start": C2.index("150")}]}]}]}]


def test_squad_questions_mark_unanswerable_ones_and_filter_paragraphs():
    arts, qs = cd.squad_questions(DATA, "t")
    assert len(arts) == 2 and [q["answer"] for q in qs] == ["$3", None, "150 passengers"]
    assert qs[0]["context"][qs[0]["start"]:].startswith("$3") and qs[0]["title"] == "Port_Halden"
    arts, qs = cd.squad_questions(DATA, "t", keep_context=lambda c: "ferries" in c)
    assert len(arts) == 1 and [q["q"] for q in qs] == ["How many passengers does each ferry carry?"]
    assert cd.squad_questions(DATA, "t", keep_title=lambda t: False) == ([], [])


def test_samples_are_seeded_and_balanced():
    qs = [{"answer": None if i % 3 == 0 else "x"} for i in range(30)]
    one, two = cd.sample(qs, 10, balanced=True), cd.sample(qs, 10, balanced=True)
    assert one == two and len(one) == 10
    assert sum(q["answer"] is None for _, q in one) == 5
    assert cd.sample(qs, 0) == list(enumerate(qs))


def test_removed_library_cuts_only_the_answer_sentence(tmp_path):
    arts, qs = cd.squad_questions(DATA, "t")
    lib, picked = cd.removed_library(tmp_path / "lib", FakeEncoder(), arts, list(enumerate(qs)))
    assert picked == {0, 2}  # the unanswerable question has no sentence to cut
    body = " ".join(lib.get(row["id"]).text for row in lib.list())
    assert "$3" not in body and "150 passengers" not in body
    assert "approved a ferry route" in body and "Engineers tested" in body
