"""The Encoder: sentence-transformers behind a small interface, with the bundled offline model."""
from .base import Encoder, normalize_rows
from .sentence_transformer import DEFAULT_MODEL, SentenceTransformerEncoder, bundled_model_path

__all__ = ["DEFAULT_MODEL", "Encoder", "SentenceTransformerEncoder", "bundled_model_path", "normalize_rows"]
