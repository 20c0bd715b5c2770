"""The embedded llama.cpp model (SmolLM2-135M): prompt reuse and thread counts, measured in one run.

    PYTHONPATH=. .venv/bin/python bench/bench_llamacpp.py reuse   [--questions 3] [--rounds 2] [--repeat 3]
    PYTHONPATH=. .venv/bin/python bench/bench_llamacpp.py threads [--repeat 5] [--seconds 60]
    PYTHONPATH=. .venv/bin/python bench/bench_llamacpp.py batches [--repeat 3]

`reuse` runs real debates (the `debate` protocol: two debaters, `--rounds` rounds, then the judge) on
`--questions` hidden-passage questions, every call on the local model, in four modes: fresh evaluation with
512-token batches (`kv_reuse=False`, what every call did before reuse existed), fresh with 64-token batches,
and reuse with each batch size. It prints prompt tokens, tokens evaluated, wall time (min / median of
`--repeat`), the prompt/generation split, the ratios fresh/reuse, and whether each reuse mode's episodes are
bit-identical to the fresh mode with the same batch size (text and every logprob).

`threads` loads the model once and measures prompt tokens/s (a 400-token prompt) and generation tokens/s (48
greedy tokens) with n_threads (generation) / n_threads_batch (prompt) = 1/1, 1/all, all/all, first with no
neighbour of ours and then beside a busy neighbour (a CPU-burning Python process started and stopped here);
configurations are interleaved and repeated. The load average is printed: other users of the machine count too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from oversight.models import get_model
from oversight.models.llamacpp import _usable_cores, resolve_gguf

MODES = {  # label -> provider options
    "before (fresh, 512, FA)": {"kv_reuse": False, "flash_attn": True},  # every call before kv_reuse existed
    "fresh n_batch=512": {"kv_reuse": False},
    "reuse n_batch=512": {"kv_reuse": True, "n_batch": 512},
    "fresh n_batch=64": {"kv_reuse": False, "n_batch": 64},
    "reuse n_batch=64": {"kv_reuse": True},  # the default
}
BURN = "import time\nend = time.time() + float(__import__('sys').argv[1])\nwhile time.time() < end:\n    pass\n"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min), {os.cpu_count()} CPUs"


async def run_debates(options: dict[str, Any], questions: list[Any], rounds: int, threads: int) -> dict[str, Any]:
    from oversight.protocol_registry import get_protocol

    entry = get_protocol("debate")
    config = entry.config.model_validate({"rounds": rounds, "word_limit": 40})
    model = get_model("local/smollm2-135m", n_threads=threads, **options)
    try:
        from oversight.types import ChatMessage, GenerateConfig

        await model.generate([ChatMessage(role="user", content="Hi")], GenerateConfig(max_tokens=1))  # load
        before = model.provider.reuse_stats()
        start = time.perf_counter()
        episodes = []
        for q in questions:
            roles = {"debater": model, "judge": model}
            episodes.append(await entry.run(q, roles, config, 0))
        wall = time.perf_counter() - start
        after = model.provider.reuse_stats()
    finally:
        await model.aclose()
    stats = {k: v - before.get(k, 0) for k, v in after.items() if not isinstance(v, dict)}
    outputs = [[(t.content, t.probability) for t in ep.turns] for ep in episodes]
    return {"wall": wall, "stats": stats, "outputs": outputs, "calls": stats["calls"]}


def bench_reuse(args: argparse.Namespace) -> None:
    from oversight.tasks import load_task

    questions = load_task("gen/hidden-passage", n=args.questions, seed=0, difficulty=1).questions
    print(f"reuse: {args.questions} debates x {args.rounds} rounds on local/smollm2-135m, n_threads={args.threads}")
    print(load())
    results: dict[str, list[dict[str, Any]]] = {label: [] for label in MODES}
    for _ in range(args.repeat):
        for label, options in MODES.items():  # interleaved, so a change in machine load hits every mode
            results[label].append(asyncio.run(run_debates(options, questions, args.rounds, args.threads)))
    print(
        f"{'mode':20s} {'calls':>5s} {'prompt tok':>10s} {'evaluated':>9s} {'wall min':>8s} {'median':>7s}"
        f" {'prompt s':>8s} {'gen s':>6s} {'state s':>7s}"
    )
    walls = {}
    for label, runs in results.items():
        s = runs[0]["stats"]
        w = sorted(r["wall"] for r in runs)
        walls[label] = w
        best = min(runs, key=lambda r: r["wall"])["stats"]
        print(
            f"{label:24s} {s['calls']:5.0f} {s['prompt_tokens']:10.0f} {s['evaluated_tokens']:9.0f} {w[0]:8.2f}"
            f" {statistics.median(w):7.2f} {best['prompt_seconds']:8.2f} {best['generation_seconds']:6.2f}"
            f" {best['state_seconds']:7.3f}"
        )
    for batch in (512, 64):
        fresh, reuse = results[f"fresh n_batch={batch}"], results[f"reuse n_batch={batch}"]
        same = all(f["outputs"] == r["outputs"] for f, r in zip(fresh, reuse, strict=True))
        same_runs = all(r["outputs"] == fresh[0]["outputs"] for r in fresh + reuse)
        ev = fresh[0]["stats"]["evaluated_tokens"] / reuse[0]["stats"]["evaluated_tokens"]
        wall_min = walls[f"fresh n_batch={batch}"][0] / walls[f"reuse n_batch={batch}"][0]
        wall_med = statistics.median(walls[f"fresh n_batch={batch}"]) / statistics.median(
            walls[f"reuse n_batch={batch}"]
        )
        print(
            f"n_batch={batch}: reuse outputs bit-identical to fresh: {same} (and across all repeats: {same_runs}); "
            f"tokens evaluated fresh/reuse {ev:.2f}x; wall fresh/reuse {wall_min:.2f}x (min) {wall_med:.2f}x (median)"
        )
    base = results["fresh n_batch=512"][0]["outputs"]
    print(f"n_batch=64 outputs equal n_batch=512 outputs: {results['fresh n_batch=64'][0]['outputs'] == base}")
    w512, w64 = walls["fresh n_batch=512"], walls["reuse n_batch=64"]
    print(
        f"default (reuse, n_batch=64) vs before (fresh, 512): wall {w512[0] / w64[0]:.2f}x (min), "
        f"{statistics.median(w512) / statistics.median(w64):.2f}x (median)"
    )
    print(load())


def measure_threads(llm: Any, tokens: list[int], n_threads: int) -> tuple[float, float]:
    """(prompt tokens/s, generation tokens/s) with this thread count."""
    llm._ctx.set_n_threads(n_threads, n_threads)
    llm.reset()
    start = time.perf_counter()
    llm.eval(tokens)
    prompt = len(tokens) / (time.perf_counter() - start)
    start, n = time.perf_counter(), 0
    for _ in llm.generate([], reset=False, temp=0.0, top_k=0, top_p=1.0, min_p=0.0):
        n += 1
        if n == 48:
            break
    return prompt, n / (time.perf_counter() - start)


def greedy_logits(llm: Any, tokens: list[int], n_threads: int, steps: int = 8) -> list[Any]:
    """The logits of `steps` greedy tokens after `tokens`, with this thread count."""
    import llama_cpp
    import numpy as np

    llm._ctx.set_n_threads(n_threads, n_threads)
    llm.reset()
    llm.eval(tokens)
    rows = []
    for _ in llm.generate([], reset=False, temp=0.0, top_k=0, top_p=1.0, min_p=0.0):
        rows.append(np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),)).copy())
        if len(rows) == steps:
            break
    return rows


def bench_threads(args: argparse.Namespace) -> None:
    import llama_cpp

    from oversight.models.busy_cores import BusyCores

    cores = _usable_cores()
    models = {
        fa: llama_cpp.Llama(
            model_path=str(resolve_gguf("smollm2-135m")),
            n_ctx=2048,
            n_threads=cores,
            n_threads_batch=cores,
            flash_attn=fa,
            n_batch=64,
            verbose=False,
        )
        for fa in (False, True)
    }
    text = " ".join(f"Person {i} was born in Town {i % 7} in {1900 + i}." for i in range(60))
    tokens = models[False].tokenize(text.encode())[:400]
    import numpy as np

    for fa, llm in models.items():  # does the thread count change outputs? (it decides what may adapt)
        one, many = greedy_logits(llm, tokens, 1), greedy_logits(llm, tokens, cores)
        same = all(np.array_equal(a, b) for a, b in zip(one, many, strict=True))
        diff = max(float(np.abs(a - b).max()) for a, b in zip(one, many, strict=True))
        print(
            f"flash_attn={'on' if fa else 'off'}: 8 greedy steps' logits with 1 vs {cores} threads "
            f"bit-identical: {same} (largest difference {diff:.4f})"
        )
    configs = [(False, 1), (False, cores), (False, "auto"), (True, 1), (True, cores)]
    busy = BusyCores()
    print(f"threads: (flash_attn, n_threads) in {configs}; {cores} usable cores; {load()}")
    results: dict[tuple[str, Any], list[tuple[float, float]]] = {}
    picked: dict[str, list[int]] = {}
    deadline = time.monotonic() + args.seconds
    for rep in range(args.repeat):
        for phase in ("no neighbour", "busy neighbour"):
            burner = None
            if phase == "busy neighbour":
                burner = subprocess.Popen([sys.executable, "-c", BURN, str(args.seconds)])
            try:
                time.sleep(0.6)  # a window for BusyCores to see the phase
                busy.others()
                for fa, threads in configs:
                    if threads == "auto":
                        n = busy.threads(cores)
                        picked.setdefault(phase, []).append(n)
                    else:
                        n = threads
                    results.setdefault((phase, (fa, threads)), []).append(measure_threads(models[fa], tokens, n))
            finally:
                if burner is not None:
                    burner.terminate()
                    burner.wait()
        if time.monotonic() > deadline:
            print(f"(stopped after {rep + 1} repeats: --seconds {args.seconds} reached)")
            break
    for llm in models.values():
        llm.close()
    print(
        f"{'phase':15s} {'FA':>5s} {'threads':>7s} {'prompt tok/s worst':>18s} {'median':>7s}"
        f" {'gen tok/s worst':>15s} {'median':>7s}"
    )
    for (phase, (fa, threads)), runs in results.items():
        pp, tg = [r[0] for r in runs], [r[1] for r in runs]
        print(
            f"{phase:15s} {'on' if fa else 'off':>5s} {threads!s:>7s} {min(pp):18.0f} {statistics.median(pp):7.0f}"
            f" {min(tg):15.1f} {statistics.median(tg):7.1f}"
        )
    for phase in ("no neighbour", "busy neighbour"):
        gen = {cfg: statistics.median(r[1] for r in results[(phase, cfg)]) for cfg in configs}
        pp = {cfg: statistics.median(r[0] for r in results[(phase, cfg)]) for cfg in configs}
        print(
            f"{phase}: FA off, {cores} vs 1 threads: generation {gen[(False, cores)] / gen[(False, 1)]:.2f}x, "
            f"prompt {pp[(False, cores)] / pp[(False, 1)]:.2f}x; auto vs 1: generation "
            f"{gen[(False, 'auto')] / gen[(False, 1)]:.2f}x (auto picked {picked.get(phase)}); FA on vs off at 1 "
            f"thread: generation {gen[(True, 1)] / gen[(False, 1)]:.2f}x, prompt {pp[(True, 1)] / pp[(False, 1)]:.2f}x"
        )
    print(load())


def bench_batches(args: argparse.Namespace) -> None:
    """Prompt tokens/s against the batch size (1 thread): why reuse works in 64-token chunks."""
    import llama_cpp

    llm = llama_cpp.Llama(
        model_path=str(resolve_gguf("smollm2-135m")), n_ctx=2048, n_threads=1, n_threads_batch=1, verbose=False
    )
    text = " ".join(f"Person {i} was born in Town {i % 7} in {1900 + i}." for i in range(60))
    tokens = llm.tokenize(text.encode())[:512]
    print(f"batches: a {len(tokens)}-token prompt, 1 thread, best of {args.repeat}; {load()}")
    for n_batch in (512, 256, 128, 64, 32, 16):
        times = []
        for _ in range(args.repeat):
            llm.reset()
            llm.n_batch = n_batch
            start = time.perf_counter()
            llm.eval(tokens)
            times.append(time.perf_counter() - start)
        best, median = len(tokens) / min(times), len(tokens) / statistics.median(times)
        print(f"  n_batch {n_batch:3d}: {best:5.0f} tok/s (median {median:5.0f})")
    llm.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("section", choices=["reuse", "threads", "batches"])
    parser.add_argument("--questions", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="n_threads for `reuse` (default 1: a quiet neighbour)")
    parser.add_argument("--seconds", type=float, default=120, help="`threads`: stop repeating after this long")
    args = parser.parse_args()
    {"reuse": bench_reuse, "threads": bench_threads, "batches": bench_batches}[args.section](args)


if __name__ == "__main__":
    main()
