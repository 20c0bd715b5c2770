"""Benchmark (c): tokens/s through our client (`get_model("vllm/...")`: limits, retries, accounting) ÷ a raw
`openai.AsyncOpenAI` client, against the same real vLLM CPU server, at concurrency 1, 4 and 8.

    OVERSIGHT_VLLM_PYTHON=.venv-vllm/bin/python PYTHONPATH=. .venv/bin/python bench/bench_vllm_client.py \\
        [--model-dir .cache/models/smollm2-135m] [--prompts 32] [--tokens 64] [--repeat 3] [--concurrency 1 4 8]

The server is launched on loopback by our launcher (prefix caching on, as by default) and stopped at the end.
Each measurement sends `--prompts` prompts of `--tokens` tokens (`ignore_eos`, so both clients get the same
work) with that many requests in flight. Every prompt starts with a tag unique to its run, so the server's
prefix cache never favours whichever client runs second; the clients alternate. Target: >= 0.97 everywhere.
Prints the ratio of the medians, each repeat's paired ratio, and a bootstrap interval of the paired ratios'
median (how far the server's own variance lets one run resolve the ratio).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

from oversight.models import get_model
from oversight.models.vllm_launcher import API_SERVER_MODULE, CPU_SERVER_ENV, VLLMServer, cpu_server_args
from oversight.types import ChatMessage, GenerateConfig

CPU_ARGS = cpu_server_args()
TOPICS = ["rivers", "mountains", "bridges", "libraries", "comets", "harbours", "forests", "clocks"]


def prompt_texts(tag: str, n: int) -> list[str]:
    return [f"[{tag}-{i}] Write a short paragraph about {TOPICS[i % len(TOPICS)]}." for i in range(n)]


async def bounded(n: int, items: list[str], call: Any) -> int:
    sem = asyncio.Semaphore(n)

    async def one(text: str) -> int:
        async with sem:
            return await call(text)

    return sum(await asyncio.gather(*(one(t) for t in items)))


async def ours(base_url: str, texts: list[str], concurrency: int, tokens: int) -> tuple[float, int]:
    model = get_model("vllm/smollm2", base_url=base_url)
    cfg = GenerateConfig(max_tokens=tokens, temperature=0.0, extra={"ignore_eos": True})

    async def call(text: str) -> int:
        out = await model.generate([ChatMessage(role="user", content=text)], cfg)
        return out.usage.output_tokens

    try:
        start = time.perf_counter()
        total = await bounded(concurrency, texts, call)
        return time.perf_counter() - start, total
    finally:
        await model.aclose()


async def raw(base_url: str, texts: list[str], concurrency: int, tokens: int) -> tuple[float, int]:
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key="EMPTY", max_retries=0)

    async def call(text: str) -> int:
        out = await client.chat.completions.create(
            model="smollm2",
            messages=[{"role": "user", "content": text}],
            max_tokens=tokens,
            temperature=0.0,
            extra_body={"ignore_eos": True},
        )
        return out.usage.completion_tokens if out.usage else 0

    try:
        start = time.perf_counter()
        total = await bounded(concurrency, texts, call)
        return time.perf_counter() - start, total
    finally:
        await client.close()


def median_interval(values: list[float], draws: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """A 95% percentile-bootstrap interval of the median of `values` (seeded: the same values, the same interval)."""
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(draws))
    return medians[int(0.025 * draws)], medians[int(0.975 * draws) - 1]


async def main(args: argparse.Namespace) -> None:
    python = os.environ.get("OVERSIGHT_VLLM_PYTHON", ".venv-vllm/bin/python")
    server = VLLMServer(
        Path(args.model_dir).resolve(),
        served_name="smollm2",
        command=[python, "-m", API_SERVER_MODULE],
        extra_args=CPU_ARGS,
        env=dict(CPU_SERVER_ENV),
        startup_timeout=600,
    )
    print(f"starting {' '.join(server.argv()[-8:])} ...", flush=True)
    async with server:
        print(f"server ready in {server.startup_seconds:.1f} s at {server.base_url}", flush=True)
        await raw(server.base_url, prompt_texts("warm", 4), 4, 8)  # first requests pay one-off costs
        rates: dict[tuple[str, int], list[float]] = {}
        for rep in range(args.repeat):
            for conc in args.concurrency:
                clients = (("ours", ours), ("raw", raw)) if rep % 2 == 0 else (("raw", raw), ("ours", ours))
                for name, client in clients:
                    texts = prompt_texts(f"{name}{rep}c{conc}", args.prompts)
                    wall, total = await client(server.base_url, texts, conc, args.tokens)
                    assert total == args.prompts * args.tokens, (name, total)
                    rates.setdefault((name, conc), []).append(total / wall)
                    # as it comes, so a run stopped part-way still shows what it measured
                    print(f"  repeat {rep + 1} concurrency {conc} {name}: {total / wall:.1f} tokens/s", flush=True)
    print(f"{args.prompts} prompts x {args.tokens} tokens, {args.repeat} repeats; tokens/s (min / median):")
    for conc in args.concurrency:
        o, r = rates[("ours", conc)], rates[("raw", conc)]
        ratios = [a / b for a, b in zip(o, r, strict=True)]  # paired: the same repeat, back to back
        low, high = median_interval(ratios)
        print(
            f"  concurrency {conc}: ours {min(o):6.1f} / {statistics.median(o):6.1f}   raw {min(r):6.1f} / "
            f"{statistics.median(r):6.1f}   ours/raw {statistics.median(o) / statistics.median(r):.3f} "
            f"(paired ratios {', '.join(f'{x:.3f}' for x in ratios)}; their median {statistics.median(ratios):.3f}, "
            f"95% bootstrap interval [{low:.3f}, {high:.3f}])"
        )
    one, five, _ = os.getloadavg()
    print(f"load average {one:.2f} (1 min) {five:.2f} (5 min)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default=".cache/models/smollm2-135m")
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8], help="default: 1 4 8")
    asyncio.run(main(parser.parse_args()))
