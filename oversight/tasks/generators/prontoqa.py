"""PrOntoQA-style deduction (after Saparov & He 2023): a fictional ontology of "Every A is a B" rules, one fact
about a named individual, and a true/false query whose proof takes exactly `depth` rule applications.

A distractor branch (concepts the individual is not, ending in the opposite property) makes shallow matching
fail.
Generated fresh here; no data is taken from the original release.
"""

from __future__ import annotations

import random

from oversight.tasks.generators import build, check_difficulty
from oversight.tasks.taskset import TaskSet
from oversight.types import Question, Source

_CONCEPTS = [
    "wumpus", "yumpus", "zumpus", "dumpus", "rompus", "numpus", "tumpus", "vumpus", "impus", "jompus",
    "gorpus", "shumpus", "lempus", "sterpus", "brimpus", "grimpus", "lorpus", "fompus", "hilpus", "quimpus",
]  # fmt: skip
_PROPERTIES = [
    "bright", "sour", "wooden", "hot", "transparent", "fruity", "shy", "liquid", "metallic", "spicy",
    "loud", "feisty", "happy", "opaque", "dull", "angry", "small", "large", "kind", "nervous",
]  # fmt: skip
_NAMES = ["Max", "Alex", "Sam", "Rex", "Fae", "Wren", "Polly", "Stella", "Sally", "Jo", "Kit", "Bo"]


def _plural(concept: str) -> str:
    return concept[:-2] + "i" if concept.endswith("us") else concept + "s"


def _is(prop: str, positive: bool) -> str:
    return prop if positive else f"not {prop}"


def generate(
    n: int = 100,
    seed: int = 0,
    difficulty: int = 3,
    depth: int | None = None,
    distractors: int = 2,
    hidden: bool = False,
) -> TaskSet:
    """`n` true/false deductions of proof depth `depth` (default: the difficulty, 1..8).

    The question lists the rules and the fact; with `hidden=True` they go into `context` instead, so only the
    experts see them. `meta["proof"]` holds the gold chain of steps.
    """
    check_difficulty(difficulty, 1, 8)
    depth = depth or difficulty
    if not 1 <= depth <= len(_CONCEPTS) // 2:
        raise ValueError(f"depth: must be in 1..{len(_CONCEPTS) // 2}, got {depth}")
    params = {"difficulty": difficulty, "depth": depth, "distractors": distractors, "hidden": hidden}

    def make(rng: random.Random, qid: str, source: Source) -> Question:
        concepts = rng.sample(_CONCEPTS, depth + distractors)
        chain, side = concepts[:depth], concepts[depth:]
        target, *other_props = rng.sample(_PROPERTIES, 2 + depth)
        positive = rng.random() < 0.5
        name = rng.choice(_NAMES)
        rules = [f"Every {chain[i]} is a {chain[i + 1]}." for i in range(depth - 1)]
        rules.append(f"Every {chain[-1]} is {_is(target, positive)}.")
        # irrelevant properties on the chain, and side concepts that hang off it with the opposite property
        for c, prop in zip(chain, other_props, strict=False):
            if rng.random() < 0.5:
                rules.append(f"Every {c} is {_is(prop, rng.random() < 0.5)}.")
        # a separate branch the individual is not on: its own chain, ending in the opposite property (a side
        # concept below the main chain would inherit the property and contradict it)
        for i, s in enumerate(side[:-1]):
            rules.append(f"Every {s} is a {side[i + 1]}.")
        if side:
            rules.append(f"Every {side[-1]} is {_is(target, not positive)}.")
        rng.shuffle(rules)
        fact = f"{name} is a {chain[0]}."
        asked_positive = rng.random() < 0.5
        query = f"True or false: {name} is {_is(target, asked_positive)}."
        proof = (
            [fact]
            + [f"{name} is a {chain[i + 1]}." for i in range(depth - 1)]
            + [f"{name} is {_is(target, positive)}."]
        )
        body = " ".join(rules) + " " + fact
        return Question(
            id=qid,
            text=query if hidden else f"{body}\n{query}",
            choices=["True", "False"],
            answer=0 if asked_positive == positive else 1,
            context=body if hidden else None,
            source=source,
            meta={"depth": depth, "proof": proof, "difficulty": difficulty},
        )

    return build("prontoqa", n, seed, params, make)
