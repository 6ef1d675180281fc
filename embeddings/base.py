"""The Encoder interface every embedding model implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

import numpy as np


class Encoder(ABC):
    """Turns texts into float32, L2-normalized vectors; counts tokens the way the model does."""

    model_id: str

    @property
    @abstractmethod
    def dim(self) -> int: ...

    @property
    @abstractmethod
    def max_tokens(self) -> int:
        """Most content tokens one input may hold without truncation (special tokens excluded)."""

    @abstractmethod
    def count_tokens(self, text: str) -> int: ...

    @abstractmethod
    def _encode(self, texts: list[str], batch_size: int, show_progress: bool) -> np.ndarray: ...

    def encode(self, texts: Sequence[str], batch_size: int = 32, show_progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = np.asarray(self._encode(texts, batch_size, show_progress), dtype=np.float32)
        return normalize_rows(vecs)


def normalize_rows(vecs: np.ndarray) -> np.ndarray:
    """L2-normalize rows; an all-zero row stays zero instead of turning into NaN."""
    vecs = np.ascontiguousarray(vecs, dtype=np.float32)
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs / np.where(norms > 0, norms, 1.0)
