"""Where the library lives and which model reads it: flags, then environment, then defaults."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

from embeddings import DEFAULT_MODEL, SentenceTransformerEncoder

ENV_LIBRARY = "ARTICLE_QA_LIBRARY"
ENV_MODEL = "ARTICLE_QA_MODEL"
ENV_PRECISION = "ARTICLE_QA_PRECISION"


def default_library_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("article-qa", appauthor=False)) / "library"


def samples_dir() -> Path:
    """The bundled sample articles (original news-style stories written for this project)."""
    import corpus

    return Path(corpus.__file__).parent / "samples"


def resolve_library(path: Optional[str] = None) -> tuple[str, bool]:
    """(location, is_default): --library, then ARTICLE_QA_LIBRARY, then the per-user data folder."""
    if path:
        return str(path), False
    if os.environ.get(ENV_LIBRARY):
        return os.environ[ENV_LIBRARY], False
    return str(default_library_dir()), True


ENV_DEVICES = "ARTICLE_QA_DEVICES"


def make_encoder(model: Optional[str] = None, precision: Optional[str] = None) -> SentenceTransformerEncoder:
    """The configured encoder; ARTICLE_QA_DEVICES=cuda:0,cuda:1 spreads bulk encoding over devices."""
    devices = [d.strip() for d in os.environ.get(ENV_DEVICES, "").split(",") if d.strip()]
    return SentenceTransformerEncoder(model or os.environ.get(ENV_MODEL) or DEFAULT_MODEL,
                                      precision or os.environ.get(ENV_PRECISION),
                                      device=devices[0] if devices else None, devices=devices)


def open_library(path: Optional[str] = None, model: Optional[str] = None, precision: Optional[str] = None,
                 encoder=None, seed_samples: Optional[bool] = None, progress: bool = False, check_model: bool = True):
    """Open (creating if needed) a library; the default one is seeded with the sample articles when empty."""
    from .library import Library

    location, is_default = resolve_library(path)
    lib = Library(location, encoder or make_encoder(model, precision), check_model=check_model)
    if (is_default if seed_samples is None else seed_samples) and len(lib) == 0:
        if progress:
            print(f"First run: indexing the bundled sample articles into {lib.folder} ...", file=sys.stderr)
        lib.add_paths([samples_dir()], progress=progress)
    return lib
