"""IDA on the algorithmic tasks of Christiano, Shlegeris & Amodei (2018): the task families (query spaces,
ground truth, the overseer's decompositions, encodings), the amplifying overseer, and (with torch installed,
`pip install 'oversight[ida]'`) the trainable message-passing learner and its distiller."""

from __future__ import annotations

import importlib
from typing import Any

from agents.algorithmic.assignments import SequentialAssignments
from agents.algorithmic.graphs import UNREACHABLE, ShortestPath, UnionFind
from agents.algorithmic.overseer import AlgorithmicOverseer
from agents.algorithmic.permutation import PermutationPowering
from agents.algorithmic.tasks import AlgorithmicTask, Answer, Instance, PrimitiveSteps, Query

TASKS: dict[str, type[AlgorithmicTask]] = {
    t.name: t for t in (PermutationPowering, SequentialAssignments, UnionFind, ShortestPath)
}
_TORCH = {"GraphNet", "GraphNetStudent", "GraphNetDistiller"}


def algorithmic_task(name: str, difficulty: int = 1, **options: Any) -> AlgorithmicTask:
    """The task family `name` (one of `TASKS`) at `difficulty`, with the family's options (e.g. shortest path's
    `split`); raises ValueError for an unknown name."""
    if name not in TASKS:
        raise ValueError(f"unknown algorithmic task {name!r} (known: {', '.join(TASKS)})")
    return TASKS[name](difficulty, **options)


def __getattr__(name: str) -> Any:
    if name in _TORCH:  # torch is an optional extra: imported only when the learner is used
        return getattr(importlib.import_module("agents.algorithmic.learner"), name)
    raise AttributeError(f"module 'agents.algorithmic' has no attribute {name!r}")


__all__ = [
    "TASKS",
    "UNREACHABLE",
    "AlgorithmicOverseer",
    "AlgorithmicTask",
    "Answer",
    "GraphNet",
    "GraphNetDistiller",
    "GraphNetStudent",
    "Instance",
    "PermutationPowering",
    "PrimitiveSteps",
    "Query",
    "SequentialAssignments",
    "ShortestPath",
    "UnionFind",
    "algorithmic_task",
]
