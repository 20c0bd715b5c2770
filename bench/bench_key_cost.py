"""What the call cache's key costs inside a real run, against the same keys computed in a tight loop.

`call_key` (the sha256 of a call's canonical JSON: `oversight/models/cache.py`) is the largest single piece of the
cache's per-call work, and a micro-benchmark flatters it: in a loop the same code and data stay in the CPU's
caches, while inside a run every call comes after the protocol, the transcript and the store have been through
them. This runs `bench_runner.py`'s shapes through the real runner (cache off, so the run is the same as without
this benchmark) with `ManagedModel.generate` wrapped to time one `call_key` per call where the cache would compute
it, keeps the calls, then times the same keys again in a loop (best of `--repeat` passes over all of them).

    PYTHONPATH=. .venv/bin/python bench/bench_key_cost.py [--episodes 1000] [--shapes toy debate consultancy]

Prints per shape: the mean prompt size, µs per key in the run and in the loop, their ratio, and the in-run cost as
a share of the 50 µs per-call budget (ARCHITECTURE.md), which the key alone cannot exceed if the budget is to hold.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import bench_runner  # noqa: E402

from oversight.models import cache as cache_module  # noqa: E402
from oversight.models.managed import ManagedModel  # noqa: E402

Call = tuple[str, list[Any], Any]


def in_run(shape: str, root: Path, repeats: int) -> tuple[list[Call], float]:
    """The calls of one run of `shape` and the mean seconds one `call_key` took inside it."""
    calls: list[Call] = []
    spent = [0.0]
    generate = ManagedModel.generate
    key, clock = cache_module.call_key, time.perf_counter

    async def timed(self: ManagedModel, messages: Any, config: Any = None, **kw: Any) -> Any:
        t0 = clock()
        key(self.identity, messages, config)
        spent[0] += clock() - t0
        calls.append((self.identity, messages, config))
        return await generate(self, messages, config, **kw)

    ManagedModel.generate = timed  # type: ignore[method-assign]
    try:
        bench_runner.time_runner(shape, root, repeats, False, f"{shape}-keys")
    finally:
        ManagedModel.generate = generate  # type: ignore[method-assign]
    return calls, spent[0] / len(calls)


def in_loop(calls: list[Call], repeat: int) -> float:
    """The mean seconds of one `call_key` over `calls` in a tight loop, best of `repeat` passes."""
    key, best = cache_module.call_key, float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for identity, messages, config in calls:
            key(identity, messages, config)
        best = min(best, time.perf_counter() - t0)
    return best / len(calls)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000, help="episodes per shape (default 1000)")
    parser.add_argument("--shapes", nargs="+", choices=sorted(bench_runner.SHAPES), default=["toy", "debate"])
    parser.add_argument("--repeat", type=int, default=3, help="passes of the tight loop (default 3)")
    args = parser.parse_args()
    repeats = max(args.episodes // bench_runner.QUESTIONS, 1)
    budget = bench_runner.BUDGET_US
    print(f"{repeats * bench_runner.QUESTIONS} episodes per shape, cache off; µs per call_key")
    header = f"{'shape':<12} {'prompt chars':>12} {'in the run':>11} {'in a loop':>10} {'ratio':>6}"
    print(f"{header}  share of {budget:.0f} µs")
    with tempfile.TemporaryDirectory() as tmp:
        for shape in args.shapes:
            bench_runner.time_runner(shape, Path(tmp), 1, False, f"{shape}-warmup")
            calls, run_s = in_run(shape, Path(tmp), repeats)
            loop_s = in_loop(calls, args.repeat)
            chars = sum(len(m.content) for _, messages, _ in calls for m in messages) / len(calls)
            run_us, loop_us = run_s * 1e6, loop_s * 1e6
            print(
                f"{shape:<12} {chars:>12,.0f} {run_us:>9.1f}us {loop_us:>8.1f}us {run_us / loop_us:>5.1f}x  "
                f"{run_us / budget:.0%}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
