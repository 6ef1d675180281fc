"""Multi-turn questions: a Conversation keeps the turns; follow-ups are resolved from them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from corpus.records import Answer


@dataclass
class Conversation:
    """Ask questions in turn; each answer can depend on the earlier turns (see `resolve`)."""

    library: object
    turns: list = field(default_factory=list)  # (question, Answer)

    def resolve(self, question: str) -> str:
        """The self-contained query to search for: follow-ups get names and topics from earlier turns."""
        from .followup import resolve

        return resolve(question, self.turns)

    def ask(self, question: str, k: int = 5, mode: str = "hybrid", filters=None) -> Answer:
        """Answer a turn. A follow-up that names nothing new is searched in the article in focus first,
        "the other X" outside it (followup.plan); `searched_for` says which search answered."""
        from .ask import ask
        from .followup import clean, plan

        tries = plan(clean(question), self.turns)
        focus = self.focus() if tries[-1].query != clean(question) else ()
        answer = ask(self.library, question, k=k, mode=mode, filters=filters, focus=focus, tries=tries)
        self.turns.append((question, answer))
        return answer

    def focus(self) -> tuple[str, ...]:
        """The article in focus: the one the previous answer was drawn from."""
        if not self.turns:
            return ()
        prev = self.turns[-1][1]
        if prev.highlight is not None:
            return (prev.citations[prev.highlight.citation - 1].article_id,)
        return (prev.closest[0].article_id,) if prev.closest else ()

    def reset(self):
        self.turns.clear()


def answer_lines(library, items, k=5, mode="hybrid", filters=None):
    """JSON answers for (question, conversation id, record) items; consecutive items sharing a
    conversation id are turns of one conversation."""
    conv: Optional[Conversation] = None
    current = object()
    for question, conv_id, _rec in items:
        if conv_id is None or conv_id != current:
            conv = Conversation(library)
            current = conv_id
        yield conv.ask(question, k=k, mode=mode, filters=filters).to_json()
