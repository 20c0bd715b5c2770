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


#: Du et al.'s script draws the six numbers of every problem from 0..29 (numpy's `randint(0, 30)`).
DU_HIGH = 30


def du_problems(n: int = 100, seed: int = 0) -> list[tuple[int, int, int, int, int, int]]:
    """The numbers (a, b, c, d, e, f) of the first `n` problems of Du et al.'s `math/gen_math.py`: after
    `np.random.seed(seed)`, problem i is the i-th `np.random.randint(0, 30, size=6)`. numpy's legacy
    `RandomState` is that same stream, so these are their problems exactly. Raises ValueError for n < 0."""
    if n < 0:
        raise ValueError(f"n: must be >= 0, got {n}")
    import numpy as np

    rng = np.random.RandomState(seed)
    return [tuple(int(x) for x in rng.randint(0, DU_HIGH, size=6)) for _ in range(n)]  # type: ignore[misc]


def generate_du(n: int = 100, seed: int = 0) -> TaskSet:
    """Du et al.'s 100 arithmetic problems (seed 0), or the first `n`: "What is the result of a+b*c+d-e*f?" with
    the exact integer answer, free-form (`meta["answers"]`, `meta["numeric"]`). Problem i keeps its id
    (`gen/du-arithmetic/s<seed>/<i>`) whatever `n` is, since their stream is drawn in order."""
    from oversight import __version__
    from oversight.tasks.generators import GENERATED_LICENCE

    source = Source(
        dataset="gen/du-arithmetic",
        split=f"s{seed}",
        licence=GENERATED_LICENCE,
        package="oversight",
        version=__version__,
    )
    questions = []
    for i, (a, b, c, d, e, f) in enumerate(du_problems(n, seed)):
        expr = f"{a}+{b}*{c}+{d}-{e}*{f}"
        value = evaluate(a, b, c, d, e, f)
        questions.append(
            Question(
                id=f"gen/du-arithmetic/s{seed}/{i}",
                text=f"What is the result of {expr}?",
                source=source,
                meta={"answers": [str(value)], "numeric": value, "expression": expr, "numbers": [a, b, c, d, e, f]},
            )
        )
    return TaskSet(
        name="gen/du-arithmetic",
        questions=questions,
        split=f"s{seed}",
        licence=GENERATED_LICENCE,
        package="oversight",
        version=__version__,
        options={"seed": seed, "n": n},
    )
