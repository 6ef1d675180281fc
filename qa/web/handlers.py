"""Handlers behind the browser chat. Pure Python (no widgets): app.py wires them to Gradio.

Each handler takes the open Library first and returns plain values (HTML strings, lists, tuples).
Errors the product raises (ArticleQAError) come back as readable notices, never as tracebacks."""
from __future__ import annotations

import json
import logging
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from corpus.errors import ArticleQAError, LibraryError

from . import render
from ..answer.conversation import Conversation
from ..answer.filters import Filters

log = logging.getLogger("article-qa.web")
PAGE_SIZE = 20
UPLOAD_TYPES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".jsonl")
ARTICLE_COLUMNS = ["id", "date", "outlet", "title", "authors"]
Progress = Optional[Callable[..., object]]


@dataclass
class ChatSession:
    """One browser tab's chat: the messages, each answer's JSON (by message index), and which turn
    the source panel is showing. Answers stay with their message, so older citations keep working."""

    history: list = field(default_factory=list)  # {"role", "content"} messages shown in the chat
    answers: dict = field(default_factory=dict)  # assistant message index -> answer JSON
    current: Optional[int] = None  # message index whose citations the source panel offers
    conv: Optional[Conversation] = None

    def conversation(self, lib) -> Conversation:
        if self.conv is None or self.conv.library is not lib:
            self.conv = Conversation(lib)
        return self.conv

    def answer(self, index: Optional[int] = None) -> Optional[dict]:
        return self.answers.get(self.current if index is None else index)


def _message(e: BaseException) -> str:
    if isinstance(e, ArticleQAError):
        return str(e)
    log.exception("unexpected error in the browser chat")
    return f"Something went wrong ({type(e).__name__}: {e}). The details are in the server log."


def make_filters(outlet=None, since=None, until=None) -> Optional[Filters]:
    """Filters from the settings widgets: outlet is a name, a comma-separated string or a list."""
    if isinstance(outlet, str):
        outlet = outlet.split(",")
    outlets = tuple(o.strip() for o in (outlet or ()) if o and o.strip())
    since = (since or "").strip() or None
    until = (until or "").strip() or None
    f = Filters(outlets=outlets, since=since, until=until)  # raises QuestionError on a bad date
    return f if f.active else None


def citation_choices(answer: Optional[dict]) -> list[tuple[str, int]]:
    """("[n]", n) for the citations of one answer (its closest matches when it abstained)."""
    if not answer:
        return []
    items = answer.get("citations") or answer.get("closest") or []
    return [(f"[{int(c['n'])}]", int(c["n"])) for c in items]


def source_panel(lib, answer: Optional[dict], n) -> str:
    """The article behind citation n of `answer`, passage and answer sentence marked (escaped HTML)."""
    if not answer:
        return render.placeholder("Ask a question; the cited article appears here.")
    items = list(answer.get("citations") or []) + list(answer.get("closest") or [])
    c = next((c for c in items if str(c["n"]) == str(n)), None)
    if c is None:
        return render.placeholder("Choose a citation to see it in its article.")
    try:
        article = lib.get(c["article_id"]).to_json()
    except LibraryError:
        article = None
    src = c.get("source") or ""
    shown = _upload_names(lib).get(Path(src).name) if Path(src).parent.name == "uploads" else None
    if shown:
        c = {**c, "source": f"{shown} (uploaded)"}
    hl = answer.get("highlight")
    hl_article = next((x["article_id"] for x in answer.get("citations") or [] if hl and x["n"] == hl["citation"]), None)
    return render.render_source(article, c, hl, hl_article, answer.get("answer_span"))


def _turn_view(lib, session: ChatSession, n=None):
    """(choices, selected n, source html) for the session's current turn."""
    answer = session.answer()
    choices = citation_choices(answer)
    if n is None and answer:
        n = (answer.get("highlight") or {}).get("citation") or (choices[0][1] if choices else None)
    return choices, n, source_panel(lib, answer, n)


