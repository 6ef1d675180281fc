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
