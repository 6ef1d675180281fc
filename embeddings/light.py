"""The common sentence-transformers layout (Transformer -> mean or CLS pooling -> optional Normalize)
run with transformers alone.

Importing sentence_transformers also imports scikit-learn and SciPy (about 2-4 s here), which every
`article-qa ask` paid at start. A model folder with only those three modules (all-MiniLM-L6-v2 and most
sentence-transformers models) loads here instead and gives the same vectors (tests/test_light.py); any
other layout still loads through sentence-transformers."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SUPPORTED = {"sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
             "sentence_transformers.models.Normalize"}


def layout(folder) -> dict | None:
    """{"pooling": "mean"|"cls", "normalize": bool, "max_seq_length": int} for a supported folder, else None."""
    folder = Path(folder)
    try:
        modules = json.loads((folder / "modules.json").read_text("utf-8"))
        if {m["type"] for m in modules} - SUPPORTED or modules[0]["type"] != "sentence_transformers.models.Transformer" \
                or modules[0].get("path", "") != "":
            return None
        pooling = next(m for m in modules if m["type"].endswith("Pooling"))
        pcfg = json.loads((folder / pooling["path"] / "config.json").read_text("utf-8"))
        modes = [k for k, v in pcfg.items() if k.startswith("pooling_mode_") and v]
        if modes not in (["pooling_mode_mean_tokens"], ["pooling_mode_cls_token"]):
            return None
        cfg = json.loads((folder / "sentence_bert_config.json").read_text("utf-8"))
        if cfg.get("do_lower_case"):
            return None
        return {"pooling": "mean" if modes == ["pooling_mode_mean_tokens"] else "cls",
                "normalize": any(m["type"].endswith("Normalize") for m in modules),
                "max_seq_length": int(cfg.get("max_seq_length", 256))}
    except (OSError, ValueError, KeyError, StopIteration, TypeError):
        return None


class LightModel:
    """The part of SentenceTransformer's interface the encoder uses, over a transformers AutoModel."""

    def __init__(self, folder, spec: dict, device: str = "cpu"):
        from . import bert

        self.plain = bert.plain_config(folder) is not None
        if self.plain:  # BERT: plain torch + tokenizers, no transformers import (embeddings/bert.py)
            self.tokenizer = bert.Tokenizer(folder)
            self.net = bert.Bert.from_folder(folder).to(device)
        else:
            from transformers import AutoModel, AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
            self.net = AutoModel.from_pretrained(str(folder)).to(device).eval()
        self.max_seq_length = spec["max_seq_length"]
        self.spec, self.device = spec, device

    def parameters(self):
        return self.net.parameters()

    def to(self, dtype):
        self.net = self.net.to(dtype)
        return self

    def get_embedding_dimension(self) -> int:
        return int(self.net.config.hidden_size)

    def encode(self, texts, batch_size: int = 32, show_progress_bar: bool = False, convert_to_numpy: bool = True,
               convert_to_tensor: bool = False, normalize_embeddings: bool = False, **_):
        """Vectors for `texts`, batched longest-first (less padding), returned in input order."""
        import torch

        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = [None] * len(texts)
        bar = None
        if show_progress_bar:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), unit="text", desc="Embedding", leave=False)
        with torch.inference_mode():
            for b in range(0, len(texts), batch_size):
                idx = order[b:b + batch_size]
                batch = [texts[i] for i in idx]
                if self.plain:
                    enc = {k: v.to(self.device) for k, v in self.tokenizer.batch(batch, self.max_seq_length).items()}
                else:
                    enc = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_seq_length,
                                         return_tensors="pt").to(self.device)
                hidden = self.net(**enc).last_hidden_state
                if self.spec["pooling"] == "mean":
                    mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                else:
                    vec = hidden[:, 0]
                if self.spec["normalize"] or normalize_embeddings:
                    vec = torch.nn.functional.normalize(vec.float(), dim=-1).to(vec.dtype)
                for i, v in zip(idx, vec):
                    out[i] = v
                if bar is not None:
                    bar.update(len(idx))
        if bar is not None:
            bar.close()
        stacked = torch.stack(out)
        return stacked if convert_to_tensor or not convert_to_numpy else stacked.float().cpu().numpy()
