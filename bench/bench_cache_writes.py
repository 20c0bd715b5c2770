"""CPU the call cache's writer thread spends per stored call, by batching rule, at a steady call rate.

The event loop does not wait for the writer (it commits on its own thread, SQLite without the GIL), but its CPU
is taken from whatever else runs on the machine: a vLLM server or a llama.cpp model beside the runner. Each
commit writes every page it dirtied, and random keys dirty about one page of the key index per row in a small
batch, so the batch size sets the cost. This puts `--calls` outputs at one per `--interval-us` (a busy-wait, as
a loop that is never idle would) into a cache file already holding `--keys` rows, under each rule in turn:

- "time 0.05 s": commit whatever 50 ms gathered (the rule before `BATCH_ROWS`);
- "rows or time": commit at `BATCH_ROWS` queued writes or when the oldest is `BATCH_SECONDS` old (today's).

Prints, per rule and repeat, the writer's CPU per stored row (the process's CPU minus the main thread's), the
rows per commit, and the ratio of the medians.

    PYTHONPATH=. .venv/bin/python bench/bench_cache_writes.py [--calls 20000] [--keys 40000] [--interval-us 100]
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from oversight.models import cache as cache_module
from oversight.models.cache import CallCache
from oversight.types import ModelOutput, Usage

OUTPUT = ModelOutput(
    text="I argue for my answer because the text says so. <quote>the passage</quote> That settles it, judge.",
    model="scripted/debater",
    usage=Usage(input_tokens=600, output_tokens=40),
    latency=6.1e-06,
    finish_reason="stop",
)
#: rule -> (BATCH_ROWS, BATCH_SECONDS)
RULES = {
    "time 0.05 s": (10**9, 0.05),
    "rows or time": (cache_module.BATCH_ROWS, cache_module.BATCH_SECONDS),
}


def keys(n: int, tag: str) -> list[str]:
    return [hashlib.sha256(f"{tag}{i}".encode()).hexdigest() for i in range(n)]


def fill(path: Path, n: int) -> None:
    cache = CallCache(path)
    for k in keys(n, "fill"):
        cache.put(k, OUTPUT)
    cache.close()


def process_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def writer_cpu_per_row(path: Path, rule: str, calls: int, interval: float, tag: str) -> tuple[float, float]:
    """(writer CPU µs per stored row, rows per commit) for `calls` puts at one per `interval` seconds."""
    rows, seconds = RULES[rule]
    cache_module.BATCH_ROWS, cache_module.BATCH_SECONDS = rows, seconds
    commits = 0
    insert = cache_module._insert

    def counted(*args: object) -> None:
        nonlocal commits
        commits += 1
        insert(*args)  # type: ignore[arg-type]

    cache_module._insert = counted
    try:
        cache = CallCache(path)
        while not cache._indexed:
            time.sleep(0.01)
        batch = keys(calls, tag)
        cpu0, main0 = process_cpu(), time.thread_time()
        next_at = time.perf_counter()
        for k in batch:
            while time.perf_counter() < next_at:
                pass
            next_at += interval
            cache.put(k, OUTPUT)
        cache.close()
        writer = (process_cpu() - cpu0) - (time.thread_time() - main0)
    finally:
        cache_module._insert = insert
    return writer / calls * 1e6, calls / max(commits, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="outputs stored per timing (default 20000)")
    parser.add_argument("--keys", type=int, default=40_000, help="rows already in the cache file (default 40000)")
    parser.add_argument("--interval-us", type=float, default=100.0, help="µs between calls (default 100)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    saved = cache_module.BATCH_ROWS, cache_module.BATCH_SECONDS
    results: dict[str, list[float]] = {rule: [] for rule in RULES}
    print(
        f"{args.calls:,} calls at one per {args.interval_us:g} µs into a file of {args.keys:,} rows; "
        f"today's rule: {saved[0]} rows or {saved[1]:g} s"
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for rep in range(args.repeat):
                for rule in RULES:  # alternated, so drifting load hits both
                    path = Path(tmp) / f"{rep}-{rule.replace(' ', '_')}.sqlite"
                    fill(path, args.keys)
                    us, per_commit = writer_cpu_per_row(path, rule, args.calls, args.interval_us * 1e-6, f"{rep}{rule}")
                    results[rule].append(us)
                    print(f"  {rule:<13} repeat {rep}: writer CPU {us:6.2f} µs a row, {per_commit:5.0f} rows a commit")
    finally:
        cache_module.BATCH_ROWS, cache_module.BATCH_SECONDS = saved
    medians = {rule: statistics.median(v) for rule, v in results.items()}
    for rule, m in medians.items():
        print(f"{rule:<13} median {m:6.2f} µs per row (min {min(results[rule]):.2f})")
    print(f"time 0.05 s / rows or time: {medians['time 0.05 s'] / medians['rows or time']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
