"""How fast `oversight view` opens a big run: a generated 100k-episode scripted run, in a headless 80x24 app.

The run is real runner output (debate, interactive consultancy and a direct judge on two generated tasks, two
scripted judges, some invalid and errored episodes; see tests/viewer_runs.py) copied under new seeds to `--n`
episodes through the store's writer (prompts pooled). Prints, in one run:

- open: from launching `oversight view` in an 80x24 tmux terminal to the first rows on its screen (three times;
  the target is under 2 s), and in the headless app from constructing it to rows in the list;
- indexed: until every line is indexed and the list shows the total; the index alone (no app) as a check;
- a status filter, a text search and opening an episode, each until the screen shows the result;
- loading every episode with `iter_episodes` (what a viewer that parsed the file would pay), and the ratio;
- the index's memory (tracemalloc: Python objects only; the file itself is mapped, not copied).

    .venv/bin/python bench/bench_viewer.py [--n 100000] [--dir DIR]   # DIR keeps the run for the next time
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from viewer_runs import base_run, scale_run  # noqa: E402

from oversight.episode_index import EpisodeIndex  # noqa: E402
from oversight.store import EPISODES_FILE, POOL_FILE, iter_episodes  # noqa: E402
from oversight.tui.viewer import ViewerApp  # noqa: E402


def the_run(n: int, keep: Path | None) -> Path:
    root = keep or Path(tempfile.mkdtemp(prefix="bench-viewer-"))
    target = root / "big" / f"r{n}"
    if (target / EPISODES_FILE).exists():
        index = EpisodeIndex(target)
        if index.scan() == n:
            return target
    t0 = time.perf_counter()
    scale_run(base_run(root / "base"), target, n)
    print(f"generated {n:,} episodes in {time.perf_counter() - t0:.1f} s -> {target}")
    return target


async def until(pilot: object, done: object, timeout: float = 120.0, poll: float = 0.005) -> float:
    """Seconds until `done()` is true, polling the app every `poll` seconds."""
    t0 = time.perf_counter()
    while not done():  # type: ignore[operator]
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError("the viewer did not get there in time")
        await pilot.pause(poll)  # type: ignore[attr-defined]
    return time.perf_counter() - t0


def open_in_terminal(run: Path) -> float | None:
    """Seconds from launching `oversight view RUN` in an 80x24 tmux terminal (Python start and imports included)
    to the first episode rows on its screen; None without tmux."""
    tmux = shutil.which("tmux")
    if tmux is None:
        return None
    socket = f"bench-viewer-{os.getpid()}-{time.monotonic_ns()}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "TERM": "xterm-256color"}
    t0 = time.perf_counter()
    command = f"{sys.executable} -m oversight view {run}"
    subprocess.run([tmux, "-L", socket, "new-session", "-d", "-x", "80", "-y", "24", "-s", "v", command], env=env)
    try:
        while time.perf_counter() - t0 < 60:
            lines = subprocess.run(
                [tmux, "-L", socket, "capture-pane", "-p", "-t", "v"], capture_output=True, text=True
            ).stdout.splitlines()
            if (
                len(lines) > 4 and lines[4][:1] and lines[4][0] in "\u2713\u2717?!"
            ):  # the first row of the list, with its status
                return time.perf_counter() - t0
            time.sleep(0.01)
        raise TimeoutError("no rows on the terminal after 60 s")
    finally:
        subprocess.run([tmux, "-L", socket, "kill-server"], capture_output=True)


async def measure_app(run: Path, n: int) -> dict[str, float]:
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    app = ViewerApp(run)
    async with app.run_test(size=(80, 24)) as pilot:
        table = lambda: app.list_screen.table  # noqa: E731
        while not (app.screen is app.list_screen and table().shown):  # not pilot.pause: it waits for all messages
            await asyncio.sleep(0.002)
        out["headless: rows in the list"] = time.perf_counter() - t0
        await until(pilot, lambda: app.index.complete and len(table().shown) == n, poll=0.05)
        out["indexed: all rows listed"] = time.perf_counter() - t0
        await pilot.press("f", "enter", *"inv")  # the status selector open, "invalid" found by typing
        t1 = time.perf_counter()
        await pilot.press("enter")
        await until(pilot, lambda: 0 < len(table().shown) < n)
        out["filter: status = invalid"] = time.perf_counter() - t1
        await pilot.press("c")
        await until(pilot, lambda: len(table().shown) == n)
        await pilot.press("slash", *"sealed in 1957")
        t1 = time.perf_counter()
        await pilot.press("enter")
        await until(pilot, lambda: 0 < len(table().shown) < n and not app.list_screen._searching)
        out["search: 'sealed in 1957'"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        await pilot.press("enter")
        await until(pilot, lambda: getattr(app.screen, "episode", None) is not None and app.screen.query("TurnBlock"))
        await pilot.pause()
        out["open an episode"] = time.perf_counter() - t1
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=None, help="keep (and reuse) the generated run here")
    args = parser.parse_args()
    run = the_run(args.n, args.dir)
    size = (run / EPISODES_FILE).stat().st_size
    pool = (run / POOL_FILE).stat().st_size
    print(f"run: {run} ({args.n:,} episodes, episodes.jsonl {size / 2**20:.0f} MiB, pool {pool / 2**10:.0f} KiB)")

    t0 = time.perf_counter()
    index = EpisodeIndex(run)
    index.scan(5_000)
    first = time.perf_counter() - t0
    index.scan()
    whole = time.perf_counter() - t0
    assert len(index.rows) == args.n and index.parsed_whole == 0
    index.close()
    tracemalloc.start()
    index = EpisodeIndex(run)
    index.scan()
    memory = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    index.close()

    terminal = [open_in_terminal(run) for _ in range(3)]
    app = asyncio.run(measure_app(run, args.n))

    t0 = time.perf_counter()
    parsed = sum(1 for _ in iter_episodes(run, seen=False))
    full = time.perf_counter() - t0
    assert parsed == args.n

    print(f"{'measure':<36} {'seconds':>8}")
    if terminal[0] is not None:
        print(f"{'open in tmux 80x24: rows on screen':<36} {' '.join(f'{t:.3f}' for t in terminal)}")
    for name, value in app.items():
        print(f"{name:<36} {value:>8.3f}")
    print(f"{'index alone: first 5,000 lines':<36} {first:>8.3f}")
    print(f"{'index alone: every line':<36} {whole:>8.3f}")
    print(f"{'iter_episodes: parse every episode':<36} {full:>8.3f}")
    print(f"index memory (tracemalloc): {memory:.1f} MiB, {memory * 2**20 / args.n:.0f} B per episode")
    opened = max(t for t in terminal if t is not None) if terminal[0] is not None else app["headless: rows in the list"]
    print(f"slowest open / 2 s target: {opened / 2:.2f}    parse everything / index everything: {full / whole:.1f}x")


if __name__ == "__main__":
    main()
