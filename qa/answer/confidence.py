"""Answer confidence: the reader's answerability (best unit logit minus its no-answer logit), mapped to a
probability by a logistic fit stored as JSON next to the reader (qa/answer/reader/calibration.json), fitted by
bench/fit_reader_calibration.py on data that no reported number uses. Plain JSON: no pickle."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

CALIBRATION_FILE = Path(__file__).parent / "reader" / "calibration.json"
DEFAULTS = {"weight": 1.0, "bias": 0.0, "threshold": 0.5}  # until a fit exists: margin 0 = even odds


@lru_cache(maxsize=1)
def model() -> dict:
    try:
        data = json.loads(CALIBRATION_FILE.read_text("utf-8"))
        return {k: float(data[k]) for k in ("weight", "bias", "threshold")}
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULTS


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def answer_confidence(margin: float) -> float:
    m = model()
    return float(sigmoid(m["weight"] * margin + m["bias"]))


def threshold() -> float:
    return float(model()["threshold"])
