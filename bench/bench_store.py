"""Bytes on disk per episode against debate rounds, with message pooling (the default) and inline (as before).

Scripted debates with 120-word speeches through the real runner on `gen/hidden-passage`, 16 questions x 2
seeds; the pooled and the inline store are written from the same episodes in one run.

    .venv/bin/python bench/bench_store.py [--rounds 1 2 4 6 8]

Prints per round count: bytes per episode of the episode line, of the pool (the run's shared paragraphs, hidden
passages included), of the inline store, and the episode line over the same episode without its prompts (the
target is <= 1.3 at 6 rounds). Pooled totals grow linearly with rounds, inline ones with their square.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from oversight.experiment import Experiment, run_experiment
from oversight.store import EPISODES_FILE, POOL_FILE, EpisodeWriter, load_run

SPEECH = " ".join(f"word{i}" for i in range(120)) + " <quote>a quote</quote>"


def measure(rounds: int, root: Path) -> tuple[float, float, float, float]:
    spec = Experiment.from_dict(
        {
            "name": f"store{rounds}",
            "seeds": [0, 1],
            "tasks": [{"dataset": "gen/hidden-passage", "n": 16}],
            "protocols": [{"name": "debate", "rounds": rounds}],
            "roles": {"debater": {"model": "scripted/d", "options": {"outputs": [SPEECH], "cycle": True}}},
            "judges": [{"model": "scripted/j", "options": {"outputs": ["Answer: A"], "cycle": True}}],
            "cache": False,
        }
    )
    run_dir = run_experiment(spec, output_dir=root, progress="off").run_dir
    episodes = load_run(run_dir).episodes
    inline = root / f"inline{rounds}"
    inline.mkdir()
    with EpisodeWriter(inline, pool=False) as w:
        for ep in episodes:
            w.write(ep)
    n = len(episodes)
    line = (run_dir / EPISODES_FILE).stat().st_size
    pool = (run_dir / POOL_FILE).stat().st_size
    flat = (inline / EPISODES_FILE).stat().st_size
    for ep in episodes:
        for t in ep.turns:
            t.seen = None
    without = sum(len(ep.model_dump_json()) + 1 for ep in episodes)
    return line / n, pool / n, flat / n, line / without


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, nargs="+", default=[1, 2, 4, 6, 8])
    args = parser.parse_args()
    head = ("rounds", "line B/ep", "pool B/ep", "pooled B/ep", "inline B/ep", "line/no-seen")
    print(" ".join(f"{h:>{w}}" for h, w in zip(head, (6, 10, 10, 12, 12, 13), strict=True)))
    with tempfile.TemporaryDirectory() as tmp:
        for r in args.rounds:
            line, pool, flat, ratio = measure(r, Path(tmp))
            print(f"{r:>6} {line:>10.0f} {pool:>10.0f} {line + pool:>12.0f} {flat:>12.0f} {ratio:>13.2f}")


if __name__ == "__main__":
    main()
