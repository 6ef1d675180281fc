"""Main-text extraction from news web pages with trafilatura: title, author, date, body only."""
from __future__ import annotations

from .errors import LoadError
from .records import Article
from .text import make_article, parse_authors, parse_date, split_paragraphs


def extract_html(html: str, source: str) -> Article:
    import trafilatura

    doc = trafilatura.bare_extraction(
        html, url=source if source.startswith("http") else None, with_metadata=True,
        include_comments=False, include_tables=False, include_images=False, favor_precision=True,
    )
    body = getattr(doc, "text", None) if doc is not None else None
    if not body or not body.strip():
        raise LoadError(source, "has no article text that could be extracted (only navigation, scripts or boilerplate)",
                        "Save the article page itself, or copy its text into a .txt or .md file")
    title = (doc.title or "").strip()
    lines = [ln for ln in body.replace("\n", "\n\n").split("\n\n")]
    paragraphs = split_paragraphs("\n\n".join(lines))
    if paragraphs and title and paragraphs[0].strip() == title:
        paragraphs = paragraphs[1:] or paragraphs  # trafilatura repeats the <h1>
    return make_article(paragraphs, source, title=title, authors=parse_authors(doc.author),
                        outlet=getattr(doc, "sitename", None), date=parse_date(doc.date))
