"""The reader's training command end to end on a tiny SQuAD-format file we wrote: it trains, prints
held-out scores and writes weights + manifest that the product loads."""
from __future__ import annotations

import gzip
import json

import pytest

from corpus.sentences import split_sentences
from qa.answer.reader import squad

PARAS = [
    ("The Harbor Board approved the new ferry route on Monday. The route links Port Halden with Ashby Point. "
     "Tickets will cost $3 for adults. Service starts in June.",
     [("What did the Harbor Board approve?", "the new ferry route"), ("How much will adult tickets cost?", "$3"),
      ("When does service start?", "June")]),
    ("Engineers tested the two electric ferries in the bay. Each boat carries 150 passengers. "
     "The builder, Nordvik Yards, delivered them early.",
     [("How many passengers does each boat carry?", "150 passengers"), ("Who built the ferries?", "Nordvik Yards")]),
]


def squad_file(path, titles):
    data = {"data": []}
    for title in titles:
        paras = []
        for ctx, qas in PARAS:
            paras.append({"context": ctx, "qas": [{"id": f"{title}{i}", "question": q,
                                                   "answers": [{"text": a, "answer_start": ctx.index(a)}]}
                                                  for i, (q, a) in enumerate(qas)]})
        data["data"].append({"title": title, "paragraphs": paras})
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(data, f)


def test_examples_hold_positives_and_answer_free_negatives(tmp_path):
    import random

    squad_file(tmp_path / "train-v1.1.json.gz", ["Ferries"])
    count = lambda s: len(s.split())  # noqa: E731
    heldout = squad.heldout_title("Ferries")
    ex = squad.squad_examples(tmp_path / "train-v1.1.json.gz", count, heldout, random.Random(0), 1.0, 1.0)
    pos = [e for e in ex if e.kind == "positive"]
    assert len(pos) == 5
    for e in pos:
        a, b = e.units[e.target]
        assert a <= e.answer[0] < e.answer[1] <= b
    for e in ex:
        if e.kind != "positive":
            q = next(p for p in pos if p.question == e.question)
            gold = q.text[q.answer[0]:q.answer[1]].lower()
            assert e.target == -1 and gold not in e.text.lower(), (e.kind, e.text)
    assert {e.kind for e in ex} == {"positive", "removed", "other"}


@pytest.mark.model
def test_training_command_writes_weights_the_product_loads(tmp_path, capsys):
    from qa.answer.reader import files, train
    from qa.answer.reader.read import Reader

    trained = [t for t in (f"Ferries {i}" for i in range(9)) if not squad.heldout_title(t)][:2]
    held = [t for t in (f"Held {i}" for i in range(200)) if squad.heldout_title(t)][:1]
    titles = trained + held
    squad_file(tmp_path / "train-v1.1.json.gz", titles)
    out = tmp_path / "reader"
    train.main(["--squad", str(tmp_path), "--xquad", str(tmp_path / "none.json"), "--questions", "8",
                "--batch", "4", "--heldout", "4", "--out", str(out), "--frozen-layers", "3"])
    printed = capsys.readouterr().out
    assert "held-out" in printed and "wrote" in printed
    m = files.verify(out)
    assert m["heldout"]["positives"] > 0 and m["steps"] >= 1 and m["settings"]["seed"] == 0
    assert m["settings"]["dropout"] == 0.0
    # no --precision: one step was timed in each and the faster kept (bfloat16 is slower on some CPUs)
    assert m["settings"]["precision"] in ("float32", "bfloat16")
    assert m["precision_chosen"].startswith("measured a step: float32 ")
    from safetensors import safe_open

    with safe_open(str(out / m["weights"]), "pt") as f:  # only the layers above the frozen three ship
        layers = {int(k.split(".")[3]) for k in f.keys() if k.startswith("bert.encoder.layer.")}
    assert layers == {3, 4, 5} and m["base_model"]["frozen_layers"] == 3
    text = PARAS[1][0]
    units = [(u.start, u.end) for u in split_sentences(text)]
    r = Reader(out).read("How many passengers does each boat carry?", [("Ferries", text, units)])[0]
    assert len(r.unit_probs) == 3 and 0.0 <= r.no_answer <= 1.0


@pytest.mark.model
def test_training_without_dropout_is_deterministic_in_train_mode():
    import torch

    from qa.answer.reader import model

    net = model.build().train()
    x = torch.tensor([[101, 2129, 2116, 102, 1996, 4049, 102]])
    args = (x, torch.zeros_like(x), torch.ones_like(x), torch.tensor([[0, 0, 0, 0, 1, 1, 0]]), 1)
    torch.manual_seed(0)
    assert not torch.equal(net(*args)[2], net(*args)[2])  # MiniLM's own dropout is on
    model.set_dropout(net, 0.0)
    assert torch.equal(net(*args)[2], net(*args)[2])


RACE = ("Ruth Wanjiru won the Lakeport Marathon in 2 hours 21 minutes. Wanjiru, 27, pulled away from Ethiopia's "
        "Meseret Alemu near the harbor. The race began in 1979 and drew 9,000 runners under Director Diane Collier.")


def test_swapped_questions_ask_about_another_name_or_year_of_the_passage():
    import random

    unit = (RACE.index("Wanjiru, 27"), RACE.index(" The race"))
    answer = (RACE.index("27"), RACE.index("27") + 2)
    seen = set()
    for seed in range(30):
        q = squad.swap_question("How old is Wanjiru?", RACE, unit, answer, random.Random(seed))
        assert q and q.startswith("How old is ") and "Wanjiru" not in q
        seen.add(q[len("How old is "):-1])
    # other names of the passage, never a weekday/month, the answer, or a sentence's first word
    assert seen <= {"Meseret Alemu", "Ethiopia", "Lakeport Marathon", "Diane Collier", "Director Diane Collier"}
    assert "Meseret Alemu" in seen and len(seen) >= 3
    year = squad.swap_question("How many runners entered the race first held in 1979?", RACE, unit, answer,
                               random.Random(0))
    assert year and "1979" not in year and any(str(y) in year for y in (1976, 1977, 1978, 1980, 1981, 1982))
    assert squad.swap_question("How old is the winner?", RACE, unit, answer, random.Random(0)) is None
