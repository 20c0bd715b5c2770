"""End-to-end tokens/s of a debate experiment on one real vLLM server (prefix caching on): the prefix schedule
against plain arrival order, same calls, same concurrency, measured back to back in one run.

The experiment: `debate` (2 rounds, sequential, 30-word speeches) on `gen/hidden-passage` questions x seeds, every
role on the server at temperature 0, concurrency "auto" (= the server's endpoint limit), call cache off. The two
schedules (`schedule = "arrival"`: spec order, calls first come first served; `"prefix"`: a question's seeds
together, the earliest-started episode's call first, one server per episode) run alternately, `--pairs` times,
with the server's prefix cache reset before each run (`POST /reset_prefix_cache`, which needs the server started
with `VLLM_SERVER_DEV_MODE=1`), so neither inherits the other's cache.

    # a running server (started with --enable-prefix-caching and VLLM_SERVER_DEV_MODE=1):
    .venv/bin/python bench/bench_vllm_schedule.py --base-url http://127.0.0.1:8000/v1
    # or launch one (the CPU build: scripts/setup-vllm):
    OVERSIGHT_VLLM_PYTHON=.venv-vllm/bin/python .venv/bin/python bench/bench_vllm_schedule.py \\
        --launch .cache/models/smollm2-135m

Prints per run: wall seconds, prompt and generated tokens (the server's own counters), tokens/s, the server's
prefix cache hit rate; then the ratio prefix / arrival of tokens/s per pair and overall (target >= 1.2).
Never run it beside a llama.cpp benchmark (they share the cores).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from oversight.experiment import Experiment, arun_experiment
from oversight.models import get_model
from oversight.models.vllm_launcher import CPU_SERVER_ENV, cpu_server_args

COUNTERS = ("prefix_cache_queries_total", "prefix_cache_hits_total", "prompt_tokens_total", "generation_tokens_total")
CPU_ARGS = [*cpu_server_args(), "--enable-prefix-caching"]


def server_counters(root: str) -> dict[str, float]:
    """The vLLM counters of `COUNTERS` from the server's `/metrics` (summed over engines)."""
    text = httpx.get(f"{root}/metrics", timeout=30).text
    out = {}
    for name in COUNTERS:
        values = re.findall(rf"^vllm:{name}\{{[^}}]*\}} ([0-9.e+]+)$", text, re.M)
        if not values:
            raise RuntimeError(f"{root}/metrics has no vllm:{name} (is this a vLLM server?)")
        out[name] = sum(float(v) for v in values)
    return out


def experiment(args: argparse.Namespace, base_url: str, schedule: str, tag: str) -> Experiment:
    role = {"model": "vllm/smollm2", "temperature": 0.0, "options": {"base_url": base_url}}
    return Experiment.from_dict(
        {
            "name": f"sched-{tag}",
            "seeds": list(range(args.seeds)),
            "schedule": schedule,
            "endpoint_concurrency": args.endpoint_limit,
            "tasks": [{"dataset": "gen/hidden-passage", "n": args.questions, "seed": args.task_seed}],
            "protocols": [{"name": "debate", "rounds": args.rounds, "word_limit": args.words}],
            "roles": {"debater": role},
            "judges": [{"name": "j", **role}],
            "cache": False,
        }
    )


