"""What protocols need from a judge."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from oversight.episode import Turn
from oversight.transcript import Verdict, View

#: the kind of turn a judge's `ask` returns to end an interactive protocol early instead of asking (a live human
#: judge, once the protocol's `min_rounds` are played); the protocol records it unseen and goes to the decision
END_TURN = "end"


@runtime_checkable
class Judge(Protocol):
    """Decides between the answers shown in a view; interactive protocols also let it ask questions.

    `identity` names the judge in provenance (model + prompt hash, a program name, or a human judge id).
    `ask` may return a turn of kind `END_TURN` to end the debate early.
    """

    identity: str

    async def decide(self, view: View) -> Verdict: ...

    async def ask(self, view: View) -> Turn: ...
