"""The two graph tasks. Both add a hop budget h to the question so that the overseer can halve it:
union-find asks "is y reachable from x in at most h links?", shortest path "how long is the shortest route from
s to t over at most h roads?". A path of at most h hops splits at some middle node m into one of at most
ceil(h/2) hops and one of at most floor(h/2), so H asks about every m and combines; at h = 1 it looks the link
up itself. The generator's question is the one with h = nodes - 1 (no simple path is longer)."""

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
    Instance,
    PrimitiveSteps,
    Query,
    halving_level,
    one_hot,
)
from oversight.tasks.generators import check_difficulty
from oversight.tasks.generators.ida import generate_shortest_path, generate_union_find
from oversight.tasks.taskset import TaskSet

#: The shortest-path answer when no route of at most h roads exists.
UNREACHABLE = "unreachable"
MAX_WEIGHT = 9  # the generator's road lengths are 1..9


def _split(h: int) -> tuple[int, int]:
    return h - h // 2, h // 2


def _sub_questions(a: int, b: int, h: int, nodes: int) -> list[Args]:
    """(a, m, ceil h/2) for every middle m, then (m, b, floor h/2), then (a, b, ceil h/2) for paths that need no
    middle (m = a or m = b would ask a trivial question)."""
    first, second = _split(h)
    mids = [m for m in range(nodes) if m not in (a, b)]
    return [(a, m, first) for m in mids] + [(m, b, second) for m in mids] + [(a, b, first)]


async def decompose_reachability(args: Args, public: dict[str, Any], steps: PrimitiveSteps, ask: Ask) -> Answer:
    """H for "is y reachable from x within h links?"."""
    x, y, h = args
    if x == y:
        return True
    if h == 1:
        return bool(steps("linked", x, y))
    answers = await ask(_sub_questions(x, y, h, public["nodes"]))
    if not all(isinstance(a, bool) for a in answers):
        return None
    half = (len(answers) - 1) // 2
    return answers[-1] or any(p and q for p, q in zip(answers[:half], answers[half:-1], strict=True))


async def decompose_distance(args: Args, public: dict[str, Any], steps: PrimitiveSteps, ask: Ask) -> Answer:
    """H for "shortest s-t route over at most h roads" (UNREACHABLE when there is none)."""
    s, t, h = args
    if s == t:
        return 0
    if h == 1:
        w = steps("weight", s, t)
        return UNREACHABLE if w is None else int(w)
    answers = await ask(_sub_questions(s, t, h, public["nodes"]))
    if not all(a == UNREACHABLE or (isinstance(a, int) and not isinstance(a, bool) and a >= 0) for a in answers):
        return None
    half = (len(answers) - 1) // 2
    best = [p + q for p, q in zip(answers[:half], answers[half:-1], strict=True) if UNREACHABLE not in (p, q)]
    if answers[-1] != UNREACHABLE:
        best.append(answers[-1])
    return min(best) if best else UNREACHABLE


async def decompose_first_road(args: Args, public: dict[str, Any], steps: PrimitiveSteps, ask: Ask) -> Answer:
    """H for the same question split by the first road (a Bellman-Ford step): the best over s's roads (s, u) of
    its length plus the shortest u-t route over at most h - 1 roads. Fewer sub-answers per target than halving
    (one per neighbour), but h levels instead of log h."""
    s, t, h = args
    if s == t:
        return 0
    roads = [(u, steps("weight", s, u)) for u in steps("neighbours", s)]
    best = [w for u, w in roads if u == t]
    rest = [(u, w) for u, w in roads if u != t]
    if h > 1 and rest:
        answers = await ask([(u, t, h - 1) for u, _ in rest])
        if not all(a == UNREACHABLE or (isinstance(a, int) and not isinstance(a, bool) and a >= 0) for a in answers):
            return None
        best += [w + a for (_, w), a in zip(rest, answers, strict=True) if a != UNREACHABLE]
    return min(best) if best else UNREACHABLE


