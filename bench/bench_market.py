"""Market-making overhead per model call against instant in-process models, so every microsecond measured is ours
(views, the candidate views M is queried with, rendering, quote checks, parsing M's distribution, shift measures,
cross-examination, the result model, Episode assembly). Shapes: T = 3 steps of k = 2 candidates (1 + 3 x (2 + 2)
+ 1 = 14 calls), the same with cross-examination (+ 2 x 2 = 18 calls), and a model-free episode (simulated market
and judge, retrieval adversary: no model call at all, so its time is per episode). Debates of the same size are
measured in the same run for the ratio. Each shape runs `--repeats` times, interleaved, and its fastest run counts
(the machine is shared). The budget (ARCHITECTURE.md) is 50 µs per call including the model middleware, which
bench_middleware.py measures separately.

    .venv/bin/python bench/bench_market.py [--n 100] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from oversight.types import ChatMessage, GenerateConfig, ModelOutput, Question, Usage

CONTEXT = " ".join(
    f"Person {i} was born in Town {i % 7} in {1900 + i}. Person {i} works for Company {i % 5}." for i in range(60)
)
SPEECH = "I argue my side. <quote>Person 12 was born in Town 5 in 1912</quote> and more words follow here."
USAGE = Usage(input_tokens=100, output_tokens=20)


class Instant:
    """A Model that answers at once with a fixed output (no middleware): isolates protocol overhead."""

    def __init__(self, text: str, name: str) -> None:
        self.name = name
        self.out = ModelOutput(text=text, model=name, usage=USAGE)

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        return self.out


class Moving:
    """A market model whose stated distribution moves with every call (so candidates' shifts differ)."""

    name = "instant/market"

    def __init__(self) -> None:
        self.k = 0

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        self.k += 1
        a = 20 + (self.k * 37) % 60
        return ModelOutput(text=f"Answer: A\nA: {a}%, B: {100 - a}%", model=self.name, usage=USAGE)


async def per_call(make, n: int) -> tuple[float, int]:
    """µs of our time per model call (turns that record the messages sent), and calls per episode."""
    start = time.perf_counter()
    calls = 0
    for s in range(n):
        ep = (await make(s)).episode()
        calls += sum(t.seen is not None for t in ep.turns)
    return (time.perf_counter() - start) / calls * 1e6, calls // n


async def per_episode(make, n: int) -> tuple[float, int]:
    start = time.perf_counter()
    for s in range(n):
        (await make(s)).episode()
    return (time.perf_counter() - start) / n * 1e6, 0


async def best_of(measure, shapes, n: int, repeats: int) -> list[tuple[str, float, int]]:
    """Each shape measured `repeats` times, interleaved, keeping its fastest run: on a shared machine the other
    load only ever adds time, so the minimum is the closest to our own cost."""
    for _, make in shapes:
        await make(0)  # warm caches (prompt files, context index)
    best: dict[str, tuple[float, int]] = {}
    for _ in range(repeats):
        for label, make in shapes:
            us, calls = await measure(make, n)
            if label not in best or us < best[label][0]:
                best[label] = (us, calls)
    return [(label, *best[label]) for label, _ in shapes]


async def main(n: int, repeats: int) -> None:
    from agents import Debater, LLMAdversary, LLMMarket, RetrievalAdversary, SimulatedMarket
    from judges import LLMJudge, SimulatedJudge, SimulatedJudgeParams
    from protocols import DebateConfig, MarketMakingConfig, debate, market_making

    q = Question(id="b", text="Where was Person 12 born?", choices=["Town 5", "Town 2"], answer=0, context=CONTEXT)
    judge = LLMJudge(Instant("Answer: A\nConfidence: 70%", "instant/judge"))
    market = LLMMarket(Moving(), mode="elicited")
    adversary = LLMAdversary(Instant(SPEECH, "instant/adv"))
    debaters = (Debater(Instant(SPEECH, "instant/d")), Debater(Instant(SPEECH, "instant/d")))

    def mm(**kw):
        cfg = MarketMakingConfig(steps=3, candidates=2, **kw)
        return lambda s: market_making(q, market, adversary, judge, cfg, s)

    def dbt(**kw):
        return lambda s: debate(q, debaters, judge, DebateConfig(**kw), s)

    shapes = [
        ("market making T=3 k=2", mm()),
        ("market making T=3 k=2 + cross-examination", mm(cross_examination=True)),
        ("debate 3 rounds sequential", dbt(rounds=3)),
        ("debate 1 round + cross-exam", dbt(rounds=1, cross_examination=True)),
    ]
    rows = await best_of(per_call, shapes, n, repeats)
    base = rows[2][1]
    for label, us, calls in rows:
        print(f"{f'{label} ({calls} calls)':58s} {us:7.1f} µs per call  ({us / base:.2f}x debate)")

    weights = SimulatedJudgeParams(signal_weight=0.0, verified_weight=1.0, unverified_weight=-1.0)
    free = MarketMakingConfig(steps=3, candidates=2, cross_examination=True)
    sim_judge = SimulatedJudge(weights.model_copy(update={"signal_weight": 1.0, "accuracy": 0.7}), truth="Town 5")
    label = "model-free market making T=3 k=2 + cross-examination"
    market_free, adversary_free = SimulatedMarket(weights), RetrievalAdversary(fabricate=0.5)
    shape = (label, lambda s: market_making(q, market_free, adversary_free, sim_judge, free, s))
    [(_, us, _)] = await best_of(per_episode, [shape], n, repeats)
    print(f"{label:58s} {us:7.1f} µs per episode (no model calls)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100, help="episodes per shape and repeat (default 100)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per shape; the fastest counts (default 5)")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.repeats))
