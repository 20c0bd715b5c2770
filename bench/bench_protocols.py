"""Protocol-layer overhead per model call: a 7-call debate (2 rounds + cross-examination... see SHAPE) against an
instant in-process model, so every microsecond measured is ours (transcript, views, rendering, quote checks,
prompt filling, Episode assembly). Prints µs per call; the budget (ARCHITECTURE.md) is 50 µs including the
model middleware, which bench_middleware.py measures separately.

    .venv/bin/python bench/bench_protocols.py
"""

from __future__ import annotations

import asyncio
import time

from oversight.types import ChatMessage, GenerateConfig, ModelOutput, Question, Usage
from protocols import ConsultancyConfig, DebateConfig, consultancy, debate

CONTEXT = " ".join(
    f"Person {i} was born in Town {i % 7} in {1900 + i}. Person {i} works for Company {i % 5}." for i in range(60)
)
SPEECH = "I argue my side. <quote>Person 12 was born in Town 5 in 1912</quote> and more words follow here."


class Instant:
    """A Model that answers at once with a fixed output (no middleware): isolates protocol overhead."""

    def __init__(self, text: str, name: str) -> None:
        self.name = name
        self.out = ModelOutput(text=text, model=name, usage=Usage(input_tokens=100, output_tokens=20))

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        return self.out


async def main(n: int = 400) -> None:
    from agents import Consultant, Debater
    from judges import LLMJudge

    q = Question(id="b", text="Where was Person 12 born?", choices=["Town 5", "Town 2"], answer=0, context=CONTEXT)
    judge = LLMJudge(Instant("Answer: A\nConfidence: 70%", "instant/judge"))
    debaters = (Debater(Instant(SPEECH, "instant/d")), Debater(Instant(SPEECH, "instant/d")))
    consultant = Consultant(Instant(SPEECH, "instant/c"))
    shapes = [
        ("debate 3 rounds sequential (7 calls)", lambda s: debate(q, debaters, judge, DebateConfig(rounds=3), s)),
        (
            "debate 1 round + cross-exam (7 calls)",
            lambda s: debate(q, debaters, judge, DebateConfig(rounds=1, cross_examination=True), s),
        ),
        (
            "consultancy 3 rounds interactive (6 calls)",
            lambda s: consultancy(q, consultant, judge, ConsultancyConfig(rounds=3, interactive=True), s),
        ),
    ]
    for label, make in shapes:
        await make(0)  # warm caches (context index, prompt files)
        start = time.perf_counter()
        calls = 0
        for s in range(n):
            ep = (await make(s)).episode()
            calls += sum(t.seen is not None for t in ep.turns)
        per_call = (time.perf_counter() - start) / calls * 1e6
        print(f"{label:45s} {per_call:7.1f} µs of protocol overhead per call ({calls} calls)")


if __name__ == "__main__":
    asyncio.run(main())
