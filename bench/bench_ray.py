"""The Ray executor on a local 2-node cluster (two `ray start` processes on 127.0.0.1, 1 CPU each).

1. Throughput, I/O-bound: scripted models answering after 50 ms (like a hosted API), each worker running up to
   `--concurrency` episodes at once: episodes/s with 2 workers ÷ with 1 worker (target >= 1.8).
2. Orchestration overhead per model call, instant scripted models: through Ray ÷ the single-process runner
   (target <= 2), fixed costs (cluster connection, worker start, spec expansion) removed by timing two sizes.

    .venv/bin/python bench/bench_ray.py [--episodes 400] [--concurrency 8]

Starts and stops its own cluster (`ray stop --force` at the end: do not run it beside another Ray cluster).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from oversight.experiment import Experiment, run_experiment
from oversight.experiment.ray_executor import RayExecutor
from oversight.types import Question

RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cluster() -> str:
    port = free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    common = ["--num-cpus=1", "--disable-usage-stats", "--node-ip-address=127.0.0.1"]
    subprocess.run(
        [RAY, "start", "--head", f"--port={port}", "--include-dashboard=false", *common],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run([RAY, "start", f"--address=127.0.0.1:{port}", *common], env=env, check=True, capture_output=True)
    return f"127.0.0.1:{port}"


def write_questions(path: Path, n: int) -> Path:
    with path.open("w") as f:
        for i in range(n):
            f.write(Question(id=f"q{i}", text=f"Question {i}?", choices=["a", "b"], answer=0).model_dump_json() + "\n")
    return path


def spec(data: Path, name: str, delay: float, concurrency: int) -> Experiment:
    opts = {"outputs": ["I argue for answer A because the passage says so."], "cycle": True, "delay": delay}
    return Experiment(
        name=name,
        concurrency=concurrency,
        endpoint_concurrency=concurrency,
        tasks=[{"dataset": str(data)}],
        protocols=[{"name": "debate", "rounds": 3}],  # 6 speeches + 1 judgment: 7 calls
        roles={"debater": {"model": "scripted/debater", "options": opts}},
        judges=[{"name": "j", "model": "scripted/judge", "options": {**opts, "outputs": ["Answer: A"]}}],
        cache=False,
    )


def timed(s: Experiment, out: Path, executor: RayExecutor | None) -> float:
    t0 = time.perf_counter()
    result = run_experiment(s, output_dir=out, progress="off", executor=executor)
    assert result.status == "complete" and result.errors == 0, result.summary
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    address = start_cluster()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            n = args.episodes
            small, big = write_questions(root / "s.jsonl", n // 4), write_questions(root / "b.jsonl", n)
            io1 = timed(spec(big, "io1", 0.05, args.concurrency), root, RayExecutor(address=address, workers=1))
            io2 = timed(spec(big, "io2", 0.05, args.concurrency), root, RayExecutor(address=address, workers=2))
            print(f"I/O-bound ({n} episodes x 7 calls, 50 ms per call, concurrency {args.concurrency} per worker):")
            print(
                f"  1 worker: {n / io1:6.1f} episodes/s   2 workers: {n / io2:6.1f} episodes/s   "
                f"ratio {io1 / io2:.2f}x (target >= 1.8)"
            )
            calls = 7 * (n - n // 4)
            local = [timed(spec(d, f"l{i}", 0.0, 16), root, None) for i, d in enumerate((small, big))]
            on_ray = [
                timed(spec(d, f"r{i}", 0.0, 16), root, RayExecutor(address=address, workers=2))
                for i, d in enumerate((small, big))
            ]
            per_local = (local[1] - local[0]) / calls * 1e6
            per_ray = (on_ray[1] - on_ray[0]) / calls * 1e6
            print("overhead per call (instant models, fixed costs removed):")
            print(
                f"  single process: {per_local:6.1f} us   Ray (2 workers): {per_ray:6.1f} us   "
                f"ratio {per_ray / per_local:.2f}x (target <= 2)"
            )
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True)


if __name__ == "__main__":
    main()