def respond(lib, session: Optional[ChatSession], question, k=5, mode="hybrid", outlet=None, since=None,
            until=None):
    """Ask `question`; returns (session, history, notice, citation choices, selected n, source html).
    On an error the history is unchanged and the notice says what to fix."""
    session = session or ChatSession()
    try:
        if not isinstance(question, str) or not question.strip():
            raise ArticleQAError("Type a question first, e.g. \"What did the U.S. offer Maduro?\"")
        filters = make_filters(outlet, since, until)
        answer = session.conversation(lib).ask(question, k=int(k), mode=mode, filters=filters)
    except Exception as e:  # noqa: BLE001 - shown to the user, logged when unexpected
        return (session, session.history, render.render_error(_message(e))) + _turn_view(lib, session)
    aj = answer.to_json()
    session.history = session.history + [{"role": "user", "content": render.esc(question.strip())}]
    index = len(session.history)
    session.history.append({"role": "assistant", "content": render.render_answer(aj, turn=index)})
    session.answers[index] = aj
    session.current = index
    return (session, session.history, "") + _turn_view(lib, session)


def select_turn(lib, session: Optional[ChatSession], index):
    """A chat message was clicked: offer that turn's citations. Returns (session, choices, n, html)."""
    session = session or ChatSession()
    if isinstance(index, (list, tuple)):
        index = index[0] if index else None
    if isinstance(index, int):
        for i in (index, index + 1):  # a question's answer is the next message
            if i in session.answers:
                session.current = i
                break
    return (session,) + _turn_view(lib, session)


def open_citation(lib, session: Optional[ChatSession], ref):
    """A [n] marker or a citation in the chat was clicked: ref is "turn:n" (message index, citation).
    Returns (session, choices, n, html) with that turn's citations offered and n shown."""
    session = session or ChatSession()
    turn, _, n = str(ref or "").partition(":")
    if turn.isdigit() and int(turn) in session.answers:
        session.current = int(turn)
    return (session,) + _turn_view(lib, session, int(n) if n.isdigit() else None)


def show_citation(lib, session: Optional[ChatSession], n) -> str:
    return source_panel(lib, session.answer() if session else None, n)


def clear_chat(lib, session: Optional[ChatSession] = None):
    session = ChatSession()
    return (session, [], "") + _turn_view(lib, session)


# -- library management
def _summary(report: dict, names: dict) -> str:
    def name(s):
        for path, shown in names.items():
            s = s.replace(path, shown)
        return s

    parts = []
    added = report["added"]
    parts.append(f"<div>Added {len(added)} article(s), {report['passages']} passage(s).</div>")
    if added:
        parts.append("<ul>" + "".join(f"<li>{render.esc(a['title'] or '(untitled)')} "
                                      f"<code>{render.esc(a['id'])}</code></li>" for a in added) + "</ul>")
    for d in report["duplicates"]:
        parts.append(f"<div>Skipped {render.esc(name(d['source']))}: already in the library as "
                     f"<code>{render.esc(d['id'])}</code>.</div>")
    for f in report["failed"]:
        parts.append(f'<div class="qa-error">Failed: {render.esc(name(f["source"]))}: '
                     f'{render.esc(name(f["reason"]))}</div>')
    return '<div class="qa-report">' + "".join(parts) + "</div>"


NAMES = "names.json"  # in <library>/uploads: generated file name -> the name the user gave (display only)


def _upload_names(lib) -> dict:
    try:
        return json.loads((Path(lib.folder) / "uploads" / NAMES).read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def _remember(lib, kept: dict):
    if kept:
        path = Path(lib.folder) / "uploads" / NAMES
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**_upload_names(lib), **kept}, ensure_ascii=False), "utf-8")
        tmp.replace(path)


