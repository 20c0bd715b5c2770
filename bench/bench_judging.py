"""How fast `oversight judge RUN --judge-id NAME` opens on a run with many pending judgments.

A scripted debate run judged by a human (every judgment pending; see tests/judging_support.py) is copied to `--n`
episodes under new seeds through the store's writer (tests/viewer_runs.py's `scale_run`). Prints, in one run:

- the judging queue loaded (`JudgingQueue.load`: every line indexed, the lines holding a pending judgment parsed
  once and dropped, one slot kept per judgment), against listing them with `oversight.pending.pending_judgments`
  (which keeps every pending episode in memory), and the ratio;
- the headless 80x24 app from construction to the first episode on screen.

    .venv/bin/python bench/bench_judging.py [--n 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from judging_support import human_run  # noqa: E402
from viewer_runs import scale_run  # noqa: E402

from oversight.judging_queue import JudgingQueue  # noqa: E402
from oversight.pending import pending_judgments  # noqa: E402
from oversight.tui.judge_app import JudgeApp, JudgingScreen  # noqa: E402


def best(fn: object, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times)


async def open_app(run: Path) -> float:
    t0 = time.perf_counter()
    app = JudgeApp(run, "alice")
    async with app.run_test(size=(80, 24)) as pilot:
        while not isinstance(app.screen, JudgingScreen):
            await pilot.pause(0.005)
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run = scale_run(human_run(root / "src", [{"human": "alice"}], n=10), root / "big", args.n)
        size = (run / "episodes.jsonl").stat().st_size / 2**20
        queue = best(lambda: JudgingQueue.load(run, "alice").close())
        listed = best(lambda: pending_judgments(run, "alice"), repeats=2)
        app = asyncio.run(open_app(run))
    print(f"{args.n:,} pending judgments ({size:.0f} MiB of episodes.jsonl), best of runs:")
    print(f"  JudgingQueue.load                      {queue:6.2f} s")
    print(f"  pending_judgments (episodes kept)      {listed:6.2f} s   ({listed / queue:.1f}x the queue)")
    print(f"  JudgeApp: construction to the episode  {app:6.2f} s")


if __name__ == "__main__":
    main()
