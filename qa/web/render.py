"""HTML for the browser chat: answers, citations and the source panel.

Everything that comes from an article or a user (titles, text, outlets, questions) goes through
`html.escape` here; callers must not build HTML from article data themselves. The output has no
blank lines so that Markdown renderers (the chat bubbles) pass it through as one HTML block."""
from __future__ import annotations

import re
from html import escape
from typing import Optional

_MARKER = re.compile(r"\[(\d{1,3})\]")


def esc(value) -> str:
    return escape("" if value is None else str(value), quote=True)


def byline(c: dict) -> str:
    parts = []
    if c.get("authors"):
        parts.append("By " + ", ".join(c["authors"]))
    for key in ("outlet", "date"):
        if c.get(key):
            parts.append(c[key])
    return " · ".join(parts)


def answer_with_markers(text: str, turn: int) -> str:
    """Escaped answer text whose [n] markers link to citation n of the same turn."""
    return _MARKER.sub(lambda m: f'<a class="qa-mark" href="#qa-c{turn}-{m.group(1)}" data-n="{m.group(1)}">'
                                 f'[{m.group(1)}]</a>', esc(text))


def answer_html(a: dict, turn: int) -> str:
    """The answer text with linked [n] markers; inside the highlighted sentence, the answer phrase is
    wrapped in <strong class="qa-phrase">."""
    text, hl, span = a.get("answer") or "", a.get("highlight") or {}, a.get("answer_span") or {}
    at = text.find(hl.get("text") or "\0") if hl and span else -1
    rel = int(span.get("start", 0)) - int(hl.get("start", 0)) if at >= 0 else -1
    phrase = span.get("text") or ""
    if at < 0 or rel < 0 or not phrase or hl["text"][rel:rel + len(phrase)] != phrase:
        return answer_with_markers(text, turn)
    a0, a1 = at + rel, at + rel + len(phrase)
    return (answer_with_markers(text[:a0], turn) + f'<strong class="qa-phrase">{esc(phrase)}</strong>'
            + answer_with_markers(text[a1:], turn))


def citation_item(c: dict, turn: int, highlighted: bool = False, repeat: bool = False) -> str:
    """One numbered citation; `repeat`: same article as an earlier citation, so no title again."""
    meta = [esc(byline(c))] if byline(c) and not repeat else []
    meta.append(f"{'same article, ' if repeat else ''}paragraph {int(c.get('paragraph') or 0)}")
    if c.get("support") is not None:
        meta.append(f"support {float(c['support']):.2f}")
    also = ""
    if c.get("also_in"):
        outlets = "; ".join(esc(a.get("outlet") or a.get("title")) for a in c["also_in"])
        also = f'<div class="qa-also">Also in: {outlets}</div>'
    cls = "qa-cite qa-cite-answer" if highlighted else "qa-cite"
    return (f'<li class="{cls}" id="qa-c{turn}-{int(c["n"])}" title="{esc(_clip(c.get("text") or ""))}">'
            f'<span class="qa-n">[{int(c["n"])}]</span> ' +
            ("" if repeat else f'<span class="qa-title">{esc(c.get("title") or "(untitled)")}</span>') +
            f'<{"span" if repeat else "div"} class="qa-meta">{" · ".join(meta)}</{"span" if repeat else "div"}>'
            f'{also}</li>')


