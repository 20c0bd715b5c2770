"""What keeping the last record of each episode id costs readers: time and memory of `superseded_lines` on a run of
N episode lines, against reading the same run, and against a plain dict of ids.

    .venv/bin/python bench/bench_dedup.py [--episodes 200000] [--duplicates 0.01]

Writes N small real episodes (scripted-debate shaped, 4 turns) with a share of ids written twice, then prints:
seconds to find the superseded lines vs seconds for `iter_episodes(seen=False)` over the run (which includes it),
and peak bytes per line of the de-dup (tracemalloc) vs a `dict` of id -> line number.
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import time
import tracemalloc
from pathlib import Path

from oversight.episode import Episode, Judgment, Turn
from oversight.store import EPISODES_FILE, EpisodeWriter, iter_episodes, superseded_lines


def episode(i: int) -> Episode:
    turns = [Turn(role=r, content=f"speech {i} by {r} " * 8) for r in ("debater_a", "debater_b", "debater_a", "judge")]
    return Episode(
        id=f"{i:020x}",
        question_id=f"q{i}",
        protocol="debate",
        turns=turns,
        judgments=[Judgment(judge="j", choice=i % 2, probabilities=[0.4, 0.6])],
        gold=0,
        correct=i % 2 == 0,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=200_000)
    ap.add_argument("--duplicates", type=float, default=0.01)
    args = ap.parse_args()
    rng = random.Random(0)
    logging.getLogger("oversight.store").setLevel(logging.ERROR)  # the duplicates are deliberate here
    with tempfile.TemporaryDirectory() as root:
        run = Path(root)
        with EpisodeWriter(run) as w:
            for i in range(args.episodes):
                w.write(episode(i))
            for i in rng.sample(range(args.episodes), int(args.episodes * args.duplicates)):
                w.write(episode(i))  # written twice, as two writers (or a re-run error) would
        path = run / EPISODES_FILE
        lines = path.read_bytes().count(b"\n")
        size = path.stat().st_size

        t0 = time.perf_counter()
        superseded = superseded_lines(path)
        t_dedup = time.perf_counter() - t0
        t0 = time.perf_counter()
        n = sum(1 for _ in iter_episodes(run, seen=False))
        t_read = time.perf_counter() - t0
        assert n == args.episodes and len(superseded) == lines - n

        tracemalloc.start()
        superseded_lines(path)
        _, peak_dedup = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        tracemalloc.start()
        ids: dict[bytes, int] = {}
        with path.open("rb") as f:
            for lineno, raw in enumerate(f, 1):
                ids[raw[7:27]] = lineno
        _, peak_dict = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    print(f"{lines:,} lines ({lines - n:,} superseded), {size / 1e6:.0f} MB")
    print(f"de-dup {t_dedup:.2f} s, full read {t_read:.2f} s: de-dup is {t_dedup / t_read:.1%} of a read")
    print(
        f"peak memory per line: de-dup {peak_dedup / lines:.1f} B, dict of ids {peak_dict / lines:.1f} B "
        f"(ratio {peak_dict / peak_dedup:.1f}x)"
    )


if __name__ == "__main__":
    main()
