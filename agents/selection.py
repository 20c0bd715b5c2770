"""Best-of-N selection, generic over what is selected and how it is scored: sample candidates, score each, keep
the best, and record every candidate with its score. Persuasion-optimised arguers score speeches with a
preference model; a market-making adversary scores arguments by how far they move the market."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class Scored(Generic[T]):
    """One candidate and its score (None: the scorer could not score it; it ranks below every scored one)."""

    item: T
    score: float | None


@dataclass(slots=True)
class Selection(Generic[T]):
    """Every candidate in the order made, with its score, and the index of the one kept."""

    candidates: list[Scored[T]]
    chosen: int

    @property
    def best(self) -> T:
        """The candidate kept."""
        return self.candidates[self.chosen].item

    @property
    def scores(self) -> list[float | None]:
        return [c.score for c in self.candidates]


def best_index(scores: Sequence[float | None]) -> int:
    """The index of the highest score; ties go to the earliest, unscored (None) candidates rank last (all
    unscored: the first). Raises ValueError for no scores."""
    if not scores:
        raise ValueError("no candidates to choose from")
    return max(range(len(scores)), key=lambda i: (scores[i] is not None, scores[i] or 0.0, -i))


async def select_best(
    candidates: Sequence[T], score: Callable[[T], Awaitable[float | None]], *, concurrent: bool = True
) -> Selection[T]:
    """Score every candidate with `score` and keep the highest (see `best_index`). `concurrent=False` scores them
    one after another (e.g. when the scorer shares state). Raises ValueError for no candidates; a scorer's
    exception propagates."""
    if not candidates:
        raise ValueError("no candidates to choose from")
    if concurrent:
        scores = list(await asyncio.gather(*(score(c) for c in candidates)))
    else:
        scores = [await score(c) for c in candidates]
    scored = [Scored(c, s) for c, s in zip(candidates, scores, strict=True)]
    return Selection(scored, best_index(scores))


async def sample_and_select(
    n: int, make: Callable[[int], Awaitable[T]], score: Callable[[T], Awaitable[float | None]]
) -> Selection[T]:
    """Make `n` candidates (`make(k)` for k = 0..n-1, one after another so seeded samplers stay reproducible),
    then `select_best` them. Raises ValueError when n < 1."""
    if n < 1:
        raise ValueError(f"best_of: must be >= 1, got {n}")
    made = [await make(k) for k in range(n)]
    return await select_best(made, score)


__all__ = ["Scored", "Selection", "best_index", "sample_and_select", "select_best"]