def _adjacency(inst: Instance, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    if "adj" not in inst.cache:
        adj = np.zeros((nodes, nodes), bool)
        weight = np.zeros((nodes, nodes), np.int64)
        for u, v, *w in inst.data["edges"]:
            adj[u, v] = adj[v, u] = True
            weight[u, v] = weight[v, u] = w[0] if w else 1
        inst.cache["adj"], inst.cache["weight"] = adj, weight
    return inst.cache["adj"], inst.cache["weight"]


class _HopBudgetTask(AlgorithmicTask):
    """Shared by the graph tasks: queries (a, b, h) with a != b and 1 <= h <= nodes - 1."""

    nodes: int

    def _setup(self) -> None:
        self.max_hops = self.nodes - 1
        self.n_nodes, self.n_tokens, self.rounds = self.nodes, self.max_hops + 1, self.max_hops
        self.levels = halving_level(self.max_hops)

    def sample_args(self, data: dict[str, Any], rng: random.Random, max_level: int) -> Args:
        a, b = rng.sample(range(self.nodes), 2)
        return (a, b, rng.randint(1, min(self.max_hops, 2 ** (max_level - 1))))

    def level(self, args: Args) -> int:
        return halving_level(args[2])

    def public(self) -> dict[str, Any]:
        return {"nodes": self.nodes}

    def valid(self, args: Args) -> bool:
        a, b, h = args
        return 0 <= a < self.nodes and 0 <= b < self.nodes and 1 <= h <= self.max_hops

    def _encode(self, queries: Sequence[Query], weighted: bool) -> GraphArrays:
        bsz, n = len(queries), self.nodes
        nodes = np.zeros((bsz, n, 2), np.float32)
        adj = np.zeros((bsz, n, n), bool)
        edges = np.zeros((bsz, n, n, MAX_WEIGHT + 1), np.float32) if weighted else None
        token = np.empty(bsz, np.int64)
        readout = np.empty(bsz, np.int64)
        for i, q in enumerate(queries):
            a, b, h = q.args
            adj[i], weight = _adjacency(q.instance, n)
            if edges is not None:
                length = one_hot(np.clip(weight - 1, 0, MAX_WEIGHT - 1), MAX_WEIGHT)
                edges[i, ..., :MAX_WEIGHT] = length * adj[i, ..., None]
                edges[i, ..., MAX_WEIGHT] = weight / MAX_WEIGHT
            nodes[i, a, 0] = nodes[i, b, 1] = 1.0
            token[i], readout[i] = h, b
        return GraphArrays(nodes, adj, edges, token, readout)


class UnionFind(_HopBudgetTask):
    """Reachability within h links over `6d` nodes. Learner view: x and y marked, the links as edges, h as query
    token, a yes/no answer read at y."""

    name = "union-find"
    primitive_steps = frozenset({"linked"})

    def __init__(self, difficulty: int = 1) -> None:
        super().__init__(check_difficulty(difficulty))
        self.nodes = 6 * difficulty
        self._setup()
        self.node_features, self.edge_features, self.n_classes = 2, 0, 2

    def generate(self, n: int, seed: int) -> TaskSet:
        return generate_union_find(n=n, seed=seed, difficulty=self.difficulty)

    def top_args(self, data: dict[str, Any]) -> Args:
        return (data["x"], data["y"], self.max_hops)

    def solve(self, data: dict[str, Any], args: Args) -> Answer:
        x, y, h = args
        adj: dict[int, set[int]] = {v: set() for v in range(self.nodes)}
        for u, v in data["edges"]:
            adj[u].add(v)
            adj[v].add(u)
        seen, frontier = {x}, {x}
        for _ in range(h):
            frontier = {v for u in frontier for v in adj[u]} - seen
            seen |= frontier
        return y in seen

    def decomposition(self) -> Callable[..., Awaitable[Answer]]:
        return decompose_reachability

    def encode(self, queries: Sequence[Query]) -> GraphArrays:
        return self._encode(queries, weighted=False)

    def target_indices(self, query: Query, answer: Answer) -> list[int]:
        if not isinstance(answer, bool):
            raise ValueError(f"{self.name}: answer {answer!r} is not True or False")
        return [int(answer)]

    def answer_at(self, query: Query, index: int) -> Answer:
        return bool(index)

    def prompt(self, query: Query) -> str:
        x, y, h = query.args
        return (
            f"{query.instance.context}\n\nNodes 0..{self.nodes - 1} are joined by the links above. Can you get "
            f"from {x} to {y} using at most {h} links? Reply Yes or No."
        )

    def parse(self, text: str) -> Answer:
        match = re.search(r"\b(yes|no)\b", text, re.I)
        return None if match is None else match.group(1).lower() == "yes"

    def format(self, answer: Answer) -> str:
        return "Yes" if answer else "No"


class ShortestPath(_HopBudgetTask):
    """Shortest route over at most h roads in a connected graph of `5 + 3d` nodes with lengths 1..9. Learner
    view: s and t marked, roads as edges with their length, h as query token, the length read at t as one of
    0..9(nodes-1) or UNREACHABLE. `split="middle"` halves h (log h levels, 2 * nodes - 3 sub-answers a target);
    `split="first-road"` peels off s's first road (h levels, one sub-answer per road of s)."""

    name = "shortest-path"

    def __init__(self, difficulty: int = 1, split: str = "middle") -> None:
        super().__init__(check_difficulty(difficulty))
        if split not in ("middle", "first-road"):
            raise ValueError(f"split: expected 'middle' or 'first-road', got {split!r}")
        self.split = split
        self.primitive_steps = frozenset({"weight"} if split == "middle" else {"weight", "neighbours"})
        self.nodes = 5 + 3 * difficulty
        self._setup()
        if split == "first-road":
            self.levels = self.max_hops
        self.max_distance = MAX_WEIGHT * self.max_hops
        self.node_features, self.edge_features = 2, MAX_WEIGHT + 1
        self.n_classes = self.max_distance + 2  # 0..max_distance, then UNREACHABLE

    def generate(self, n: int, seed: int) -> TaskSet:
        return generate_shortest_path(n=n, seed=seed, difficulty=self.difficulty)

    def top_args(self, data: dict[str, Any]) -> Args:
        return (data["s"], data["t"], self.max_hops)

    def solve(self, data: dict[str, Any], args: Args) -> Answer:
        s, t, h = args
        dist = {s: 0}
        for _ in range(h):  # Bellman-Ford, one more road per round
            nxt = dict(dist)
            for u, v, w in data["edges"]:
                for a, b in ((u, v), (v, u)):
                    if a in dist and dist[a] + w < nxt.get(b, 1 << 30):
                        nxt[b] = dist[a] + w
            dist = nxt
        return dist.get(t, UNREACHABLE)

    def decomposition(self) -> Callable[..., Awaitable[Answer]]:
        return decompose_distance if self.split == "middle" else decompose_first_road

    def level(self, args: Args) -> int:
        return args[2] if self.split == "first-road" else halving_level(args[2])

    def sample_args(self, data: dict[str, Any], rng: random.Random, max_level: int) -> Args:
        if self.split == "middle":
            return super().sample_args(data, rng, max_level)
        a, b = rng.sample(range(self.nodes), 2)
        return (a, b, rng.randint(1, min(self.max_hops, max_level)))

    def encode(self, queries: Sequence[Query]) -> GraphArrays:
        return self._encode(queries, weighted=True)

    def target_indices(self, query: Query, answer: Answer) -> list[int]:
        if answer == UNREACHABLE:
            return [self.max_distance + 1]
        if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer <= self.max_distance:
            raise ValueError(f"{self.name}: answer {answer!r} is neither 0..{self.max_distance} nor {UNREACHABLE!r}")
        return [answer]

    def answer_at(self, query: Query, index: int) -> Answer:
        return UNREACHABLE if index == self.max_distance + 1 else int(index)

    def prompt(self, query: Query) -> str:
        s, t, h = query.args
        return (
            f"{query.instance.context}\n\nNodes 0..{self.nodes - 1} are joined by the roads above. How long is the "
            f"shortest route from {s} to {t} that uses at most {h} roads? Reply with the number, or 'none' if "
            "there is no such route."
        )

    def parse(self, text: str) -> Answer:
        match = re.search(r"\b(none|\d+)\b", text, re.I)
        if match is None:
            return None
        return UNREACHABLE if match.group(1).lower() == "none" else int(match.group(1))

    def format(self, answer: Answer) -> str:
        return "none" if answer == UNREACHABLE else str(answer)
