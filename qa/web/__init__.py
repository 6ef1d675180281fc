"""The browser face's handlers (pure Python; app.py wires them to Gradio); `from qa import web` is its one way in."""
from . import auth, render
from .handlers import (ARTICLE_COLUMNS, NAMES, PAGE_SIZE, UPLOAD_TYPES, ChatSession, add_url,
                       citation_choices, clear_chat, library_info, list_articles, make_filters, open_citation, outlets,
                       remove_article, respond, select_turn, show_citation, source_panel, upload)
from .tools import agent_tools

__all__ = ["ARTICLE_COLUMNS", "agent_tools", "auth", "NAMES", "PAGE_SIZE", "UPLOAD_TYPES", "ChatSession", "add_url",
           "citation_choices", "clear_chat", "library_info", "list_articles", "make_filters", "open_citation",
           "outlets", "remove_article", "render", "respond", "select_turn", "show_citation", "source_panel", "upload"]
