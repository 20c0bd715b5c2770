"""Orchestration overhead per model call of the experiment runner on the real protocols, against a bare asyncio loop
(and against Inspect, when `inspect-ai` is installed).

Runs N scripted episodes through the real runner — spec expansion, the real `debate` (3 rounds, sequential: 7
calls) and `consultancy` (3 rounds, interactive: 6 calls) protocols on `gen/hidden-passage` with quote checking,
RoleModel, ManagedModel middleware, the call cache when on, store writes with pooling, summary — plus a toy
7-call protocol that records the same transcript shape with none of the protocol work. Scripted models answer at
once (pure functions by import path, so with `--cache` every call is a cache miss and a cache write, as in a
first run). Fixed costs (spec.json, provenance, task loading) are removed by timing two sizes and taking the
difference; each size is the best of `--repeat` timings (the machine is shared; noise only adds time).

The bare loop makes the same awaits per episode with 16 workers. The Inspect shape is the same 7 calls: a
solver that generates 7 times, each time on the growing message list, against Inspect's `mockllm/model`
answering at once (16 samples in flight; "default" logging writes every sample to the eval log, as we store every
transcript; "minimal" passes `log_samples=False`).

    .venv/bin/python bench/bench_runner.py [--episodes 2000] [--shapes toy debate consultancy] [--no-inspect]
    .venv/bin/python bench/bench_runner.py --count-calls [--episodes 500] [--shapes debate consultancy]

Prints µs per call for each shape with the call cache off and on, the bare loop, the ratio, and the budget verdict
(ARCHITECTURE.md: <= 50 µs per call with the cache on, real protocols).

On a shared VM the µs column moves 20-40% between runs of the same code. `--count-calls` prints instead the
Python function calls per model call (cProfile over one run, after a warm-up): a count that does not depend on
the machine's speed, so two commits can be compared exactly (it counts work, not its cost per call).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from oversight.episode import Judgment, Outcome, ProtocolResult, Turn
from oversight.experiment import Experiment, run_experiment
from oversight.protocol_registry import EpisodeSetup, ProtocolEntry
from oversight.types import ChatMessage, GenerateConfig, ModelOutput, Usage

CALLS = 7
QUESTIONS = 100
BUDGET_US = 50.0


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


def _output(text: str) -> ModelOutput:
    # With its usage, as a server reports it (else the scripted model counts the prompt's words itself).
    return ModelOutput(text=text, usage=Usage(input_tokens=600, output_tokens=40), finish_reason="stop")


def speech(messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
    """A debater's or consultant's speech quoting the first words of the hidden passage (a verified quote).

    Cheap on purpose (a find and eight words, not a regex over the prompt and a split of the whole passage): it
    stands in for a server, whose time is not orchestration."""
    quote = "the passage"
    for message in messages:
        start = message.content.find("<source>\n")
        if start >= 0:
            quote = " ".join(message.content[start + 9 : start + 400].split(None, 8)[:8])
            break
    return _output(f"I argue for my answer because the text says so. <quote>{quote}</quote> That settles it, judge.")


def verdict(messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
    """A judge: a question when asked for one (interactive consultancy), else an answer with a confidence."""
    if "ask the participants one short question" in messages[-1].content:
        return _output("What exactly does the text say about the answer?")
    return _output("Answer: A\nConfidence: 70%\nThe quotes were verified.")


#: shape -> (protocol entry, the speaking role)
SHAPES: dict[str, tuple[dict[str, Any], str]] = {
    "toy": ({"name": f"{__name__}:SEVEN"}, "debater"),
    "debate": ({"name": "debate", "rounds": 3}, "debater"),
    "consultancy": ({"name": "consultancy", "rounds": 3, "interactive": True}, "consultant"),
}


def spec(shape: str, repeats: int, name: str) -> Experiment:
    protocol, role = SHAPES[shape]
    return Experiment.from_dict(
        {
            "name": name,
            "repeats": repeats,
            "concurrency": 16,
            "tasks": [{"dataset": "gen/hidden-passage", "n": QUESTIONS}],
            "protocols": [protocol],
            "roles": {role: {"model": f"scripted/{role}", "options": {"fn": f"{__name__}:speech"}}},
            "judges": [{"name": "j", "model": "scripted/judge", "options": {"fn": f"{__name__}:verdict"}}],
        }
    )


def time_runner(shape: str, out: Path, repeats: int, cache: bool, name: str) -> tuple[float, int]:
    """Seconds for one run, and its model calls."""
    t0 = time.perf_counter()
    result = run_experiment(
        spec(shape, repeats, name),
        output_dir=out,
        cache=(out / f"{name}.sqlite") if cache else False,
        progress="off",
    )
    seconds = time.perf_counter() - t0
    assert result.status == "complete" and result.errors == 0, result.summary
    return seconds, int(result.summary["calls"]["total"])


def runner_us_per_call(shape: str, root: Path, small: int, big: int, cache: bool, repeat: int) -> float:
    tag = f"{shape}-{'c' if cache else 'n'}"
    time_runner(shape, root, 1, cache, f"{tag}-warmup")
    smalls = [time_runner(shape, root, small, cache, f"{tag}-small{i}") for i in range(repeat)]
    bigs = [time_runner(shape, root, big, cache, f"{tag}-big{i}") for i in range(repeat)]
    calls = bigs[0][1] - smalls[0][1]
    return (min(t for t, _ in bigs) - min(t for t, _ in smalls)) / calls * 1e6


def calls_per_model_call(shape: str, root: Path, repeats: int, cache: bool) -> float:
    """Python function calls (cProfile's count, primitive and recursive) per model call of one run of `shape`."""
    import cProfile
    import pstats

    tag = f"{shape}-{'c' if cache else 'n'}"
    time_runner(shape, root, 1, cache, f"{tag}-count-warmup")
    profile = cProfile.Profile()
    profile.enable()
    try:
        _, calls = time_runner(shape, root, repeats, cache, f"{tag}-count")
    finally:
        profile.disable()
    return pstats.Stats(profile).total_calls / calls  # type: ignore[attr-defined]


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


def bare_us_per_call(small: int, big: int, repeat: int) -> float:
    t_small = min(time_bare(small) for _ in range(repeat))
    t_big = min(time_bare(big) for _ in range(repeat))
    return (t_big - t_small) / ((big - small) * CALLS) * 1e6


def inspect_us_per_call(small: int, big: int, repeat: int, root: Path) -> dict[str, float] | None:
    """µs per call of Inspect on the same 7-call shape, by logging setting ("default": every sample logged, as we
    record every transcript; "minimal": no samples logged), or None when inspect-ai is not installed."""
    try:
        import inspect_ai  # noqa: F401
    except ImportError:
        return None
    from inspect_ai import Task, eval
    from inspect_ai.dataset import Sample
    from inspect_ai.model import (
        ChatMessageAssistant,
        ChatMessageSystem,
        ChatMessageUser,
        ModelOutput,
        ModelUsage,
        get_model,
    )
    from inspect_ai.solver import Generate, TaskState, solver

    @solver
    def seven_calls():  # type: ignore[no-untyped-def]
        async def solve(state: TaskState, generate: Generate) -> TaskState:
            state.messages = [ChatMessageSystem(content="Debate."), ChatMessageUser(content=state.input_text)]
            for _ in range(CALLS):
                state = await generate(state)
                state.messages.append(ChatMessageAssistant(content=state.output.completion))
            return state

        return solve

    def answer(*_: Any) -> Any:
        # usage given, as our scripted models give it: otherwise mockllm counts tokens with a downloaded tokenizer
        out = ModelOutput.from_content(model="mockllm", content="I argue for answer A because the text says so.")
        out.usage = ModelUsage(input_tokens=100, output_tokens=20, total_tokens=120)
        return out

    def timed(n: int, logging: str) -> float:
        task = Task(dataset=[Sample(input=f"Question {i}?", target="A") for i in range(n)], solver=seven_calls())
        model = get_model("mockllm/model", custom_outputs=answer)
        extra = {"log_samples": False} if logging == "minimal" else {}
        t0 = time.perf_counter()
        logs = eval(
            task, model=model, log_level="error", display="none", max_samples=16, log_dir=str(root / "inspect"), **extra
        )
        assert logs[0].status == "success", logs[0].error
        return time.perf_counter() - t0

    out = {}
    for logging in ("default", "minimal"):
        timed(4, logging)  # warm up imports and the model
        t_small = min(timed(small, logging) for _ in range(repeat))
        t_big = min(timed(big, logging) for _ in range(repeat))
        out[logging] = (t_big - t_small) / ((big - small) * CALLS) * 1e6
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=2000, help="episodes in the larger run (default 2000)")
    parser.add_argument("--shapes", nargs="+", choices=sorted(SHAPES), default=["toy", "debate", "consultancy"])
    parser.add_argument("--repeat", type=int, default=3, help="take the best of this many timings (default 3)")
    parser.add_argument("--no-inspect", action="store_true", help="skip the Inspect comparison")
    parser.add_argument("--inspect-episodes", type=int, default=400, help="samples in Inspect's larger run")
    parser.add_argument(
        "--count-calls", action="store_true", help="print Python calls per model call (cProfile), not µs"
    )
    args = parser.parse_args()
    if args.count_calls:
        repeats = max(args.episodes // QUESTIONS, 1)
        print(f"{repeats * QUESTIONS} episodes per shape; Python function calls per model call (cProfile)")
        print(f"{'shape':<12} {'cache off':>10} {'cache on':>10}")
        with tempfile.TemporaryDirectory() as tmp:
            for shape in args.shapes:
                off, on = (calls_per_model_call(shape, Path(tmp), repeats, cache) for cache in (False, True))
                print(f"{shape:<12} {off:>10.1f} {on:>10.1f}")
        return 0
    big = max(args.episodes // QUESTIONS, 2)
    small = big // 2
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for shape in args.shapes:
            off = runner_us_per_call(shape, root, small, big, False, args.repeat)
            on = runner_us_per_call(shape, root, small, big, True, args.repeat)
            rows.append((shape, off, on))
        bare = bare_us_per_call(small * QUESTIONS, big * QUESTIONS, args.repeat)
        inspect = None
        if not args.no_inspect:
            inspect = inspect_us_per_call(args.inspect_episodes // 2, args.inspect_episodes, args.repeat, root)
    print(f"episodes: {small * QUESTIONS} and {big * QUESTIONS} per shape; best of {args.repeat}; bare {bare:.2f} us")
    print(f"{'shape':<12} {'cache off':>10} {'cache on':>10} {'on/bare':>9}  budget <= {BUDGET_US:.0f} us (cache on)")
    for shape, off, on in rows:
        verdict_ = "OK" if on <= BUDGET_US else "OVER"
        print(f"{shape:<12} {off:>8.1f}us {on:>8.1f}us {on / bare:>8.1f}x  {verdict_}")
    if args.no_inspect:
        print("inspect: skipped (--no-inspect)")
    elif inspect is None:
        print("inspect: skipped (inspect-ai is not installed; pip install inspect-ai to compare)")
    else:
        for logging, us in inspect.items():
            n = args.inspect_episodes
            print(f"inspect, {logging} logging (7-call shape, mockllm, {n} samples): {us:8.1f} us/call")
            for shape, off, on in rows:
                print(f"  inspect / ours ({shape}): {us / off:6.1f}x cache off, {us / on:6.1f}x cache on")
    return 0


if __name__ == "__main__":
    sys.exit(main())
