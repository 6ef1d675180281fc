"""Shared fixtures: a deterministic fake encoder (counts its calls) and the real bundled model."""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest

from embeddings.base import Encoder

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
_WORD = re.compile(r"\w+")


class FakeEncoder(Encoder):
    """Hashed bag of words (plus crude suffix stripping): similar wording -> similar vectors.

    `calls` and `texts_encoded` let tests prove what was (not) embedded."""

    def __init__(self, model_id: str = "fake-hashing-v1", dim: int = 64, max_tokens: int = 128):
        self.model_id = model_id
        self._dim = dim
        self._max = max_tokens
        self.calls = 0
        self.texts_encoded = 0

    @property
    def dim(self):
        return self._dim

    @property
    def max_tokens(self):
        return self._max

    def count_tokens(self, text):
        return len(_WORD.findall(text)) + text.count(".")

    def _encode(self, texts, batch_size, show_progress):
        self.calls += 1
        self.texts_encoded += len(texts)
        out = np.zeros((len(texts), self._dim), np.float32)
        for i, t in enumerate(texts):
            for w in _WORD.findall(t.lower()):
                w = w[:6]
                h = int.from_bytes(hashlib.md5(w.encode()).digest()[:4], "little")
                out[i, h % self._dim] += 1.0
        return out


@pytest.fixture
def fake_encoder():
    return FakeEncoder()


def pytest_configure(config):
    # Precision choices measured during tests go to a scratch cache, never the user's (embeddings/precision.py).
    os.environ["ARTICLE_QA_CACHE_DIR"] = tempfile.mkdtemp(prefix="article-qa-test-cache-")


def pytest_unconfigure(config):
    import shutil

    shutil.rmtree(os.environ.get("ARTICLE_QA_CACHE_DIR", ""), ignore_errors=True)


@pytest.fixture(scope="session")
def real_encoder():
    from embeddings import SentenceTransformerEncoder

    # float32 pinned: the behaviour tests must not depend on which precision this CPU measures faster
    # (that choice is tested in tests/test_precision.py).
    enc = SentenceTransformerEncoder(precision="float32")
    enc.dim  # load once for the whole session
    return enc


@pytest.fixture(scope="session")
def sample_library(real_encoder, tmp_path_factory):
    """The bundled sample articles indexed once with the real model (read-only use in tests)."""
    from qa import Library, samples_dir

    lib = Library(tmp_path_factory.mktemp("samples-lib"), real_encoder)
    lib.add_paths([samples_dir()])
    return lib


@pytest.fixture(autouse=True)
def _no_abstention_with_fake_vectors(request, monkeypatch):
    """Calibration is fitted for the real model; with fake vectors, tests see every retrieved citation."""
    if "real_encoder" in request.fixturenames or "sample_library" in request.fixturenames \
            or request.node.get_closest_marker("model"):
        return
    monkeypatch.setattr("qa.answer.ask.threshold", lambda: 0.0)
    monkeypatch.setattr("qa.answer.ask.SUPPORT_MIN", 0.0)


@pytest.fixture
def library(tmp_path, fake_encoder):
    from qa import Library

    lib = Library(tmp_path / "lib", fake_encoder)
    yield lib
    lib.close()


def shared_or_skip(*parts) -> Path:
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} is not present (../shared/data is optional)")
    return p
