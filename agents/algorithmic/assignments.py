"""Sequential assignments: what does a variable hold after a program of `v = 7` / `v = w` lines? The overseer
asks about line segments: "after lines a..b-1, what does v hold, in terms of the values before line a?" (a
constant, or the name of the variable whose earlier value it copied). It splits a segment in half, asks about the
second half, and if the answer is a variable w, asks what w holds after the first half; at one line it reads
the line itself."""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import numpy as np

from agents.algorithmic.tasks import AlgorithmicTask, Answer, Args, Ask, GraphArrays, Instance, PrimitiveSteps, Query
from oversight.tasks.generators import check_difficulty
from oversight.tasks.generators.ida import generate_sequential_assignments
from oversight.tasks.taskset import TaskSet

_LINE = re.compile(r"\s*(\w+)\s*=\s*(\w+)\s*")


def _parse_line(line: str) -> tuple[str, int | str]:
    match = _LINE.fullmatch(line)
    if match is None:
        raise ValueError(f"not an assignment line: {line!r}")
    rhs = match.group(2)
    return match.group(1), int(rhs) if rhs.isdigit() else rhs


def segments(lines: int) -> dict[tuple[int, int], int]:
    """The segments [a, b) the overseer's halving visits, from the whole program [0, lines), with their levels
    (1 for one line; otherwise one more than the higher of the two halves)."""
    out: dict[tuple[int, int], int] = {}

    def visit(a: int, b: int) -> int:
        m = (a + b) // 2
        out[(a, b)] = 1 if b - a == 1 else 1 + max(visit(a, m), visit(m, b))
        return out[(a, b)]

    visit(0, lines)
    return dict(sorted(out.items()))


async def decompose_segment(args: Args, public: dict[str, Any], steps: PrimitiveSteps, ask: Ask) -> Answer:
    """H for "what does v hold after lines a..b-1?"."""
    v, a, b = args
    if b - a == 1:
        target, rhs = _parse_line(steps("line", a))
        return rhs if target == v else v
    m = (a + b) // 2
    (later,) = await ask([(v, m, b)])
    if isinstance(later, int) and not isinstance(later, bool):
        return later
    if later not in public["variables"]:
        return None  # an unusable sub-answer
    (earlier,) = await ask([(later, a, m)])
    return earlier


