"""What the IDA loop needs from its parts: a student that answers queries, an amplifier that turns a student
into training targets, and a distiller that trains the next student on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

S = TypeVar("S", bound="Student")

#: Where a training target came from: the amplified overseer, or a ground-truth label (the supervised baseline).
TargetSource = Literal["amplified", "ground-truth"]


class DistillationError(RuntimeError):
    """A distiller failed; the message names the distiller, the iteration and the number of examples."""


@dataclass(frozen=True, slots=True)
class Example:
    """One training pair: a query and the target the student should answer. `source` says who produced it."""

    query: Any
    target: Any
    source: TargetSource


@runtime_checkable
class Student(Protocol):
    """A model M_k that answers queries in one pass. `answer` returns one answer per query (None where it gave
    no usable answer); `identity` names it in reports."""

    identity: str

    async def answer(self, queries: Sequence[Any]) -> list[Any]: ...


@runtime_checkable
class Distiller(Protocol[S]):
    """Trains (or otherwise builds) the next student from examples. `distil` returns M_{k+1} and must leave
    `student` (M_k) usable; it may raise anything, which the loop reports as a `DistillationError`."""

    name: str

    async def distil(self, examples: Sequence[Example], student: S, iteration: int) -> S: ...


@runtime_checkable
class Amplifier(Protocol):
    """Amplify(H, M): answers each query by an overseer who may ask `student` sub-questions. `amplify` returns
    one target per query (None where the overseer could not answer) and never uses ground truth."""

    async def amplify(self, queries: Sequence[Any], student: Student) -> list[Any]: ...

    def counts(self) -> dict[str, int]:
        """Running totals of the overseer's work (overseer calls, oracle calls, student calls, ...)."""
        ...
