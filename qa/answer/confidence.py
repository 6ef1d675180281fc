"""Calibrated scores: sentence support and answer confidence, from logistic models stored as JSON.

The weights are fitted by bench/fit_calibration.py (xquad-en, one half of its articles; mtrag-un turns)
and checked on data they were not fitted on. Plain JSON: no pickle.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
ANSWER_FEATURES = ("best_support", "top_passage_sim", "best_overlap", "coverage", "best_sim", "best_reader_prob",
                   "best_reader_margin")

# Used until a fitted file exists (hand-set, roughly calibrated on the sample articles).
DEFAULTS = {
    "sentence": {"weights": [8.0, 3.0, 2.0, 0.5, 1.5, 0.2, 2.0, 0.5, 4.0, 0.2], "bias": -7.0},
    "answer": {"weights": [3.0, 6.0, 2.0, 2.0, 4.0, 2.0, 0.3], "bias": -6.0},
    "threshold": 0.5,
}


@lru_cache(maxsize=1)
def model() -> dict:
    try:
        data = json.loads(CALIBRATION_FILE.read_text("utf-8"))
        from .evidence import SENTENCE_FEATURES

        if len(data["sentence"]["weights"]) != len(SENTENCE_FEATURES) or \
                len(data["answer"]["weights"]) != len(ANSWER_FEATURES):
            return DEFAULTS  # fitted for another feature set: refit with bench/fit_calibration.py
        return {k: data[k] for k in ("sentence", "answer", "threshold")}
    except (OSError, ValueError, KeyError):
        return DEFAULTS


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def sentence_support(features: np.ndarray) -> np.ndarray:
    m = model()["sentence"]
    return sigmoid(np.atleast_2d(features) @ np.asarray(m["weights"]) + m["bias"])


def answer_features(question_stems: set, best, citations, cited_text_stems: set) -> np.ndarray:
    coverage = len(question_stems & cited_text_stems) / max(1, len(question_stems))
    return np.array([best.score, citations[0].score if citations else 0.0, best.features[1], coverage,
                     best.features[0], best.features[8], best.features[9]], np.float64)


def answer_confidence(features: np.ndarray) -> float:
    m = model()["answer"]
    return float(sigmoid(features @ np.asarray(m["weights"]) + m["bias"]))


def threshold() -> float:
    return float(model()["threshold"])
