"""What loading an agent's prompt files costs per episode: read and hashed every time (before) against loaded once
per file version (`PromptSet.load` now: a stat per file), for the debate protocol's agents.

A debate episode builds two `Debater`s and an `LLMJudge`, each loading its prompt set; a 3-round sequential debate
makes 7 calls, so the saving per call is the difference x 3 / 7.

    .venv/bin/python bench/bench_prompts.py [--loads 3000] [--repeat 5]

Prints µs per load both ways (best of `--repeat`, interleaved), their ratio, and µs saved per debate call.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from agents.debater import Debater
from agents.llm import PROMPTS_DIR as AGENT_PROMPTS_DIR
from judges.llm_judge import DECIDE_TEMPLATE
from judges.llm_judge import PROMPTS_DIR as JUDGE_PROMPTS
from oversight.prompts import PromptSet

AGENT_PROMPTS = Path(AGENT_PROMPTS_DIR)
SETS = [
    (AGENT_PROMPTS, tuple(Debater.prompt_names)),
    (AGENT_PROMPTS, tuple(Debater.prompt_names)),
    (Path(JUDGE_PROMPTS), ("judge_system", DECIDE_TEMPLATE["logprobs"], "judge_ask", "expert_system")),
]


def read_every_time(directory: Path, names: tuple[str, ...]) -> PromptSet:
    """What `PromptSet.load` did before: open, read and hash every template on every load."""
    return PromptSet.from_texts({n: (directory / f"{n}.txt").read_text() for n in names})


def timed(load, loads: int) -> float:  # noqa: ANN001
    t0 = time.perf_counter()
    for _ in range(loads // len(SETS)):
        for directory, names in SETS:
            load(directory, names)
    return (time.perf_counter() - t0) / (loads // len(SETS) * len(SETS)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    before, after = [], []
    for _ in range(args.repeat):  # interleaved: both see the same machine
        before.append(timed(read_every_time, args.loads))
        after.append(timed(PromptSet.load, args.loads))
    b, a = min(before), min(after)
    print(f"prompt set load, µs (best of {args.repeat} x {args.loads}):", end=" ")
    print(f"read every time {b:6.1f}   once per file version {a:6.1f}")
    print(f"ratio {b / a:5.1f}x; a 7-call debate episode loads 3 sets: {(b - a) * 3 / 7:5.1f} µs saved per call")


if __name__ == "__main__":
    main()
