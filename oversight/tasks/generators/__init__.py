"""Seeded task generators with certain answers and a difficulty knob.

Each module has `generate(n, seed, difficulty=..., **options) -> TaskSet`. Item `i` is drawn from its own
random stream seeded by (generator, seed, options, i), so the first items do not change when `n` grows and ids
(`gen/<name>/<hash of options>/s<seed>/<i>`) are stable for resume.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from typing import Any

from oversight.tasks.taskset import TaskSet
from oversight.types import Question, Source

GENERATED_LICENCE = "generated (no third-party data)"


def _params_key(params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:8]


def build(
    name: str,
    n: int,
    seed: int,
    params: dict[str, Any],
    make: Callable[[random.Random, str, Source], Question],
) -> TaskSet:
    """A TaskSet of `n` questions, item `i` made by `make(rng_i, id_i, source)`."""
    if n < 0:
        raise ValueError(f"n: must be >= 0, got {n}")
    from oversight import __version__

    key = _params_key(params)
    source = Source(
        dataset=f"gen/{name}", split=f"s{seed}", licence=GENERATED_LICENCE, package="oversight", version=__version__
    )
    questions = []
    for i in range(n):
        rng = random.Random(f"gen/{name}:{key}:{seed}:{i}")
        questions.append(make(rng, f"gen/{name}/{key}/s{seed}/{i}", source))
    return TaskSet(
        name=f"gen/{name}",
        questions=questions,
        split=f"s{seed}",
        licence=GENERATED_LICENCE,
        package="oversight",
        version=__version__,
        options={"seed": seed, "n": n, **params},
    )


def check_difficulty(difficulty: int, low: int = 1, high: int = 5) -> int:
    """`difficulty` itself; raises ValueError outside `low..high`."""
    if not low <= difficulty <= high:
        raise ValueError(f"difficulty: must be in {low}..{high}, got {difficulty}")
    return difficulty