class SequentialAssignments(AlgorithmicTask):
    """Programs of `5d` lines over `2 + d` variables. Learner view: one node per line (its target, its right-hand
    side variable or a constant flag, whether it lies in the segment and where the segment starts and ends),
    messages passed from each line to the one before, the asked variable as query token. A constant answer is a
    pointer to a line whose constant it copies; a variable answer is one of `2 + d` classes read at line a."""

    name = "sequential-assignments"
    primitive_steps = frozenset({"line"})
    pointer = True

    def __init__(self, difficulty: int = 1) -> None:
        super().__init__(check_difficulty(difficulty))
        self.lines = 5 * difficulty
        self.variables = [f"x{i}" for i in range(2 + difficulty)]
        self._var_index = {v: i for i, v in enumerate(self.variables)}
        self.segments = segments(self.lines)
        self.levels = self.segments[(0, self.lines)]
        nv = len(self.variables)
        self.n_nodes, self.node_features, self.edge_features = self.lines, 2 * nv + 4, 0
        self.n_tokens, self.rounds, self.n_classes = nv, self.lines, nv

    def generate(self, n: int, seed: int) -> TaskSet:
        return generate_sequential_assignments(n=n, seed=seed, difficulty=self.difficulty)

    def top_args(self, data: dict[str, Any]) -> Args:
        return (data["asked"], 0, self.lines)

    def sample_args(self, data: dict[str, Any], rng: random.Random, max_level: int) -> Args:
        allowed = [seg for seg, level in self.segments.items() if level <= max_level]
        return (rng.choice(self.variables), *rng.choice(allowed))

    def level(self, args: Args) -> int:
        return self.segments[(args[1], args[2])]

    def solve(self, data: dict[str, Any], args: Args) -> Answer:
        current, a, b = args
        for line in reversed(data["program"][a:b]):
            target, rhs = _parse_line(line)
            if target == current:
                if isinstance(rhs, int):
                    return rhs
                current = rhs
        return current

    def public(self) -> dict[str, Any]:
        return {"variables": frozenset(self.variables)}

    def decomposition(self) -> Callable[..., Awaitable[Answer]]:
        return decompose_segment

    def valid(self, args: Args) -> bool:
        v, a, b = args
        return v in self._var_index and (a, b) in self.segments

    def _parsed(self, inst: Instance) -> list[tuple[str, int | str]]:
        if "parsed" not in inst.cache:
            inst.cache["parsed"] = [_parse_line(line) for line in inst.data["program"]]
        return inst.cache["parsed"]

    def _line_features(self, inst: Instance) -> np.ndarray:
        if "lines" not in inst.cache:
            nv = len(self.variables)
            feats = np.zeros((self.lines, 2 * nv + 1), np.float32)
            for j, (target, rhs) in enumerate(self._parsed(inst)):
                feats[j, self._var_index[target]] = 1.0
                if isinstance(rhs, int):
                    feats[j, 2 * nv] = 1.0
                else:
                    feats[j, nv + self._var_index[rhs]] = 1.0
            inst.cache["lines"] = feats
        return inst.cache["lines"]

    def encode(self, queries: Sequence[Query]) -> GraphArrays:
        bsz, n = len(queries), self.lines
        nodes = np.zeros((bsz, n, self.node_features), np.float32)
        adj = np.zeros((bsz, n, n), bool)
        adj[:, np.arange(1, n), np.arange(n - 1)] = True  # line j + 1 sends to line j
        token = np.empty(bsz, np.int64)
        readout = np.empty(bsz, np.int64)
        static = self.node_features - 3
        for i, q in enumerate(queries):
            v, a, b = q.args
            nodes[i, :, :static] = self._line_features(q.instance)
            nodes[i, a:b, static] = 1.0
            nodes[i, a, static + 1] = 1.0
            nodes[i, b - 1, static + 2] = 1.0
            token[i], readout[i] = self._var_index[v], a
        return GraphArrays(nodes, adj, None, token, readout)

    def target_indices(self, query: Query, answer: Answer) -> list[int]:
        if isinstance(answer, str) and answer in self._var_index:
            return [self.lines + self._var_index[answer]]
        if isinstance(answer, int) and not isinstance(answer, bool):
            # any line of the program: a student's pointer may copy a constant from outside the segment (wrong,
            # but an answer it can give, so an amplified target built from it can be trained on)
            lines = [j for j, (_, rhs) in enumerate(self._parsed(query.instance)) if rhs == answer]
            if lines:
                return lines
        raise ValueError(
            f"{self.name}: answer {answer!r} is neither a variable ({', '.join(self.variables)}) nor a constant "
            "assigned in the program"
        )

    def answer_at(self, query: Query, index: int) -> Answer:
        if index >= self.lines:
            return self.variables[index - self.lines]
        rhs = self._parsed(query.instance)[index][1]
        return rhs if isinstance(rhs, int) else None  # a pointer to a copy line names no constant

    def prompt(self, query: Query) -> str:
        v, a, b = query.args
        return (
            f"{query.instance.context}\n\nRun only lines {a} to {b - 1}, starting from values set before line {a}. "
            f"What does {v} hold afterwards? Reply with the number if it is a constant, or with the variable's "
            f"name if {v} then holds that variable's value from before line {a}."
        )

    def parse(self, text: str) -> Answer:
        match = re.search(r"\b(x\d+|\d+)\b", text)
        if match is None:
            return None
        word = match.group(1)
        return word if word.startswith("x") else int(word)

    def format(self, answer: Answer) -> str:
        return str(answer)
