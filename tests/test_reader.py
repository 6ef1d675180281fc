"""The reader: shipped weights checked against their manifest; answer units and answer phrases."""
from __future__ import annotations

import shutil

import pytest

from corpus.errors import ReaderModelError
from corpus.sentences import sentence_units, split_sentences
from qa.answer.reader import files

BRIDGE_TITLE = "Orla River bridge opens to traffic"
BRIDGE = ("The new bridge over the Orla River opened to traffic on Tuesday after three years of work. "
          "It was designed by the engineer Petra Lindqvist, who also planned the harbor tunnel. "
          "The span cost $48 million, most of it paid by the regional government. "
          "\"It will cut the morning commute in half,\" said Mayor Tomas Berg at the ribbon cutting.")


def units_of(text):
    return [(u.start, u.end) for u in sentence_units(text, split_sentences(text))]


@pytest.fixture(scope="module")
def reader():
    from qa.answer.reader.read import default_reader

    return default_reader()


def test_shipped_weights_match_their_manifest_and_stay_small():
    m = files.verify()
    path = files.WEIGHTS_DIR / m["weights"]
    assert path.stat().st_size == m["bytes"] <= 25_000_000
    assert m["sha256"] == files.sha256(path)
    for key in ("base_model", "training_data", "settings", "heldout", "command"):
        assert m[key], key
    assert m["settings"]["seed"] == 0 and "SQuAD 1.1 train" in m["training_data"]["squad_train"]
    assert 0.5 < m["heldout"]["unit_accuracy"] <= 1.0


def _copy(tmp_path):
    folder = tmp_path / "reader"
    shutil.copytree(files.WEIGHTS_DIR, folder)
    return folder


def test_damaged_or_missing_weights_are_a_clear_error_naming_the_file(tmp_path):
    from qa.answer.reader.read import Reader

    folder = _copy(tmp_path)
    weights = folder / "reader.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ReaderModelError, match=r"reader\.safetensors are damaged.*python -m qa\.answer\.reader\.train"):
        Reader(folder).read("Who?", [("t", "Ana said so.", [(0, 12)])])
    weights.unlink()
    with pytest.raises(ReaderModelError, match=r"reader\.safetensors are missing"):
        Reader(folder).read("Who?", [("t", "Ana said so.", [(0, 12)])])
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(ReaderModelError, match=r"manifest\.json is not valid JSON"):
        files.verify(folder)


def test_check_reports_a_damaged_reader(tmp_path, monkeypatch, library):
    from qa.integrity import check

    assert "reader" in check(library.folder).facts
    folder = _copy(tmp_path)
    (folder / "reader.safetensors").write_bytes(b"\0" * 100)
    monkeypatch.setenv("ARTICLE_QA_READER", str(folder))
    report = check(library.folder)
    assert not report.ok and any("reader.safetensors are damaged" in p for p in report.problems)


def test_tokens_map_back_to_their_answer_units():
    from transformers import AutoTokenizer

    from qa.answer.reader.features import encode_pair, token_span
    from qa.answer.reader.model import base_path

    tok = AutoTokenizer.from_pretrained(str(base_path()))
    units = units_of(BRIDGE)
    assert len(units) == 4
    e = encode_pair(tok, "Who designed the bridge?", BRIDGE_TITLE, BRIDGE, units)
    for i, (a, b) in enumerate(units):
        offs = e.offsets[e.unit_of == i + 1]
        assert len(offs) and (offs[:, 0] >= a).all() and (offs[:, 1] <= b).all()
    first, last = token_span(e, BRIDGE.index("Petra"), BRIDGE.index("Petra") + len("Petra Lindqvist"))
    assert BRIDGE[e.offsets[first][0]:e.offsets[last][1]] == "Petra Lindqvist"
    assert (e.unit_of[:e.unit_of.nonzero()[0][0]] == 0).all()  # question and title tokens belong to no unit


@pytest.mark.parametrize("question,unit,phrase", [
    ("Who designed the new bridge?", 1, "Petra Lindqvist"),
    ("How much did the Orla River bridge cost?", 2, "$48 million"),
    ("What did the mayor say the bridge would do?", 3, "commute"),
    ("Who said the bridge would cut the commute?", 3, "Tomas Berg"),
])
def test_the_reader_finds_the_answering_sentence_and_phrase(reader, question, unit, phrase):
    from qa.answer.evidence import Candidate, quoted_phrase

    units = units_of(BRIDGE)
    r = reader.read(question, [(BRIDGE_TITLE, BRIDGE, units)])[0]
    assert r.best == unit and r.margin > 0
    # what the product shows: for "What did X say?" the quote, when the reader marked words outside it
    u = Candidate(None, *units[unit], BRIDGE[slice(*units[unit])], None)
    a, b = quoted_phrase(question, u, r.phrases[unit])
    assert units[unit][0] <= a < b <= units[unit][1] and phrase in BRIDGE[a:b]
    assert abs(r.no_answer + r.unit_probs.sum() - 1.0) < 1e-4


def test_precision_is_measured_or_forced(reader, monkeypatch):
    from qa.answer.reader.read import choose_precision

    reader.ensure_loaded()
    assert reader.precision in ("float32", "bfloat16") and reader.precision_reason
    monkeypatch.setenv("ARTICLE_QA_PRECISION", "float32")
    assert choose_precision(None, []) == ("float32", "ARTICLE_QA_PRECISION=float32")


def test_answer_removed_negatives_keep_the_topic_and_drop_only_the_answer():
    from qa.answer.reader.squad import answer_removed

    start = BRIDGE.index("$48 million")
    text = answer_removed(BRIDGE, start, "$48 million")
    assert text is not None and "$48 million" not in text
    assert "Petra Lindqvist" in text and "Orla River" in text and len(units_of(text)) == 3
    # the answer also stated elsewhere: removing one sentence would not make the question unanswerable
    twice = BRIDGE + " Officials said Petra Lindqvist was paid well."
    assert answer_removed(twice, twice.index("Petra"), "Petra Lindqvist") is None
    assert answer_removed("A single sentence.", 2, "single") is None


def test_what_someone_said_is_the_quote_and_who_said_it_is_the_speaker():
    from qa.answer.evidence import Candidate, quoted_phrase

    a, b = BRIDGE.index("\"It will"), len(BRIDGE)
    unit = Candidate(None, a, b, BRIDGE[a:b], None)
    speaker = (BRIDGE.index("Tomas"), BRIDGE.index(" at the ribbon"))
    quote = BRIDGE[slice(*quoted_phrase("What did the mayor say about the bridge?", unit, speaker))]
    assert quote == "It will cut the morning commute in half"
    inside = (BRIDGE.index("the morning"), BRIDGE.index(" in half"))
    assert quoted_phrase("What did the mayor say the bridge would cut?", unit, inside) == inside
    assert quoted_phrase("Who said the commute would be cut in half?", unit, speaker) == speaker
    assert quoted_phrase("How much did the bridge cost?", unit, speaker) == speaker
