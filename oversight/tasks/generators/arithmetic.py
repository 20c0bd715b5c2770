"""Du et al. (2023) arithmetic: `a+b*c+d-e*f`, exact integer answer; difficulty sets the size of the numbers."""

from __future__ import annotations

import random

from oversight.tasks.generators import build, check_difficulty
from oversight.tasks.taskset import TaskSet
from oversight.types import Question, Source

#: difficulty -> numbers are drawn from 0..max-1 (difficulty 2 is the paper's 0..29).
MAX_VALUE = {1: 10, 2: 30, 3: 100, 4: 1000, 5: 10000}


def evaluate(a: int, b: int, c: int, d: int, e: int, f: int) -> int:
    """a+b*c+d-e*f with the usual precedence."""
    return a + b * c + d - e * f


def generate(n: int = 100, seed: int = 0, difficulty: int = 2) -> TaskSet:
    """`n` expressions `a+b*c+d-e*f` with numbers below MAX_VALUE[difficulty]; the answer is free-form
    (`meta["answers"]`, `meta["numeric"]`), with precedence and sign slips in `meta["wrong_candidates"]`."""
    check_difficulty(difficulty)
    top = MAX_VALUE[difficulty]

    def make(rng: random.Random, qid: str, source: Source) -> Question:
        a, b, c, d, e, f = (rng.randrange(top) for _ in range(6))
        expr = f"{a}+{b}*{c}+{d}-{e}*{f}"
        value = evaluate(a, b, c, d, e, f)
        left_to_right = (((a + b) * c + d) - e) * f
        slips = [left_to_right, a + b * c + d + e * f, a + b * c - d - e * f, value + 10, value - 10]
        return Question(
            id=qid,
            text=f"What is the result of {expr}?",
            source=source,
            meta={
                "answers": [str(value)],
                "numeric": value,
                "expression": expr,
                "difficulty": difficulty,
                "wrong_candidates": [s for s in dict.fromkeys(slips) if s != value],
            },
        )

    return build("arithmetic", n, seed, {"difficulty": difficulty}, make)
