"""Model inputs for the reader: [CLS] question [SEP] title. passage [SEP], with each token tagged by the
answer unit (sentence, or whole quote) it belongs to. Shared by training and answering, so both see
the same inputs."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_QUESTION_TOKENS = 48
MAX_TITLE_TOKENS = 16
MAX_LENGTH = 384  # passages are at most 256 tokens; the rest is question, title and markers


@dataclass(frozen=True)
class Encoded:
    """One question-passage pair as token ids. `unit_of[i]` is 1 + the unit index of token i (0 when the
    token is not passage text); `offsets[i]` its character range in the passage (passage tokens only)."""

    ids: np.ndarray
    type_ids: np.ndarray
    unit_of: np.ndarray
    offsets: np.ndarray  # (n_tokens, 2), relative to the passage text; -1 outside the passage
    n_units: int


def encode_pair(tokenizer, question: str, title: str, text: str, units: list[tuple[int, int]]) -> Encoded:
    """`units` are (start, end) character ranges in `text`, in order; tokens past MAX_LENGTH are cut."""
    q = tokenizer(question, add_special_tokens=False)["input_ids"][:MAX_QUESTION_TOKENS]
    t = tokenizer(f"{title}." if title else "", add_special_tokens=False)["input_ids"][:MAX_TITLE_TOKENS]
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    room = MAX_LENGTH - len(q) - len(t) - 3
    p, offs = enc["input_ids"][:room], enc["offset_mapping"][:room]
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    ids = [cls] + q + [sep] + t + p + [sep]
    head = 2 + len(q) + len(t)
    type_ids = [0] * (2 + len(q)) + [1] * (len(t) + len(p) + 1)
    unit_of = np.zeros(len(ids), np.int64)
    offsets = np.full((len(ids), 2), -1, np.int64)
    u = 0
    for i, (a, b) in enumerate(offs):
        while u < len(units) and a >= units[u][1]:
            u += 1
        offsets[head + i] = (a, b)
        if u < len(units) and a >= units[u][0] and b > a:
            unit_of[head + i] = u + 1
    return Encoded(np.asarray(ids, np.int64), np.asarray(type_ids, np.int64), unit_of, offsets, len(units))


def collate(batch: list[Encoded]):
    """Pad a list of Encoded into arrays: ids, type ids, attention mask, unit map; and the unit count."""
    n = max(len(e.ids) for e in batch)
    ids = np.zeros((len(batch), n), np.int64)
    types = np.zeros_like(ids)
    mask = np.zeros_like(ids)
    units = np.zeros_like(ids)
    for i, e in enumerate(batch):
        k = len(e.ids)
        ids[i, :k], types[i, :k], mask[i, :k], units[i, :k] = e.ids, e.type_ids, 1, e.unit_of
    return ids, types, mask, units, max(1, max(e.n_units for e in batch))


def token_span(e: Encoded, start: int, end: int) -> tuple[int, int] | None:
    """Token indices (first, last) covering characters [start, end) of the passage, or None if cut off."""
    inside = np.nonzero((e.offsets[:, 1] > start) & (e.offsets[:, 0] < end) & (e.offsets[:, 0] >= 0))[0]
    if len(inside) == 0:
        return None
    return int(inside[0]), int(inside[-1])
