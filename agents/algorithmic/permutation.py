"""Permutation powering: where does sigma^k send x? The overseer halves the power (sigma^k = sigma^floor(k/2)
after sigma^ceil(k/2)) and looks sigma up itself only at k = 1."""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import numpy as np

from agents.algorithmic.tasks import (
    AlgorithmicTask,
    Answer,
    Args,
    Ask,
    GraphArrays,
    PrimitiveSteps,
    Query,
    halving_level,
)
from oversight.tasks.generators import check_difficulty
from oversight.tasks.generators.ida import generate_permutation_power, permutation_power
from oversight.tasks.taskset import TaskSet


async def decompose_power(args: Args, public: dict[str, Any], steps: PrimitiveSteps, ask: Ask) -> Answer:
    """H for sigma^k(x): one primitive step at k = 1, otherwise two sub-questions of half the power."""
    k, x = args
    if k == 1:
        return steps("image", x)
    (y,) = await ask([(k - k // 2, x)])
    if not isinstance(y, int) or isinstance(y, bool) or not 0 <= y < public["size"]:
        return None  # an unusable sub-answer: H cannot go on
    (z,) = await ask([(k // 2, y)])
    return z


class PermutationPowering(AlgorithmicTask):
    """sigma^k(x) over permutations of `4 + 4d` elements, k in 1..2^(d+3) (the generator's range plus its
    sub-powers). Learner view: node x marked, edges i -> sigma(i), the power as query token, a pointer answer."""

    name = "permutation-power"
    primitive_steps = frozenset({"image"})
    pointer = True

    def __init__(self, difficulty: int = 1) -> None:
        super().__init__(check_difficulty(difficulty))
        self.size = 4 + 4 * difficulty
        self.max_power = 2 ** (difficulty + 3)
        self.n_nodes, self.node_features, self.edge_features = self.size, 1, 0
        self.n_tokens, self.rounds = self.max_power + 1, self.max_power
        self.levels = halving_level(self.max_power)

    def generate(self, n: int, seed: int) -> TaskSet:
        return generate_permutation_power(n=n, seed=seed, difficulty=self.difficulty)

    def top_args(self, data: dict[str, Any]) -> Args:
        return (data["k"], data["x"])

    def sample_args(self, data: dict[str, Any], rng: random.Random, max_level: int) -> Args:
        return (rng.randint(1, min(self.max_power, 2 ** (max_level - 1))), rng.randrange(self.size))

    def level(self, args: Args) -> int:
        return halving_level(args[0])

    def solve(self, data: dict[str, Any], args: Args) -> Answer:
        return permutation_power(data["perm"], args[0], args[1])

    def public(self) -> dict[str, Any]:
        return {"size": self.size}

    def decomposition(self) -> Callable[..., Awaitable[Answer]]:
        return decompose_power

    def valid(self, args: Args) -> bool:
        k, x = args
        return 1 <= k <= self.max_power and 0 <= x < self.size

    def encode(self, queries: Sequence[Query]) -> GraphArrays:
        b, n = len(queries), self.size
        nodes = np.zeros((b, n, 1), np.float32)
        adj = np.zeros((b, n, n), bool)
        token = np.empty(b, np.int64)
        for i, q in enumerate(queries):
            k, x = q.args
            adj[i, np.arange(n), q.instance.data["perm"]] = True
            nodes[i, x, 0] = 1.0
            token[i] = k
        return GraphArrays(nodes, adj, None, token, None)

    def target_indices(self, query: Query, answer: Answer) -> list[int]:
        if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < self.size:
            raise ValueError(f"{self.name}: answer {answer!r} is not an element of 0..{self.size - 1}")
        return [answer]

    def answer_at(self, query: Query, index: int) -> Answer:
        return int(index)

    def prompt(self, query: Query) -> str:
        k, x = query.args
        return (
            f"{query.instance.context}\n\nsigma is a permutation of 0..{self.size - 1}. "
            f"Where does sigma applied {k} times send {x}? Reply with the number only."
        )

    def parse(self, text: str) -> Answer:
        match = re.search(r"-?\d+", text)
        return int(match.group()) if match else None

    def format(self, answer: Answer) -> str:
        return str(answer)
