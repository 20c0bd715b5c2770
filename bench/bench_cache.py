"""The call cache on the hot path: µs per `ManagedModel.generate` through a scripted provider, cache off and on
(miss and hit paths), before (commit 165787c: a SELECT per lookup, a JSON dump per key) and after (key index,
direct key JSON), in one run; plus the options for answering a miss and their bytes per key.

    PYTHONPATH=. .venv/bin/python bench/bench_cache.py [--calls 5000] [--keys 200000] [--repeat 5]

`--keys` rows are written to each cache file first, so misses look up a file of realistic size. Every timing
is repeated `--repeat` times (min / median printed); ratios compare medians measured in this run.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import oversight.models.managed as managed
from bench import _cache_before as before
from oversight.models import cache as after
from oversight.models import get_model
from oversight.models.key_index import KeyIndex
from oversight.types import ChatMessage, GenerateConfig, ModelOutput

SYSTEM = "You are a debater. Argue for your assigned answer using quotes from the passage. " * 4
PASSAGE = " ".join(f"Person {i} was born in Town {i % 7} in {1900 + i}." for i in range(50))  # ~2.4 KB


def prompts(n: int, tag: str) -> list[list[ChatMessage]]:
    return [
        [ChatMessage(role="system", content=SYSTEM), ChatMessage(role="user", content=f"{PASSAGE}\n{tag} {i}?")]
        for i in range(n)
    ]


def fill(path: Path, keys: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(after._SCHEMA)
    out = ModelOutput(text="filler").model_dump_json()
    conn.executemany(
        "INSERT INTO calls VALUES (?, ?, 0)", ((hashlib.sha256(b"%d" % i).hexdigest(), out) for i in range(keys))
    )
    conn.commit()
    conn.close()


async def per_call_us(model: Any, batch: list[list[ChatMessage]], cfg: GenerateConfig) -> float:
    start = time.perf_counter()
    for msgs in batch:
        await model.generate(msgs, cfg)
    return (time.perf_counter() - start) / len(batch) * 1e6


async def cache_round(impl: str, path: Path, calls: int, cfg: GenerateConfig, rep: int) -> tuple[float, float]:
    """(µs per miss, µs per hit) through ManagedModel with the `impl` cache on a file of `--keys` rows."""
    module = before if impl == "before" else after
    managed.call_key = module.call_key  # ManagedModel hashes with the module-level name it imported
    cache = module.CallCache(path)
    if impl == "after":
        deadline = time.monotonic() + 60
        while not cache._indexed and time.monotonic() < deadline:  # the index loads in the background
            await asyncio.sleep(0.01)
    model = get_model("scripted/bench", outputs=["Answer: A"], cycle=True, cache=cache)
    batch = prompts(calls, f"{impl}-{rep}")
    miss = await per_call_us(model, batch, cfg)
    cache.flush()
    hit = await per_call_us(model, batch, cfg)
    cache.close()
    managed.call_key = after.call_key
    return miss, hit


def time_us(fn: Callable[[Any], Any], n: int, args: list[Any] | None = None) -> float:
    """µs per `fn(arg)` over `n` calls (arg: the i-th of `args`, else i)."""
    items = args[:n] if args is not None else list(range(n))
    start = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - start) / len(items) * 1e6


def lookup_options(keys: int, probes: int) -> list[tuple[str, float, float]]:
    """(option, µs per miss lookup, bytes per key) for the ways a miss can be answered."""
    present = [hashlib.sha256(b"%d" % i).hexdigest() for i in range(keys)]
    absent = [hashlib.sha256(b"absent %d" % i).hexdigest() for i in range(probes)]
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.sqlite"
        fill(path, keys)
        conn = sqlite3.connect(path)
        select = time_us(
            lambda i: conn.execute("SELECT output FROM calls WHERE key = ?", (absent[i],)).fetchone(), probes
        )
        version = time_us(lambda i: conn.execute("PRAGMA data_version").fetchone(), probes)
        conn.close()
    rows.append(("SQLite SELECT by key (before)", select, 0.0))
    rows.append(("PRAGMA data_version (per miss: not used)", version, 0.0))
    tracemalloc.start()
    strings = {k.encode().decode() for k in present}  # new str objects, as rows read from SQLite would be
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    rows.append(("set of hex str", time_us(strings.__contains__, probes, absent), size / keys))
    tracemalloc.start()
    ints = {int(k[:16], 16) for k in present}
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    rows.append(
        ("set of 64-bit ints (+ parse)", time_us(lambda p: int(p[:16], 16) in ints, probes, absent), size / keys)
    )
    index = KeyIndex()
    index.load(present)
    rows.append(("KeyIndex (after)", time_us(index.might_contain, probes, absent), index.nbytes() / keys))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000, help="calls per timing (default 5000)")
    parser.add_argument("--keys", type=int, default=200_000, help="rows already in each cache file (default 200k)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cfg = GenerateConfig(seed=1, max_tokens=64)
    ident = "scripted/bench"
    msgs = prompts(1, "key")[0]
    results: dict[str, list[float]] = {}

    def add(label: str, value: float) -> None:
        results.setdefault(label, []).append(value)

    async def run() -> None:
        off = get_model("scripted/bench", outputs=["Answer: A"], cycle=True)
        with tempfile.TemporaryDirectory() as tmp:
            for rep in range(args.repeat):
                add("cache off", await per_call_us(off, prompts(args.calls, f"off-{rep}"), cfg))
                for impl in ("before", "after"):  # interleaved: a change in machine load hits both
                    path = Path(tmp) / f"{impl}-{rep}.sqlite"
                    fill(path, args.keys)
                    miss, hit = await cache_round(impl, path, args.calls, cfg, rep)
                    add(f"{impl}: miss", miss)
                    add(f"{impl}: hit", hit)
                add("key, before (JSON dump)", time_us(lambda _: before.call_key(ident, msgs, cfg), args.calls))
                add("key, after (direct)", time_us(lambda _: after.call_key(ident, msgs, cfg), args.calls))

    asyncio.run(run())
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"µs per call, {args.calls} calls per timing, {args.repeat} repeats, {args.keys:,} rows in each cache file;")
    print(f"prompt: 2 messages, {sum(len(m.content) for m in msgs):,} characters")
    for label, values in results.items():
        print(f"  {label:28s} min {min(values):7.2f}  median {med[label]:7.2f}")
    for impl in ("before", "after"):
        print(
            f"{impl}: overhead over cache off: miss {med[f'{impl}: miss'] - med['cache off']:+6.2f} µs, "
            f"hit {med[f'{impl}: hit'] - med['cache off']:+6.2f} µs"
        )
    key_ratio = med["key, before (JSON dump)"] / med["key, after (direct)"]
    print(
        f"after vs before (median µs per call): miss {med['before: miss'] / med['after: miss']:.2f}x faster, "
        f"hit {med['before: hit'] / med['after: hit']:.2f}x faster, key hashing {key_ratio:.2f}x faster"
    )
    print(f"answering a miss in a file of {args.keys:,} keys (µs per lookup, bytes per key held in memory):")
    for label, us, per_key in lookup_options(args.keys, 20000):
        print(f"  {label:38s} {us:6.2f} µs  {per_key:6.1f} B/key")


if __name__ == "__main__":
    sys.exit(main())
