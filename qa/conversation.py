"""Multi-turn questions (follow-up resolution is added on top of this)."""
from __future__ import annotations


def answer_lines(library, items, k=5, mode="hybrid", filters=None):
    """JSON answers for (question, conversation id, record) items, in order."""
    for question, _conv, _rec in items:
        yield library.ask(question, k=k, mode=mode, filters=filters).to_json()