def _clip(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def citation_list(items: list, turn: int, highlighted=None, css: str = "qa-cites") -> str:
    seen: set = set()
    out = []
    for c in items:
        out.append(citation_item(c, turn, c["n"] == highlighted, repeat=c.get("article_id") in seen))
        seen.add(c.get("article_id"))
    return f'<ol class="{css}">' + "".join(out) + "</ol>"


def render_answer(a: dict, turn: int = 0) -> str:
    """One assistant turn: the answer with linked [n] markers, then the numbered citations."""
    out = ['<div class="qa-answer">']
    if a.get("searched_for") and a["searched_for"] != a.get("question"):
        out.append(f'<div class="qa-searched">Searched for: {esc(a["searched_for"])}</div>')
    hl = (a.get("highlight") or {}).get("citation")
    if a.get("abstained"):
        out.append('<div class="qa-notfound"><strong>Not found in your articles.</strong> '
                   f'{esc(a.get("answer"))}</div>')
        if a.get("closest"):
            out.append('<div class="qa-sub">Closest matches (they may not answer the question):</div>')
            out.append(citation_list(a["closest"], turn, css="qa-cites qa-closest"))
    else:
        out.append(f'<div class="qa-text">{answer_html(a, turn)}</div>')
        out.append(f'<div class="qa-conf">confidence {float(a.get("confidence") or 0):.2f}</div>')
    if a.get("citations"):
        out.append(citation_list(a["citations"], turn, hl))
    out.append("</div>")
    return "".join(out)


def short_source(source: str) -> str:
    """URLs in full; for files only the name (the folders say nothing to the reader)."""
    if "://" in source:
        return source
    return source.replace("\\", "/").rsplit("/", 1)[-1]


def render_error(message: str) -> str:
    return f'<div class="qa-error">{esc(message)}</div>'


def _marked(text: str, start: int, end: int, spans: list[tuple[int, int, str]]) -> str:
    """Escaped text[start:end] with the given (s, e, css class) spans wrapped in <mark>; later spans win.
    The first span (the cited passage) starts with an empty <span class="qa-anchor"> to scroll to."""
    cuts = {start, end}
    for s, e, _ in spans:
        cuts.update(x for x in (s, e) if start < x < end)
    cuts = sorted(cuts)
    out = []
    for a, b in zip(cuts, cuts[1:]):
        cls = None
        for s, e, c in spans:
            if s <= a and b <= e:
                cls = c
        piece = esc(text[a:b])
        if spans and a == spans[0][0]:
            out.append('<span class="qa-anchor"></span>')
        out.append(f'<mark class="{cls}">{piece}</mark>' if cls else piece)
    return "".join(out)


def render_source(article: Optional[dict], citation: dict, highlight: Optional[dict] = None,
                  highlight_article: Optional[str] = None, phrase: Optional[dict] = None) -> str:
    """The cited article's full text with the passage (<mark class="passage">) and, when it lies in this
    article, the answer sentence (<mark class="answer">) with its answer phrase in bold
    (<mark class="answer qa-phrase">) marked. `article` is Article.to_json() or None when the article was
    removed since; then only the stored passage is shown."""
    n = int(citation["n"])
    head = (f'<div class="qa-src-head"><span class="qa-n">[{n}]</span> '
            f'<span class="qa-src-title">{esc(citation.get("title") or "(untitled)")}</span>'
            f'<div class="qa-meta">{esc(byline(citation))}</div>'
            f'<div class="qa-meta">paragraph {int(citation.get("paragraph") or 0)} · characters '
            f'{int(citation["start"])}–{int(citation["end"])}'
            + (f" · source: {esc(short_source(citation['source']))}" if citation.get("source") else "")
            + "</div></div>")
    spans = [(int(citation["start"]), int(citation["end"]), "passage")]
    if highlight and highlight_article == citation.get("article_id"):
        spans.append((int(highlight["start"]), int(highlight["end"]), "answer"))
        if phrase and highlight["start"] <= phrase["start"] < phrase["end"] <= highlight["end"]:
            spans.append((int(phrase["start"]), int(phrase["end"]), "answer qa-phrase"))
    if article is None:
        text, base = citation.get("text") or "", int(citation["start"])
        spans = [(s - base, e - base, c) for s, e, c in spans]
        body = (f'<div class="qa-gone">This article is no longer in your library; the cited passage was:</div>'
                f'<p>{_marked(text, 0, len(text), spans)}</p>')
    else:
        text = article.get("text") or ""
        paras = article.get("paragraphs") or [[0, len(text)]]
        body = "".join(f"<p>{_marked(text, int(s), int(e), spans)}</p>" for s, e in paras)
    return f'<div class="qa-source">{head}<div class="qa-src-body">{body}</div></div>'


def placeholder(message: str) -> str:
    return f'<div class="qa-source qa-empty">{esc(message)}</div>'


def signed_in(user) -> str:
    """The header's "signed in as NAME · Sign out" (empty when the server has no sign-in)."""
    if not user:
        return ""
    return f'<span class="qa-user">Signed in as <b>{esc(user)}</b> · <a href="/signout" id="signout">Sign out</a></span>'
