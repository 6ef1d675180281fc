"""PDF text with pypdf, bounded in pages and time so a hostile file cannot hang indexing."""
from __future__ import annotations

import io
import time

from .errors import LoadError
from .records import Article
from .text import make_article, split_paragraphs

MAX_PAGES = 200
MAX_SECONDS = 20.0


def extract_pdf(data: bytes, source: str) -> Article:
    try:
        from pypdf import PdfReader
    except ImportError:
        raise LoadError(source, "is a PDF, and PDF support needs pypdf", "pip install pypdf") from None
    if not data.startswith(b"%PDF"):
        raise LoadError(source, "does not start with a PDF header", "Check the file is a real PDF")
    started = time.monotonic()
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        pages = []
        for i, page in enumerate(reader.pages):
            if i >= MAX_PAGES or time.monotonic() - started > MAX_SECONDS:
                break
            pages.append(page.extract_text() or "")
        meta = reader.metadata or {}
        title = str(meta.get("/Title") or "") if meta else ""
    except Exception as e:  # pypdf raises many kinds on malformed input
        raise LoadError(source, f"could not be parsed as a PDF ({type(e).__name__}: {e})",
                        "Re-export the PDF, or save its text as .txt") from None
    text = "\n\n".join(pages)
    if not text.strip():
        raise LoadError(source, "has no extractable text (scanned images?)", "Run OCR first or save it as text")
    return make_article(split_paragraphs(text), source, title=title)
