"""How much of a debate experiment's prompt text any schedule could answer from a server's prefix cache: the ceiling
for `bench/bench_vllm_schedule.py`'s workload, without a server.

The same experiment as that benchmark (debate, 2 rounds, 30-word speeches, `gen/hidden-passage` questions x seeds),
run through the real runner with scripted models that answer at once (`bench_runner`'s debater and judge: a
debater's reply depends only on its prompt, as at temperature 0). Each prompt is its messages joined; with an
unbounded cache and the best order, a set of prompts computes each shared prefix once, so the characters that
must be computed are those of the prompts' prefix tree (sorted prompts: each one's length minus its common prefix
with the one before). Prints that share of all prompt characters for the whole run and within each episode alone.

    PYTHONPATH=.:bench .venv/bin/python bench/bench_prefix_bound.py [--questions 24] [--seeds 2]

Characters, not tokens, and no 16-token block rounding: a close estimate of the hit rate vLLM reports.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterable

from oversight.experiment import Experiment, run_experiment
from oversight.store import iter_episodes


def common_prefix(a: str, b: str) -> int:
    """The length of the longest common prefix of `a` and `b`."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def computed_chars(prompts: Iterable[str]) -> int:
    """Characters an unbounded prefix cache must compute for `prompts` in the best order (their prefix tree)."""
    ordered = sorted(prompts)
    if not ordered:
        return 0
    return len(ordered[0]) + sum(len(b) - common_prefix(a, b) for a, b in zip(ordered, ordered[1:], strict=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=24)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    spec = Experiment.from_dict(
        {
            "name": "prefix-bound",
            "seeds": list(range(args.seeds)),
            "cache": False,
            "tasks": [{"dataset": "gen/hidden-passage", "n": args.questions, "seed": 0}],
            "protocols": [{"name": "debate", "rounds": 2, "word_limit": 30}],
            "roles": {"debater": {"model": "scripted/d", "options": {"fn": "bench_runner:speech"}}},
            "judges": [{"name": "j", "model": "scripted/j", "options": {"fn": "bench_runner:verdict"}}],
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        result = run_experiment(spec, output_dir=tmp, progress="off")
        by_episode = [
            ["\x00".join(f"{m.role}\x01{m.content}" for m in turn.seen) for turn in ep.turns if turn.seen]
            for ep in iter_episodes(result.run_dir)
        ]
    prompts = [p for ps in by_episode for p in ps]
    total = sum(len(p) for p in prompts)
    run = 1 - computed_chars(prompts) / total
    within = 1 - sum(computed_chars(ps) for ps in by_episode) / total
    print(f"{len(by_episode)} episodes, {len(prompts)} prompts, {total:,} prompt characters")
    print(f"a prefix seen before, best order and an unbounded cache: {run:.1%}", end=" ")
    print(f"(within each episode alone: {within:.1%})")


if __name__ == "__main__":
    main()
