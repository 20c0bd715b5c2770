"""Ground truth behind a counter: every label handed out is counted by purpose, so a report can show that IDA
trained on none."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Literal

#: train: labels a learner is trained on; eval: held-out scoring; audit: checking amplified targets after the
#: fact, for the report only (never fed back to training).
LabelPurpose = Literal["train", "eval", "audit"]


class GroundTruth:
    """The only door to correct answers in an IDA run. `labels(queries, purpose)` returns `solve(q)` for each query
    and adds `len(queries)` to `used[purpose]`."""

    def __init__(self, solve: Callable[[Any], Any]) -> None:
        self._solve = solve
        self.used: Counter[str] = Counter()

    def labels(self, queries: Sequence[Any], purpose: LabelPurpose) -> list[Any]:
        """The correct answer of every query; raises ValueError for an unknown purpose."""
        if purpose not in ("train", "eval", "audit"):
            raise ValueError(f"purpose: expected train, eval or audit, got {purpose!r}")
        self.used[purpose] += len(queries)
        return [self._solve(q) for q in queries]
