"""`auto` precision (embeddings/precision.py): measured on this machine the first time, cached per CPU,
torch version, cores and model; forced by ARTICLE_QA_PRECISION; shown by stats."""
from __future__ import annotations

import json

import pytest

from embeddings import SentenceTransformerEncoder, precision


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(precision.ENV_CACHE, str(tmp_path))
    monkeypatch.delenv(precision.ENV_PRECISION, raising=False)
    return tmp_path / "precision.json"


def test_decide_keeps_bfloat16_only_when_faster_and_equivalent():
    assert precision.decide(2.0, 1.0, True, "cos 0.9999")[0] == "bfloat16"
    assert precision.decide(1.0, 2.0, True, "cos 0.9999") == ("float32", "measured: bfloat16 0.50x the speed of float32")
    choice, how = precision.decide(2.0, 1.0, False, "lowest cosine 0.99")
    assert choice == "float32" and "but lowest cosine 0.99" in how


def test_choose_measures_once_then_uses_the_cache(cache):
    calls = []

    def measure():
        calls.append(1)
        return 3.0, 1.0, True, "same"

    assert precision.choose("encoder", "m", measure)[0] == "bfloat16" and len(calls) == 1
    choice, how = precision.choose("encoder", "m", measure)
    assert choice == "bfloat16" and "(cached" in how and len(calls) == 1
    key = precision.machine_key("encoder", "m")
    assert precision.cpu_model() in key and "torch" in key and json.loads(cache.read_text())[key]["choice"] == "bfloat16"
    assert precision.choose("encoder", "other-model", measure) and len(calls) == 2  # per model
    cache.write_text("{not json")  # a damaged cache costs one measurement, never an error
    assert precision.choose("encoder", "m", measure)[0] == "bfloat16" and len(calls) == 3


def test_the_environment_forces_a_precision(cache, monkeypatch):
    monkeypatch.setenv(precision.ENV_PRECISION, "float32")
    assert precision.choose("encoder", "m", lambda: pytest.fail("must not measure")) == (
        "float32", "ARTICLE_QA_PRECISION=float32")


@pytest.mark.model
def test_auto_measures_the_real_model_and_stats_show_it(cache, tmp_path):
    from qa import Library

    enc = SentenceTransformerEncoder(precision="auto")
    assert enc.precision_facts()["precision"] is None  # not measured here yet, and nothing loaded
    lib = Library(tmp_path / "lib", enc)
    vec = enc.encode(["A ferry route opened on Wednesday."])
    assert vec.shape == (1, enc.dim) and abs(float((vec ** 2).sum()) - 1.0) < 1e-2
    facts = lib.stats()["precision"]
    assert facts["precision"] in ("float32", "bfloat16") and facts["how"].startswith("measured: bfloat16 ")
    # the agreement check (cosine to float32) only matters, and is only reported, when bfloat16 is faster:
    # on a Xeon without AMX it measured 0.79x and float32 was kept without it
    assert "cosine" in facts["how"] or (facts["precision"] == "float32" and " 0." in facts["how"])
    assert next(enc.model.parameters()).dtype.__repr__().endswith(facts["precision"])
    again = SentenceTransformerEncoder(precision="auto")
    assert again.precision_facts()["precision"] == facts["precision"] and "cached" in again.precision_facts()["how"]
    lib.close()
