"""The tools an AI agent gets over MCP (Gradio serves them at /gradio_api/mcp/): ask, find articles, read one.

Plain functions with type hints and docstrings: Gradio turns the hints into the tool's input schema and
the docstring into the description an agent reads, so the docstrings say what comes back and how to
cite it. Errors are raised as ArticleQAError (app.py turns them into tool errors). No `from __future__ import annotations` here: Gradio reads the hints as real types."""
import json
from typing import Callable

from .handlers import make_filters

MAX_LIST = 200


def _json(value) -> str:
    """Tools return JSON text: MCP passes text to the agent, and Gradio would print a dict as Python."""
    return json.dumps(value, ensure_ascii=False)


def agent_tools(lib) -> list[Callable]:
    """The MCP tools over an open Library, in the order an agent would use them."""

    def ask(question: str, k: int = 5, mode: str = "hybrid", outlet: str = "", since: str = "",
            until: str = "") -> str:
        """Answer a question from the user's own news articles, with exact citations.

        Returns JSON text, an object: `answer` (text with [n] citation markers), `abstained` (true when the
        articles do not state the answer: then say that, and do not guess), `confidence` (0-1),
        `highlight` {citation, start, end, text} (the sentence that answers), `answer_span` (the answer
        phrase inside it), and `citations` [{n, article_id, title, outlet, date, start, end, text, ...}].
        `start`/`end` are character offsets into the article's text (show_article returns it), so
        text[start:end] is exactly the cited passage. Cite as: title (outlet, date), quoting `text`.

        Args:
            question: the question, in plain words (e.g. "Who won the Lakeport Marathon?").
            k: how many passages to cite, 1-20 (default 5).
            mode: "hybrid" (default: meaning and words), "dense" (meaning only) or "bm25" (words only).
            outlet: only articles from these outlets, comma-separated (empty: all).
            since: only articles dated on or after this day, YYYY-MM-DD (empty: no limit).
            until: only articles dated on or before this day, YYYY-MM-DD (empty: no limit).
        """
        return _json(lib.ask(question, k=int(k), mode=mode, filters=make_filters(outlet, since, until)).to_json())

    def list_articles(search: str = "", limit: int = 50) -> str:
        """List the articles in the library, newest first, optionally only those whose title, outlet,
        author or id contains `search`.

        Returns JSON text, a list of {id, title, authors, outlet, date, source, duplicate_of}; `duplicate_of`
        names the article this one is a near-copy of (e.g. the same wire story in another outlet).
        Pass an `id` to show_article to read the article.

        Args:
            search: words to look for in titles, outlets, authors or ids (empty: all articles).
            limit: at most this many articles, 1-200 (default 50).
        """
        limit = max(1, min(MAX_LIST, int(limit)))
        return _json(lib.list(limit=limit, query=(search or "").strip() or None))

    def show_article(article_id: str) -> str:
        """The full text of one article, with its metadata.

        Returns JSON text, an object {id, title, authors, outlet, date, source, text, paragraphs}; `paragraphs`
        is a list of [start, end] character offsets into `text`. Citation offsets from `ask` index
        this same `text`.

        Args:
            article_id: the article's id, as given by `ask` (citations[].article_id) or list_articles.
        """
        return _json(lib.get((article_id or "").strip()).to_json())

    return [ask, list_articles, show_article]
