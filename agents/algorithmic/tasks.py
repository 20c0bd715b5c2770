"""The shared shape of the four algorithmic IDA tasks (Christiano, Shlegeris & Amodei 2018): a space of queries
about one instance, ground truth for each, the overseer's one-level decomposition of a query into primitive
steps and sub-questions, and the tensor and text encodings a student reads.

The overseer H is a module-level function `decompose(args, public, steps, ask)`: it sees only the query's
arguments, the public facts every question states (e.g. the node count), a `PrimitiveSteps` view of the oracle,
and `ask` for sub-answers. It never holds the instance, its `Question` or the task's solver.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from oversight.ida.labels import GroundTruth
from oversight.tasks.generators.ida import PrimitiveOracle, oracle_for_instance
from oversight.tasks.taskset import TaskSet
from oversight.types import Question

Answer = int | bool | str | None
Args = tuple[Any, ...]
#: How the overseer asks the current student: a list of sub-question args in, one answer each out.
Ask = Callable[[list[Args]], Awaitable[list[Answer]]]


@dataclass(eq=False, slots=True)
class Instance:
    """One generated problem (a permutation, a graph, a program). Compared by identity; `data` is the generator's
    `meta["instance"]`, `context` its rendering for language models, `cache` the learner's precomputed arrays."""

    task: str
    key: str
    data: dict[str, Any]
    context: str
    cache: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Query:
    """One question about one instance: `args` are the task's parameters (e.g. `(k, x)` for sigma^k(x))."""

    instance: Instance
    args: Args


class PrimitiveSteps:
    """The oracle as the overseer may use it: only the task's named primitive steps, each counted."""

    def __init__(self, oracle: PrimitiveOracle, allowed: frozenset[str]) -> None:
        self._oracle = oracle
        self._allowed = allowed

    def __call__(self, name: str, *args: int) -> Any:
        """The answer to primitive step `name(*args)`; raises ValueError for a step this task does not offer."""
        if name not in self._allowed:
            raise ValueError(f"primitive step {name!r} is not offered (allowed: {', '.join(sorted(self._allowed))})")
        return getattr(self._oracle, name)(*args)

    @property
    def calls(self) -> int:
        return self._oracle.calls


@dataclass
class GraphArrays:
    """A batch of queries as arrays for a message-passing learner: node features `(B, N, F)`, directed adjacency
    `adj[b, u, v]` (u sends to v), optional edge features `(B, N, N, E)`, one query token per item (a power, a hop
    budget or a variable) and the node read out per item (None: the answer is a pointer to a node)."""

    nodes: np.ndarray
    adj: np.ndarray
    edges: np.ndarray | None
    token: np.ndarray
    readout: np.ndarray | None


