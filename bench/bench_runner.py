"""Orchestration overhead per model call of the experiment runner, against a bare asyncio loop.

Runs N scripted episodes of 7 calls each (a debate-shaped protocol recording the full transcript: every turn
keeps the exact messages it saw) through the real runner — spec expansion, RoleModel, ManagedModel
middleware, store writes, summary — and the same 7 awaits per episode in a bare asyncio loop. Fixed costs
(spec.json, provenance, task loading) are removed by timing two sizes and taking the difference.

    .venv/bin/python bench/bench_runner.py [--episodes 2000] [--cache]

Prints µs per call for both and their ratio; the budget (ARCHITECTURE.md) is <= 50 µs per call.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from oversight.episode import Judgment, Outcome, ProtocolResult, Turn
from oversight.experiment import Experiment, run_experiment
from oversight.protocol_registry import EpisodeSetup, ProtocolEntry, register_protocol
from oversight.types import ChatMessage, GenerateConfig, Question

CALLS = 7


class SevenConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


async def seven(setup: EpisodeSetup) -> Outcome:
    """Three rounds of two debaters, then the judge: 7 calls, each turn recording what it saw."""
    question, models = setup.question, setup.models
    history = [ChatMessage(role="system", content="Debate."), ChatMessage(role="user", content=question.text)]
    turns: list[Turn] = []
    for rnd in range(3):
        for role in ("debater", "debater"):
            out = await models[role].generate(history)
            turns.append(Turn(role=role, content=out.text, round=rnd, seen=history, usage=out.usage))
            history = [*history, ChatMessage(role="assistant", content=out.text)]
    out = await models["judge"].generate(history)
    turns.append(Turn(role="judge", content=out.text, kind="judgment", seen=history, usage=out.usage))
    return Outcome(question, turns, [Judgment(judge="j", choice=0)], ProtocolResult())


SEVEN = ProtocolEntry(name="seven", config=SevenConfig, roles=("debater", "judge"), run=seven)


def speech(messages: list[ChatMessage], config: GenerateConfig) -> str:
    return "I argue for answer A because the passage says so."


def verdict(messages: list[ChatMessage], config: GenerateConfig) -> str:
    return "Answer: A"


def write_questions(path: Path, n: int) -> Path:
    with path.open("w") as f:
        for i in range(n):
            f.write(Question(id=f"q{i}", text=f"Question {i}?", choices=["a", "b"], answer=0).model_dump_json() + "\n")
    return path


def spec(data: Path, repeats: int, name: str) -> Experiment:
    return Experiment(
        name=name,
        repeats=repeats,
        concurrency=16,
        tasks=[{"dataset": str(data)}],
        protocols=[{"name": "bench-seven"}],
        # Scripts by import path: pure functions, so `--cache` sends every call through the call cache
        roles={"debater": {"model": "scripted/debater", "options": {"fn": f"{__name__}:speech"}}},
        judges=[{"name": "j", "model": "scripted/judge", "options": {"fn": f"{__name__}:verdict"}}],
    )


def time_runner(data: Path, out: Path, repeats: int, cache: bool, name: str) -> float:
    t0 = time.perf_counter()
    result = run_experiment(
        spec(data, repeats, name),
        output_dir=out,
        cache=(out / f"{name}.sqlite") if cache else False,
        progress="off",
    )
    assert result.status == "complete" and result.errors == 0, result.summary
    return time.perf_counter() - t0


def time_bare(episodes: int) -> float:
    async def call() -> str:
        return "x"

    async def episode() -> None:
        for _ in range(CALLS):
            await call()

    async def main() -> None:
        queue = iter(range(episodes))

        async def worker() -> None:
            for _ in queue:
                await asyncio.sleep(0)
                await episode()

        await asyncio.gather(*(worker() for _ in range(16)))

    t0 = time.perf_counter()
    asyncio.run(main())
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=2000, help="episodes in the larger run (default 2000)")
    parser.add_argument("--cache", action="store_true", help="use a (fresh) call cache, as real runs do")
    parser.add_argument("--repeat", type=int, default=3, help="take the best of this many timings (default 3)")
    args = parser.parse_args()
    register_protocol("bench-seven", f"{__name__}:SEVEN", replace=True)
    questions = 100
    big = max(args.episodes // questions, 2)
    small = big // 2
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = write_questions(root / "q.jsonl", questions)
        time_runner(data, root, 1, args.cache, "warmup")
        # Best of `--repeat` for each size: the machine is shared, and noise only ever adds time.
        t_small = min(time_runner(data, root, small, args.cache, f"small{i}") for i in range(args.repeat))
        t_big = min(time_runner(data, root, big, args.cache, f"big{i}") for i in range(args.repeat))
    n_calls = (big - small) * questions * CALLS
    ours = (t_big - t_small) / n_calls * 1e6
    bare_small = min(time_bare(small * questions) for _ in range(args.repeat))
    bare = (min(time_bare(big * questions) for _ in range(args.repeat)) - bare_small) / n_calls * 1e6
    cache = "on" if args.cache else "off"
    print(f"episodes: {small * questions} and {big * questions} x {CALLS} calls; cache: {cache}")
    print(f"runner: {ours:8.1f} us/call  (all-in: expansion, middleware, transcript, store, summary)")
    print(f"bare:   {bare:8.2f} us/call  (asyncio loop, same awaits)")
    print(f"ratio:  {ours / bare:8.1f}x   budget: <= 50 us/call -> {'OK' if ours <= 50 else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