def _merge(total: dict, part: dict):
    for key in ("added", "duplicates", "failed"):
        total[key] += part[key]
    total["passages"] += part["passages"]


def upload(lib, files: Sequence, progress: Progress = None) -> str:
    """Copy uploaded files into <library>/uploads under generated names, then index them one by one."""
    files = [f for f in (files or []) if f]
    if not files:
        return render.render_error("Choose one or more files (.txt .md .html .htm .pdf .jsonl) to add.")
    folder = Path(lib.folder) / "uploads"
    total = {"added": [], "duplicates": [], "failed": [], "passages": 0}
    names: dict[str, str] = {}
    kept: dict[str, str] = {}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for i, f in enumerate(files):
            src = Path(getattr(f, "name", None) or str(f))
            shown = src.name  # display only; never used to build a path
            ext = src.suffix.lower()
            if progress:
                progress(i / len(files), desc=f"Indexing {shown} ({i + 1}/{len(files)})")
            if ext not in UPLOAD_TYPES:
                total["failed"].append({"source": shown, "reason": f"unsupported file type '{ext or '(none)'}'; "
                                        f"expected one of {' '.join(UPLOAD_TYPES)}"})
                continue
            dest = folder / f"{uuid.uuid4().hex}{ext}"
            shutil.copyfile(src, dest)
            names[str(dest)], names[dest.name] = shown, shown
            part = lib.add_paths([dest]).to_json()
            if part["added"]:
                kept[dest.name] = shown
            else:
                dest.unlink(missing_ok=True)
            _merge(total, part)
    except Exception as e:  # noqa: BLE001
        _remember(lib, kept)
        return _summary(total, names) + render.render_error(_message(e))
    _remember(lib, kept)
    if progress:
        progress(1.0, desc="Done")
    return _summary(total, names)


def add_url(lib, url, progress: Progress = None) -> str:
    url = (url or "").strip()
    if not url:
        return render.render_error("Paste the address of an article, e.g. https://example.com/story.html")
    if not url.lower().startswith(("http://", "https://")):
        return render.render_error(f"'{url}' is not a web address; only http:// and https:// URLs can be added "
                                   "(use the file upload for files on this computer).")
    try:
        if progress:
            progress(0.0, desc=f"Fetching {url}")
        return _summary(lib.add_paths([url]).to_json(), {})
    except Exception as e:  # noqa: BLE001
        return render.render_error(_message(e))


def list_articles(lib, query=None, page=0):
    """(rows, info text, page): one page of the article list, optionally searched."""
    query = (query or "").strip() or None
    total = len(lib.list(query=query))
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(0, int(page or 0)), pages - 1)
    rows = [[r["id"], r["date"] or "", r["outlet"] or "", r["title"] or "(untitled)", ", ".join(r["authors"])]
            for r in lib.list(limit=PAGE_SIZE, offset=page * PAGE_SIZE, query=query)]
    shown = f"{page * PAGE_SIZE + 1}–{page * PAGE_SIZE + len(rows)} of {total}" if rows else "none"
    info = f"Page {page + 1} of {pages} · articles {shown}" + (f" matching '{query}'" if query else "")
    return rows, info, page


def remove_article(lib, article_id) -> str:
    article_id = (article_id or "").strip()
    if not article_id:
        return render.render_error("Enter the id of the article to remove (the first column of the list).")
    try:
        a = lib.remove(article_id)
    except Exception as e:  # noqa: BLE001
        return render.render_error(_message(e))
    title = render.esc(a.title or "(untitled)")
    return f'<div class="qa-report">Removed {title} <code>{render.esc(a.id)}</code>.</div>'


def library_info(lib) -> str:
    s = lib.stats()
    return (f"{s['articles']} article(s) · {s['passages']} passage(s) · model {s['model_id'] or '(none yet)'} · "
            f"{s['library']}")


def outlets(lib) -> list[str]:
    return sorted(lib.sources()["outlets"], key=str.lower)