async def one_run(args: argparse.Namespace, base_url: str, schedule: str, tag: str, out: Path) -> dict[str, Any]:
    root = base_url.removesuffix("/v1")
    async with httpx.AsyncClient(timeout=60) as http:
        reset = await http.post(f"{root}/reset_prefix_cache")
        if reset.status_code != 200:
            hint = "start vLLM with VLLM_SERVER_DEV_MODE=1"
            raise RuntimeError(f"{root}/reset_prefix_cache: HTTP {reset.status_code}; {hint}")
    before = server_counters(root)
    t0 = time.perf_counter()
    result = await arun_experiment(experiment(args, base_url, schedule, tag), output_dir=out, progress="off")
    wall = time.perf_counter() - t0
    after = server_counters(root)
    d = {k: after[k] - before[k] for k in COUNTERS}
    if result.status != "complete" or result.errors:
        raise RuntimeError(f"{schedule} run ended {result.status} with {result.errors} errors: {result.summary}")
    tokens = d["prompt_tokens_total"] + d["generation_tokens_total"]
    return {
        "schedule": schedule,
        "wall": wall,
        "episodes": result.done,
        "in_flight": result.summary["concurrency"]["episodes_in_flight"],
        "prompt": d["prompt_tokens_total"],
        "generated": d["generation_tokens_total"],
        "tok_s": tokens / wall,
        "hit": d["prefix_cache_hits_total"] / max(1.0, d["prefix_cache_queries_total"]),
    }


async def main_async(args: argparse.Namespace) -> int:
    launched = None
    base_url = args.base_url
    if base_url is None:
        model_dir = Path(args.launch).resolve()
        server_args = CPU_ARGS + ([] if args.block_size is None else ["--block-size", str(args.block_size)])
        launch = {
            "model_dir": str(model_dir),
            "extra_args": server_args,
            "env": {**CPU_SERVER_ENV, "VLLM_SERVER_DEV_MODE": "1"},
            "startup_timeout": 900,
        }
        launched = get_model("vllm/smollm2", launch=launch)
        print(f"launching a server with {' '.join(server_args)}", flush=True)
        await launched.provider.start()  # type: ignore[attr-defined]
        base_url = launched.provider.urls[0]  # type: ignore[attr-defined]
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for pair in range(args.pairs):
                order = ("arrival", "prefix") if pair % 2 == 0 else ("prefix", "arrival")  # alternate who goes first
                for schedule in order:
                    row = await one_run(args, base_url, schedule, f"{schedule}{pair}", Path(tmp))
                    row["pair"] = pair
                    rows.append(row)
                    print(
                        f"pair {pair} {schedule:<8} {row['wall']:7.1f} s  {row['episodes']} episodes, "
                        f"{row['in_flight']} in flight  prompt {row['prompt']:>8,.0f}  generated "
                        f"{row['generated']:>7,.0f}  {row['tok_s']:7.1f} tok/s  prefix cache hits {row['hit']:.1%}",
                        flush=True,
                    )
    finally:
        if launched is not None:
            await launched.aclose()
    ratios = []
    for pair in range(args.pairs):
        by = {r["schedule"]: r for r in rows if r["pair"] == pair}
        ratios.append(by["prefix"]["tok_s"] / by["arrival"]["tok_s"])
    total = {s: sum(r["prompt"] + r["generated"] for r in rows if r["schedule"] == s) for s in ("arrival", "prefix")}
    wall = {s: sum(r["wall"] for r in rows if r["schedule"] == s) for s in ("arrival", "prefix")}
    overall = (total["prefix"] / wall["prefix"]) / (total["arrival"] / wall["arrival"])
    print("prefix / arrival tokens/s per pair: " + ", ".join(f"{r:.2f}x" for r in ratios))
    print(f"prefix / arrival tokens/s overall: {overall:.2f}x  target >= 1.2 -> {'OK' if overall >= 1.2 else 'UNDER'}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--base-url", help="a running vLLM server's OpenAI base URL (http://HOST:PORT/v1)")
    where.add_argument("--launch", metavar="MODEL_DIR", help="launch a CPU vLLM server on this model folder")
    parser.add_argument("--questions", type=int, default=24)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--words", type=int, default=30, help="word limit of a speech")
    parser.add_argument("--endpoint-limit", type=int, default=8, help="calls in flight at the server")
    parser.add_argument("--task-seed", type=int, default=0)
    parser.add_argument("--pairs", type=int, default=1, help="arrival/prefix pairs, alternating which runs first")
    parser.add_argument(
        "--block-size", type=int, help="KV block size in tokens of a launched server (vLLM's CPU default: 128)"
    )
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
