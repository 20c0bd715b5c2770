"""The bridge between a live human judge and the interface a person judges through (the terminal UI, a test, a
notebook): an asyncio queue of requests, each answered once by the interface.

A human judge (`judges.HumanJudge`) puts a `HumanRequest` on its channel's queue and awaits it; the interface
takes it (`await channel.next()`), shows `request.view` and answers with `decide`, `ask` or `end`. Answers may
come from another thread: they resolve the request on the loop that made it. Which judge ids decide live is set
by `use_channels` for the experiment runs started inside it. These live in the core so that an interface above it
needs nothing from the judges layer; `judges.human` re-exports them.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

from oversight.judge_entry import check_judge_id
from oversight.transcript import View

#: what an "ask" request is resolved with when the judge ends the debate instead of asking (`HumanRequest.end`)
ENDED: Any = object()


def checked_probabilities(probabilities: Sequence[float], n: int) -> list[float]:
    """`probabilities` as floats, one per answer. Raises ValueError for a count other than `n`, a value outside
    [0, 1] (or NaN) or a sum other than 1."""
    probs = [float(p) for p in probabilities]
    if len(probs) != n:
        raise ValueError(f"give {n} probabilities (one per answer), got {len(probs)}")
    if any(not 0.0 <= p <= 1.0 or math.isnan(p) for p in probs):
        raise ValueError(f"probabilities must be in [0, 1], got {probs}")
    if not math.isclose(sum(probs), 1.0, abs_tol=1e-6):
        raise ValueError(f"probabilities must sum to 1, got {sum(probs):g}")
    return probs


@dataclass
class HumanDecision:
    """What a person answered: probabilities per answer *as shown* (A, B, ...), a rationale, and what the
    interface observed (`detail`: seconds spent, the probability trajectory, rounds seen, whether the judge
    ended early — stored under the judgment's `meta["human"]`)."""

    probabilities: list[float]
    rationale: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class HumanRequest:
    """One thing a human judge is asked: `kind` "decide" (answer with `decide`) or "ask" (answer with `ask`),
    about `view`. `asked_at` is `time.monotonic()` when it was queued; `may_end` says whether an "ask" request may
    instead be answered with `end` (the debate has run its minimum number of rounds)."""

    kind: Literal["decide", "ask"]
    view: View
    judge_id: str
    future: asyncio.Future[Any]
    asked_at: float = field(default_factory=time.monotonic)
    answered: bool = False
    may_end: bool = False

    def decide(self, probabilities: Sequence[float], rationale: str = "", **detail: Any) -> None:
        """Answer a "decide" request: one probability per answer as shown (they must sum to 1). Raises
        ValueError for the wrong number of probabilities, values outside [0, 1] or a sum other than 1 (the
        request stays open, so the interface can ask again), RuntimeError if it was answered already."""
        if self.kind != "decide":
            raise RuntimeError("this request asks for a question; answer it with ask(text)")
        probs = checked_probabilities(probabilities, len(self.view.order))
        self._resolve(HumanDecision(probs, rationale, dict(detail)))

    def ask(self, text: str) -> None:
        """Answer an "ask" request with the question to put to the participants (must not be empty)."""
        if self.kind != "ask":
            raise RuntimeError("this request asks for a decision; answer it with decide(...)")
        if not text.strip():
            raise ValueError("the question is empty")
        self._resolve(text.strip())

    def end(self) -> None:
        """Answer an "ask" request by ending the debate now (the protocol moves on to the decision). Raises
        RuntimeError for a "decide" request, or when ending is not allowed yet (`may_end` is false)."""
        if self.kind != "ask":
            raise RuntimeError("this request asks for a decision; answer it with decide(...)")
        if not self.may_end:
            raise RuntimeError("the debate cannot be ended yet: its minimum number of rounds has not been played")
        self._resolve(ENDED)

    def _resolve(self, value: Any) -> None:
        if self.answered or self.future.done():
            raise RuntimeError("this request was answered already")
        self.answered = True  # set at once: the future itself is resolved on its loop, maybe a moment later
        self.future.get_loop().call_soon_threadsafe(_set_result, self.future, value)


def _set_result(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


class HumanChannel:
    """The queue between human judges and an interface: `requests` receives every `HumanRequest`, in order."""

    def __init__(self) -> None:
        self.requests: asyncio.Queue[HumanRequest] = asyncio.Queue()

    async def next(self) -> HumanRequest:
        """The next request (waits for one)."""
        return await self.requests.get()


_CHANNELS: ContextVar[Mapping[str, HumanChannel] | None] = ContextVar("oversight_human_channels", default=None)


@contextmanager
def use_channels(channels: Mapping[str, HumanChannel]) -> Iterator[None]:
    """Within this block (and the experiment runs started in it), human judges with these ids decide live
    through their channel instead of leaving their judgments pending."""
    for judge_id in channels:
        check_judge_id(judge_id)
    token = _CHANNELS.set(dict(channels))
    try:
        yield
    finally:
        _CHANNELS.reset(token)


def live_channel(judge_id: str) -> HumanChannel | None:
    """The channel `use_channels` set for `judge_id`, if any."""
    channels = _CHANNELS.get()
    return channels.get(judge_id) if channels else None


def rounds_seen(view: View) -> int:
    """How many rounds of speeches `view` shows (0 when it shows no turn): what a human judgment records as the
    rounds its judge saw."""
    return max((t.round for t in view.turns), default=-1) + 1


__all__ = [
    "ENDED",
    "HumanChannel",
    "checked_probabilities",
    "HumanDecision",
    "HumanRequest",
    "live_channel",
    "rounds_seen",
    "use_channels",
]
