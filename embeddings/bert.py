"""BERT in plain torch, with the `tokenizers` package: what all-MiniLM-L6-v2 and the reader run on.

Importing transformers' model code takes 3-4 s on a small CPU (it pulls in torch._dynamo), which every
`article-qa ask` paid before its first answer. These ~100 lines do the same forward pass: parameter names
match transformers' BertModel, so the same safetensors load unchanged, and tests/test_light.py checks
the vectors and the tokens against transformers. Other architectures still load through transformers."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import torch
from torch import nn
from torch.nn import functional as F


def plain_config(folder) -> dict | None:
    """config.json of a BERT folder this module can run (absolute positions, exact GELU), else None."""
    try:
        cfg = json.loads((Path(folder) / "config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    ok = (cfg.get("model_type") == "bert" and cfg.get("hidden_act") == "gelu"
          and cfg.get("position_embedding_type", "absolute") == "absolute" and (Path(folder) / "tokenizer.json").is_file())
    return cfg if ok else None


def _norm(cfg):
    return nn.LayerNorm(cfg["hidden_size"], eps=cfg.get("layer_norm_eps", 1e-12))


class _Embeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h = cfg["hidden_size"]
        self.word_embeddings = nn.Embedding(cfg["vocab_size"], h, padding_idx=cfg.get("pad_token_id", 0))
        self.position_embeddings = nn.Embedding(cfg["max_position_embeddings"], h)
        self.token_type_embeddings = nn.Embedding(cfg.get("type_vocab_size", 2), h)
        self.LayerNorm = _norm(cfg)
        self.dropout = nn.Dropout(cfg.get("hidden_dropout_prob", 0.0))

    def forward(self, ids, types):
        pos = torch.arange(ids.shape[1], device=ids.device)[None, :]
        x = self.word_embeddings(ids) + self.position_embeddings(pos) + self.token_type_embeddings(types)
        return self.dropout(self.LayerNorm(x))


class _Dense(nn.Module):
    """dense (+ LayerNorm over dense(x) + residual): transformers' *Output blocks."""

    def __init__(self, cfg, d_in, d_out, norm: bool):
        super().__init__()
        self.dense = nn.Linear(d_in, d_out)
        if norm:
            self.LayerNorm = _norm(cfg)
            self.dropout = nn.Dropout(cfg.get("hidden_dropout_prob", 0.0))


class _SelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h = cfg["hidden_size"]
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)


class _Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        setattr(self, "self", _SelfAttention(cfg))  # transformers' parameter names: attention.self.query
        self.output = _Dense(cfg, cfg["hidden_size"], cfg["hidden_size"], True)


class _Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.heads = cfg["num_attention_heads"]
        self.p_attn = cfg.get("attention_probs_dropout_prob", 0.0)
        self.attention = _Attention(cfg)
        self.intermediate = _Dense(cfg, cfg["hidden_size"], cfg["intermediate_size"], False)
        self.output = _Dense(cfg, cfg["intermediate_size"], cfg["hidden_size"], True)

    def forward(self, x, bias):
        b, n, h = x.shape
        a = getattr(self.attention, "self")
        split = lambda t: t.view(b, n, self.heads, h // self.heads).transpose(1, 2)  # noqa: E731
        ctx = F.scaled_dot_product_attention(split(a.query(x)), split(a.key(x)), split(a.value(x)), attn_mask=bias,
                                             dropout_p=self.p_attn if self.training else 0.0)
        ctx = ctx.transpose(1, 2).reshape(b, n, h)
        o = self.attention.output
        x = o.LayerNorm(o.dropout(o.dense(ctx)) + x)
        o = self.output
        return o.LayerNorm(o.dropout(o.dense(F.gelu(self.intermediate.dense(x)))) + x)


class _Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layer = nn.ModuleList(_Layer(cfg) for _ in range(cfg["num_hidden_layers"]))


class Bert(nn.Module):
    """transformers' BertModel without the pooler: forward(...).last_hidden_state."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.config = SimpleNamespace(**cfg)
        self.embeddings = _Embeddings(cfg)
        self.encoder = _Encoder(cfg)

    def forward(self, input_ids, token_type_ids=None, attention_mask=None):
        types = torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids
        x = self.embeddings(input_ids, types)
        bias = None
        if attention_mask is not None:
            bias = torch.zeros(attention_mask.shape, dtype=x.dtype, device=x.device)
            bias = bias.masked_fill(attention_mask == 0, torch.finfo(x.dtype).min)[:, None, None, :]
        for layer in self.encoder.layer:
            x = layer(x, bias)
        return SimpleNamespace(last_hidden_state=x)

    def set_dropout(self, p: float) -> None:
        """Every dropout of the network (hidden states and attention probabilities) set to p."""
        for m in self.modules():
            if isinstance(m, nn.Dropout):
                m.p = p
            elif isinstance(m, _Layer):
                m.p_attn = p

    @classmethod
    def from_folder(cls, folder, cfg: dict | None = None) -> "Bert":
        net = cls(cfg or plain_config(folder))
        net.load_state_dict(base_state(folder), strict=True)
        return net.eval()


def base_state(folder) -> dict:
    """The folder's model.safetensors as a Bert state dict (no "bert." prefix, no pooler)."""
    from safetensors.torch import load_file

    state = {k[5:] if k.startswith("bert.") else k: v for k, v in load_file(str(Path(folder) / "model.safetensors")).items()}
    return {k: v for k, v in state.items() if not k.startswith("pooler.") and not k.endswith("position_ids")}


class Tokenizer:
    """The folder's tokenizer.json through the `tokenizers` package, called like a transformers fast
    tokenizer for what this project uses: one text (ids, offsets) or a padded batch of tensors."""

    def __init__(self, folder):
        from tokenizers import Tokenizer as Raw

        self.raw = Raw.from_file(str(Path(folder) / "tokenizer.json"))
        self.raw.no_truncation()
        self.raw.no_padding()
        self.cls_token_id = self.raw.token_to_id("[CLS]")
        self.sep_token_id = self.raw.token_to_id("[SEP]")
        self.pad_token_id = self.raw.token_to_id("[PAD]") or 0

    def __call__(self, text: str, add_special_tokens: bool = True, return_offsets_mapping: bool = False, **_) -> dict:
        """One text, never truncated (the caller cuts): input_ids, and offset_mapping when asked."""
        e = self.raw.encode(text, add_special_tokens=add_special_tokens)
        out = {"input_ids": e.ids}
        if return_offsets_mapping:
            out["offset_mapping"] = e.offsets
        return out

    def batch(self, texts: list[str], max_length: int) -> dict:
        """Padded tensors input_ids, token_type_ids, attention_mask, each text cut at max_length tokens."""
        encs = self.raw.encode_batch(list(texts))
        rows = []
        for e in encs:
            ids, types = e.ids, e.type_ids
            if len(ids) > max_length:  # keep [SEP] last, as transformers' truncation does
                ids, types = ids[:max_length - 1] + ids[-1:], types[:max_length - 1] + types[-1:]
            rows.append((ids, types))
        n = max(len(i) for i, _ in rows)
        ids = torch.full((len(rows), n), self.pad_token_id, dtype=torch.long)
        types = torch.zeros((len(rows), n), dtype=torch.long)
        mask = torch.zeros((len(rows), n), dtype=torch.long)
        for r, (i, t) in enumerate(rows):
            ids[r, :len(i)], types[r, :len(t)], mask[r, :len(i)] = torch.tensor(i), torch.tensor(t), 1
        return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}
