"""What protocols need from the agents that argue: speak, question, answer, choose a side."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from oversight.episode import Turn
from oversight.transcript import View


@runtime_checkable
class Arguer(Protocol):
    """A debater or consultant. Each method returns the turn it produced for `view`; the protocol then sets the
    authoritative role, round and assigned answer, enforces word limits and verifies quotes.

    `argue` makes a speech for `view.answer`; `ask` puts a cross-examination question to the other side; `answer`
    answers the question in the view's last turn; `choose` returns a turn whose `answer` is the side it picks
    (None when it gave no usable choice). `identity` names the agent in the Episode (model + prompt hash).
    """

    identity: str

    async def argue(self, view: View) -> Turn: ...

    async def ask(self, view: View) -> Turn: ...

    async def answer(self, view: View) -> Turn: ...

    async def choose(self, view: View) -> Turn: ...
