"""Decomposition-protocol overhead per model call against instant in-process models, so every microsecond measured
is ours (views, transcripts, JSON parsing and validation, the tree, the step checks, node-link JSON, Episode
assembly). Shapes: a factored and a sequential tree of depth 2 and breadth 3 (13 nodes: 4 decompositions, 9
answers, 4 combinations) with process and outcome supervision (14 judge calls), i.e. 31 calls per episode. A
2-round debate (5 calls) is measured in the same run for the ratio. The budget (ARCHITECTURE.md) is 50 µs per
call including the model middleware, which bench_middleware.py measures separately.

    .venv/bin/python bench/bench_decomposition.py
"""

from __future__ import annotations

import asyncio
import itertools
import time

from oversight.types import ChatMessage, GenerateConfig, ModelOutput, Question, Usage

CONTEXT = " ".join(f"Person {i} owns {i % 9 + 1} marbles." for i in range(60))
USAGE = Usage(input_tokens=100, output_tokens=20)


class Instant:
    """A Model that answers at once with a fixed output (no middleware): isolates protocol overhead."""

    def __init__(self, text: str, name: str) -> None:
        self.name = name
        self.out = ModelOutput(text=text, model=name, usage=USAGE)

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        return self.out


class Splitter:
    """Replies with three fresh subquestions each call (a counter keeps them distinct, so nothing is a cycle)."""

    name = "instant/decomposer"

    def __init__(self) -> None:
        self.n = itertools.count()

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        k = next(self.n)
        text = f'{{"subquestions": ["How many for {k}a?", "How many for {k}b?", "How many for {k}c?"]}}'
        return ModelOutput(text=text, model=self.name, usage=USAGE)


async def per_call(make, n: int) -> float:
    await make(0)  # warm caches (prompt files, schema, networkx import)
    start = time.perf_counter()
    calls = 0
    for s in range(n):
        ep = (await make(s)).episode()
        calls += sum(t.seen is not None for t in ep.turns)
    return (time.perf_counter() - start) / calls * 1e6


async def main(n: int = 100) -> None:
    from agents import Debater, LLMCombiner, LLMDecomposer, LLMSolver
    from judges import LLMJudge
    from protocols import DebateConfig, DecompositionConfig, debate, decomposition

    q = Question(id="b", text="How many marbles do Person 3 and Person 4 own?", choices=["9", "7"], answer=0,
                 context=CONTEXT)  # fmt: skip
    judge = LLMJudge(Instant("Answer: A\nConfidence: 70%", "instant/judge"))
    decomposer = LLMDecomposer(Splitter())
    solver = LLMSolver(Instant("Counting. Answer: 4", "instant/solver"))
    combiner = LLMCombiner(Instant("Adding up. Answer: A", "instant/combiner"))
    debaters = (Debater(Instant("I argue my side.", "instant/d")), Debater(Instant("I argue mine.", "instant/d")))

    def tree(mode: str):
        cfg = DecompositionConfig(mode=mode, max_depth=2, breadth=3, budget=100)
        return lambda s: decomposition(q, decomposer, solver, cfg, combiner=combiner, judge=judge, seed=s)

    rows = [
        ("decomposition factored, depth 2 x breadth 3 (31 calls)", await per_call(tree("factored"), n)),
        ("decomposition sequential, depth 2 x breadth 3 (31 calls)", await per_call(tree("sequential"), n)),
        ("debate 2 rounds (5 calls)", await per_call(lambda s: debate(q, debaters, judge, DebateConfig(), s), n)),
    ]
    base = rows[-1][1]
    for label, us in rows:
        print(f"{label:58s} {us:7.1f} µs per call  ({us / base:.2f}x debate)")


if __name__ == "__main__":
    asyncio.run(main())
