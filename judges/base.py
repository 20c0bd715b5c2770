"""What protocols need from a judge."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from oversight.episode import Turn
from oversight.transcript import END_TURN, Verdict, View


@runtime_checkable
class Judge(Protocol):
    """Decides between the answers shown in a view; interactive protocols also let it ask questions.

    `identity` names the judge in provenance (model + prompt hash, a program name, or a human judge id).
    `ask` may return a turn of kind `END_TURN` to end the debate early.
    """

    identity: str

    async def decide(self, view: View) -> Verdict: ...

    async def ask(self, view: View) -> Turn: ...


__all__ = ["END_TURN", "Judge"]