class AlgorithmicTask(ABC):
    """One task family at one difficulty. Subclasses fill in the query space, ground truth, the overseer's
    decomposition and the encodings; `name` matches the generator (`gen/<name>`)."""

    name: str
    primitive_steps: frozenset[str]
    #: the message-passing learner's shape: nodes per instance, features, query tokens and rounds; its outputs are
    #: one logit per node when `pointer` (the answer is, or is copied from, a node), then `n_classes` logits read
    #: at the query's readout node
    n_nodes: int
    node_features: int
    edge_features: int
    n_tokens: int
    rounds: int
    n_classes: int = 0
    pointer: bool = False

    @property
    def n_outputs(self) -> int:
        return (self.n_nodes if self.pointer else 0) + self.n_classes

    def __init__(self, difficulty: int = 1) -> None:
        self.difficulty = difficulty

    # -- instances and queries ------------------------------------------------------------------------------------

    @abstractmethod
    def generate(self, n: int, seed: int) -> TaskSet:
        """`n` generated questions of this task and difficulty."""

    @abstractmethod
    def top_args(self, data: dict[str, Any]) -> Args:
        """The args of the question the generator asked about this instance."""

    #: decomposition levels of the hardest (top) question: level 1 is answered from the oracle alone, level L
    #: asks sub-questions of level < L
    levels: int

    @abstractmethod
    def sample_args(self, data: dict[str, Any], rng: random.Random, max_level: int) -> Args:
        """Args drawn uniformly from the training distribution restricted to levels <= `max_level`."""

    @abstractmethod
    def level(self, args: Args) -> int:
        """The decomposition level of a query (1 = the overseer answers it with primitive steps alone)."""

    def instance(self, q: Question) -> Instance:
        """The instance behind generated question `q`; raises ValueError for a question of another task."""
        if q.meta.get("ida_task") != self.name:
            raise ValueError(f"{q.id}: not a {self.name} question")
        return Instance(self.name, q.id, q.meta["instance"], q.context or "")

    def top_query(self, q: Question) -> Query:
        """The question `q` itself as a query (what held-out evaluation asks)."""
        inst = self.instance(q)
        return Query(inst, self.top_args(inst.data))

    def eval_queries(self, n: int, seed: int) -> list[Query]:
        """The top-level queries of `n` generated questions (seed `seed`)."""
        return [self.top_query(q) for q in self.generate(n, seed)]

    def train_queries(self, n: int, seed: int, *, per_instance: int = 4, max_level: int | None = None) -> list[Query]:
        """`n` queries from the training distribution over fresh instances, `per_instance` queries each, of levels
        up to `max_level` (default: every level; a curriculum passes the iteration number)."""
        if n < 1 or per_instance < 1:
            raise ValueError(f"n and per_instance: must be >= 1, got {n} and {per_instance}")
        top = self.levels if max_level is None else min(max_level, self.levels)
        if top < 1:
            raise ValueError(f"max_level: must be >= 1, got {max_level}")
        rng = random.Random(f"ida-train/{self.name}/{self.difficulty}/{seed}/{top}")
        out: list[Query] = []
        for q in self.generate(-(-n // per_instance), seed):
            inst = self.instance(q)
            out.extend(Query(inst, self.sample_args(inst.data, rng, top)) for _ in range(per_instance))
        return out[:n]

    # -- ground truth and the overseer ----------------------------------------------------------------------------

    @abstractmethod
    def solve(self, data: dict[str, Any], args: Args) -> Answer:
        """The correct answer (reached only through `ground_truth()` in an IDA run)."""

    def ground_truth(self) -> GroundTruth:
        """A counted door to `solve` for queries of this task."""
        return GroundTruth(lambda query: self.solve(query.instance.data, query.args))

    @abstractmethod
    def public(self) -> dict[str, Any]:
        """What every question states openly (sizes), the only facts the overseer gets besides its oracle."""

    @abstractmethod
    def decomposition(self) -> Callable[..., Awaitable[Answer]]:
        """The overseer H: `async (args, public, steps, ask) -> answer`, a module-level function."""

    def steps_for(self, inst: Instance) -> PrimitiveSteps:
        """A fresh counted oracle view over `inst`."""
        return PrimitiveSteps(oracle_for_instance(self.name, inst.data), self.primitive_steps)

    @abstractmethod
    def valid(self, args: Args) -> bool:
        """Whether `args` is a query of this task (sub-questions built from a bad sub-answer are not)."""

    # -- encodings ------------------------------------------------------------------------------------------------

    @abstractmethod
    def encode(self, queries: Sequence[Query]) -> GraphArrays:
        """The batch as arrays for the message-passing learner."""

    @abstractmethod
    def target_indices(self, query: Query, answer: Answer) -> list[int]:
        """The learner outputs that mean `answer` to `query` (several when a copied value occurs at several nodes);
        raises ValueError for an answer the learner cannot give to this query."""

    @abstractmethod
    def answer_at(self, query: Query, index: int) -> Answer:
        """The answer that learner output `index` gives to `query` (None when it means nothing)."""

    @abstractmethod
    def prompt(self, query: Query) -> str:
        """The query as a self-contained text question (instance context included) for a language model."""

    @abstractmethod
    def parse(self, text: str) -> Answer:
        """A language model's reply as an answer, None when it holds none."""

    @abstractmethod
    def format(self, answer: Answer) -> str:
        """An answer as the reply text `parse` reads back."""


def halving_level(budget: int) -> int:
    """Levels of a budget halved down to 1 (ceil, then floor halves): 1 -> 1, 2 -> 2, 3..4 -> 3, 5..8 -> 4."""
    return max(1, (budget - 1).bit_length() + 1)


def one_hot(index: np.ndarray, size: int) -> np.ndarray:
    """`(..., size)` float32 one-hot rows of the integer array `index`."""
    return np.eye(size, dtype=np.float32)[index]
