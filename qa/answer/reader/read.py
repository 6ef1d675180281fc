"""Reading passages with the trained reader: per answer unit a probability that it answers, the answer
phrase inside each unit, and the probability that the passage does not answer at all.

The network loads on first use (offline, checked against its manifest). Passages are read in one batch,
longest first, in bfloat16 when that measured faster than float32 on this machine at load time and
agreed with it (see `choose_precision`)."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numpy as np

from .features import Encoded, collate, encode_pair

MAX_PHRASE_TOKENS = 24


@dataclass(frozen=True)
class Reading:
    """What the reader found in one passage. `unit_probs[i]` is the probability that unit i answers and
    `no_answer` that none does (they sum to 1); `phrases[i]` the best phrase in unit i as character
    offsets in the passage text; `margin` = best unit logit - no-answer logit."""

    no_answer: float
    unit_probs: np.ndarray
    phrases: tuple[tuple[int, int], ...]
    margin: float

    @property
    def best(self) -> int:
        return int(np.argmax(self.unit_probs)) if len(self.unit_probs) else -1


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def best_phrase(enc: Encoded, start: np.ndarray, end: np.ndarray, unit: int) -> tuple[int, int]:
    """Character range (in the passage) of the best start<=end token pair inside `unit`."""
    tok = np.nonzero(enc.unit_of == unit + 1)[0]
    if len(tok) == 0:
        return (0, 0)
    s, e = start[tok], end[tok]
    # score[i, j] = s[i] + e[j] for i <= j < i + MAX_PHRASE_TOKENS
    score = s[:, None] + e[None, :]
    i, j = np.indices(score.shape)
    score = np.where((j >= i) & (j - i < MAX_PHRASE_TOKENS), score, -np.inf)
    a, b = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(enc.offsets[tok[a], 0]), int(enc.offsets[tok[b], 1])


def decode(enc: Encoded, null: float, units: np.ndarray, start: np.ndarray, end: np.ndarray) -> Reading:
    units = units[:enc.n_units]
    probs = softmax(np.concatenate([[null], units]))
    phrases = tuple(best_phrase(enc, start, end, u) for u in range(enc.n_units))
    margin = float(units.max() - null) if len(units) else -float("inf")
    return Reading(float(probs[0]), probs[1:], phrases, margin)


def run_batch(net, encoded: list[Encoded], bf16: bool) -> list[tuple]:
    """Raw outputs (null, units, start, end) per pair, in input order."""
    import torch

    *arrays, n_units = collate(encoded)
    x = [torch.from_numpy(a) for a in arrays]
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        null, units, start, end = net(*x, n_units)
    return [(float(null[i]), units[i].float().numpy(), start[i].float().numpy(), end[i].float().numpy())
            for i in range(len(encoded))]


def choose_precision(net, sample: list[Encoded], model_id: str = "reader") -> tuple[str, str]:
    """('bfloat16' or 'float32', how it was chosen), by the encoder's rule (embeddings.precision): forced
    by ARTICLE_QA_PRECISION, cached for this machine, or timed on `sample` now, bfloat16 kept only when
    faster and its decisions (best unit, no-answer margin within 0.5) agree with float32's."""
    from embeddings import precision

    def measure():
        outs = {}
        for bf16 in (False, True):
            outs[bf16] = run_batch(net, sample, bf16)
        t32 = precision.timed(lambda: run_batch(net, sample, False), repeat=1)
        t16 = precision.timed(lambda: run_batch(net, sample, True), repeat=1)
        agree = all(abs((a[1].max() - a[0]) - (b[1].max() - b[0])) < 0.5 and int(a[1].argmax()) == int(b[1].argmax())
                    for a, b in zip(outs[False], outs[True]))
        return t32, t16, agree, "same decisions" if agree else "decisions differ"

    return precision.choose("reader", model_id, measure)


class Reader:
    """The shipped reader (loaded lazily). `read` takes (question, [(title, text, units)])."""

    def __init__(self, folder=None):
        self.folder = folder
        self._net = None
        self._tokenizer = None
        self.manifest: dict = {}
        self.precision = None
        self.precision_reason = ""
        self._lock = threading.Lock()

    def _load(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from embeddings.bert import Tokenizer

        from . import model

        net, manifest = model.load(self.folder)
        tokenizer = Tokenizer(model.base_path())
        if torch.get_num_threads() > (os.cpu_count() or 1):
            torch.set_num_threads(os.cpu_count() or 1)
        sample = [encode_pair(tokenizer, "Who announced the new ferry route on Wednesday?", "Harbor news",
                              "The mayor announced the route. " * 18, [(i * 31, i * 31 + 30) for i in range(18)])] * 4
        self.precision, self.precision_reason = choose_precision(net, sample, f"reader {manifest.get('sha256', '')[:16]}")
        self.manifest, self._tokenizer, self._net = manifest, tokenizer, net

    def ensure_loaded(self):
        if self._net is None:
            with self._lock:
                if self._net is None:
                    self._load()

    def read(self, question: str, passages: list[tuple[str, str, list[tuple[int, int]]]]) -> list[Reading]:
        if not passages:
            return []
        self.ensure_loaded()
        enc = [encode_pair(self._tokenizer, question, title, text, units) for title, text, units in passages]
        order = sorted(range(len(enc)), key=lambda i: -len(enc[i].ids))
        raw = [None] * len(enc)
        bf16 = self.precision == "bfloat16"
        for b in range(0, len(order), 16):
            idx = order[b:b + 16]
            for i, r in zip(idx, run_batch(self._net, [enc[i] for i in idx], bf16)):
                raw[i] = r
        return [decode(e, *r) for e, r in zip(enc, raw)]


_shared: Reader | None = None
_shared_lock = threading.Lock()


def default_reader() -> Reader:
    """The shipped reader, shared by every library in the process (loaded once, on first question)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Reader()
        return _shared
