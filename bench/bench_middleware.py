"""Per-call overhead of the model middleware (limits, retries, accounting; and with the call cache).

Run: .venv/bin/python bench/bench_middleware.py [N]
Prints µs per call for a bare scripted provider, the same through ManagedModel, and through ManagedModel with
the SQLite call cache (misses, then hits), plus the ratios measured in this one run.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from oversight.models import CallCache, get_model
from oversight.types import ChatMessage, GenerateConfig

BUDGET_US = 50.0


async def per_call_us(call, n: int) -> float:  # noqa: ANN001
    start = time.perf_counter()
    for i in range(n):
        await call(i)
    return (time.perf_counter() - start) / n * 1e6


async def main(n: int) -> None:
    cfg = GenerateConfig()
    msgs = [ChatMessage(role="system", content="You are a judge."), ChatMessage(role="user", content="Q?")]
    managed = get_model("scripted/bench", outputs=["A"], cycle=True)
    bare = managed.provider

    async def nothing(i: int) -> None:
        await asyncio.sleep(0)

    loop_us = await per_call_us(nothing, n)
    bare_us = await per_call_us(lambda i: bare.generate(msgs, cfg), n)
    managed_us = await per_call_us(lambda i: managed.generate(msgs, cfg), n)
    with tempfile.TemporaryDirectory() as tmp:
        cache = CallCache(Path(tmp) / "c.sqlite")
        cached = get_model("scripted/bench", outputs=["A"], cycle=True, cache=cache)
        prompts = [[ChatMessage(role="user", content=f"Q{i}?")] for i in range(n)]
        miss_us = await per_call_us(lambda i: cached.generate(prompts[i], cfg), n)
        cache.flush()
        hit_us = await per_call_us(lambda i: cached.generate(prompts[i], cfg), n)
        cache.close()
    print(f"calls per measurement: {n}")
    print(f"bare asyncio await:           {loop_us:7.2f} µs")
    print(f"scripted provider alone:      {bare_us:7.2f} µs")
    print(f"through ManagedModel:         {managed_us:7.2f} µs  (overhead {managed_us - bare_us:6.2f} µs)")
    print(f"  + call cache, all misses:   {miss_us:7.2f} µs  (overhead {miss_us - bare_us:6.2f} µs)")
    print(f"  + call cache, all hits:     {hit_us:7.2f} µs")
    print(f"ratio managed/bare provider:  {managed_us / bare_us:5.2f}x")
    print(f"ratio cached-miss/budget:     {(miss_us - bare_us) / BUDGET_US:5.2f} of the {BUDGET_US:.0f} µs budget")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000))
