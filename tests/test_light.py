"""The light loader (embeddings/light.py) gives the same vectors as sentence-transformers for the bundled
model, and refuses layouts it does not know (they keep loading through sentence-transformers)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from embeddings import bundled_model_path
from embeddings.light import LightModel, layout

TEXTS = ["What did the U.S. offer Maduro?", "The mayor announced a $42 million ferry plan on Wednesday. " * 30,
         "Short.", "Ünïcödé and emoji 🚢 in a sentence about the harbor."]


def test_layout_of_the_bundled_model():
    assert layout(bundled_model_path()) == {"pooling": "mean", "normalize": True, "max_seq_length": 256}


def test_unknown_layouts_are_left_to_sentence_transformers(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(bundled_model_path(), folder)
    modules = json.loads((folder / "modules.json").read_text())
    (folder / "modules.json").write_text(json.dumps(modules + [{"idx": 3, "name": "3", "path": "3_Dense",
                                                                 "type": "sentence_transformers.models.Dense"}]))
    assert layout(folder) is None
    assert layout(tmp_path / "missing") is None


@pytest.mark.model
def test_same_vectors_as_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    ref = SentenceTransformer(bundled_model_path(), device="cpu").encode(TEXTS, normalize_embeddings=True)
    ours = LightModel(bundled_model_path(), layout(bundled_model_path())).encode(TEXTS, batch_size=2)
    assert ours.shape == ref.shape and np.abs(ours - ref).max() < 1e-4


@pytest.mark.model
def test_plain_bert_matches_transformers_token_by_token():
    """embeddings/bert.py (no transformers import when answering) against transformers' BertModel and fast
    tokenizer: the same ids and character offsets, the same hidden states, in eval mode."""
    import sys

    import torch
    from transformers import AutoTokenizer, BertModel

    from embeddings import bert

    folder = bundled_model_path()
    ours_tok, ref_tok = bert.Tokenizer(folder), AutoTokenizer.from_pretrained(folder)
    for text in TEXTS:
        a = ours_tok(text, add_special_tokens=False, return_offsets_mapping=True)
        b = ref_tok(text, add_special_tokens=False, return_offsets_mapping=True)
        assert a["input_ids"] == b["input_ids"] and [tuple(o) for o in a["offset_mapping"]] == \
            [tuple(o) for o in b["offset_mapping"]]
    batch = ours_tok.batch(TEXTS, 256)
    ref_batch = ref_tok(TEXTS, padding=True, truncation=True, max_length=256, return_tensors="pt")
    assert all(torch.equal(batch[k], ref_batch[k]) for k in ("input_ids", "token_type_ids", "attention_mask"))
    ref = BertModel.from_pretrained(folder, add_pooling_layer=False).eval()
    with torch.inference_mode():
        got = bert.Bert.from_folder(folder)(**batch).last_hidden_state
        want = ref(**ref_batch).last_hidden_state
    keep = batch["attention_mask"].bool()
    assert (got[keep] - want[keep]).abs().max() < 1e-4
    assert "transformers" in sys.modules  # (this test imports it; the product's plain path does not)


def test_answering_never_imports_transformers(tmp_path):
    """A fresh process that embeds and reads with the bundled models imports neither transformers nor
    sentence_transformers (their import is most of a cold start on a small CPU)."""
    import subprocess
    import sys

    code = ("import sys; from embeddings import SentenceTransformerEncoder as E; e = E(precision='float32'); "
            "e.encode(['Who designed the bridge?']); from qa.answer.reader.read import Reader; "
            "r = Reader(); r.read('Who designed it?', [('Bridge', 'Petra Lindqvist designed it.', [(0, 28)])]); "
            "print(sorted(m for m in ('transformers', 'sentence_transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**__import__('os').environ, "ARTICLE_QA_CACHE_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
