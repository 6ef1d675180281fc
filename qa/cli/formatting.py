"""Human-readable output for the CLI (JSON output is the records' own to_json)."""
from __future__ import annotations

import textwrap

from corpus.records import Answer, Article, Citation


def byline(c) -> str:
    parts = []
    if c.authors:
        parts.append("By " + ", ".join(c.authors))
    if c.outlet:
        parts.append(c.outlet)
    if c.date:
        parts.append(c.date)
    return " · ".join(parts)


def citation_block(c: Citation, width: int = 88) -> str:
    head = f"[{c.n}] {c.title}"
    meta = byline(c)
    where = f"paragraph {c.paragraph}, chars {c.start}-{c.end}, score {c.score:.2f}"
    if c.support is not None:
        where += f", support {c.support:.2f}"
    lines = [head] + ([f"    {meta}"] if meta else []) + [f"    {where}"]
    if c.source:
        lines.append(f"    source: {c.source}")
    if c.also_in:
        lines.append("    also in: " + "; ".join(f"{a.outlet or a.title} ({a.article_id})" for a in c.also_in))
    lines += textwrap.wrap(c.text, width, initial_indent="    | ", subsequent_indent="    | ")
    return "\n".join(lines)


def bold_phrase(a: Answer, tty: bool) -> str:
    """The answer text with the answer phrase in bold inside the highlighted sentence: ANSI bold on a
    terminal, **phrase** otherwise."""
    hl, span = a.highlight, a.answer_span
    at = a.answer.find(hl.text) if hl and span else -1
    if at < 0:
        return a.answer
    i = at + span.start - hl.start
    if a.answer[i:i + len(span.text)] != span.text:
        return a.answer
    on, off = ("\033[1m", "\033[0m") if tty else ("**", "**")
    return a.answer[:i] + on + span.text + off + a.answer[i + len(span.text):]


def answer_text(a: Answer, tty: bool = False) -> str:
    out = []
    if a.searched_for and a.searched_for != a.question:
        out.append(f"(searched for: {a.searched_for})")
    out.append(bold_phrase(a, tty))
    if a.answer_span:
        out.append(f"answer: {a.answer_span.text}")
    out.append(f"confidence {a.confidence:.2f}" + (" — not found in these articles" if a.abstained and a.citations == () and a.closest else ""))
    if a.citations:
        out.append("")
        out += [citation_block(c) for c in a.citations]
    if a.closest:
        out.append("\nClosest matches:")
        out += [citation_block(c) for c in a.closest]
    return "\n".join(out)


def article_text(a: Article) -> str:
    head = [a.title, "=" * min(len(a.title), 88)]
    meta = byline(a)
    if meta:
        head.append(meta)
    head.append(f"id {a.id}" + (f" · source {a.source}" if a.source else ""))
    return "\n".join(head) + "\n\n" + a.text
