"""The reader's files on disk: where they are and whether they are intact (no torch needed, so
`article-qa check` stays fast)."""
from __future__ import annotations

import json
from pathlib import Path

from corpus.errors import ReaderModelError

from ...store.vectors import sha256_file as sha256

WEIGHTS_DIR = Path(__file__).with_name("weights")
WEIGHTS_FILE = WEIGHTS_DIR / "reader.safetensors"
MANIFEST_FILE = WEIGHTS_DIR / "manifest.json"


def weights_dir() -> Path:
    """The reader in use: ARTICLE_QA_READER (a folder from `python -m qa.answer.reader.train --out`) or the shipped one."""
    import os

    return Path(os.environ.get("ARTICLE_QA_READER") or WEIGHTS_DIR)


def read_manifest(folder: Path | None = None) -> dict:
    path = (folder or weights_dir()) / MANIFEST_FILE.name
    try:
        return json.loads(path.read_text("utf-8"))
    except OSError:
        raise ReaderModelError(f"The reader manifest {path} is missing. Reinstall article-qa, or rebuild the "
                               "weights with: python -m qa.answer.reader.train") from None
    except ValueError as e:
        raise ReaderModelError(f"The reader manifest {path} is not valid JSON ({e}). Reinstall article-qa, or "
                               "rebuild it with: python -m qa.answer.reader.train") from None


def verify(folder: Path | None = None) -> dict:
    """The manifest, once the weights file is there and matches its sha256; else a ReaderModelError."""
    folder = folder or weights_dir()
    manifest = read_manifest(folder)
    path = folder / manifest.get("weights", WEIGHTS_FILE.name)
    if not path.is_file():
        raise ReaderModelError(f"The reader weights {path} are missing. Reinstall article-qa, or rebuild them "
                               "with: python -m qa.answer.reader.train")
    digest = sha256(path)
    if digest != manifest.get("sha256"):
        raise ReaderModelError(f"The reader weights {path} are damaged: sha256 {digest[:12]}... does not match "
                               f"the manifest's {str(manifest.get('sha256'))[:12]}... Reinstall article-qa, or "
                               "rebuild them with: python -m qa.answer.reader.train")
    return manifest
