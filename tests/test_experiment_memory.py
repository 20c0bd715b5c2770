"""10,000 scripted episodes stream to disk with flat memory: peak RSS barely grows past a 1,000-episode run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from bench_support import load_bench

HELPERS = str(Path(__file__).resolve().parent)

SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    from experiment_helpers import write_questions
    from oversight.experiment import Experiment, run_experiment

    tmp = Path(sys.argv[1])
    data = write_questions(tmp / "q.jsonl", 100)

    def spec(name, repeats):
        return Experiment(
            name=name,
            repeats=repeats,
            concurrency=16,
            tasks=[{"dataset": str(data)}],
            protocols=[{"name": "experiment_helpers:ECHO", "rounds": 3}],
            judges=[{"name": "pure", "model": "scripted/pure", "options": {"fn": "experiment_helpers:pure_judge"}}],
        )

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    small = run_experiment(spec("warm", 10), output_dir=tmp / "runs", cache=False, progress="off")
    before = peak_mb()
    big = run_experiment(spec("big", 100), output_dir=tmp / "runs", cache=False, progress="off")
    after = peak_mb()
    lines = (big.run_dir / "episodes.jsonl").read_bytes().count(b"\\n")
    print(json.dumps({"small": small.done, "big": big.done, "lines": lines, "before": before, "after": after}))
    """
)


def test_ten_thousand_episodes_with_flat_memory(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": HELPERS, "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["small"] == 1_000 and out["big"] == out["lines"] == 10_000
    growth = out["after"] - out["before"]
    # 10k episodes of 3 turns are ~22 MB of JSON on disk and several times that as objects; holding them
    # in memory would grow peak RSS far past this bound.
    assert growth < 40, f"peak RSS grew by {growth:.1f} MB over 10k episodes ({out})"


def test_the_memory_benchmark_at_small_sizes() -> None:
    """bench/bench_memory.py's own code, at sizes a fast test affords: it runs, resumes, and traces allocations.
    What a run retains per episode (traced, after a collection, between its 10% and 90% episodes) is bounded."""
    bench = load_bench("bench_memory")
    rows = bench.measure([200, 400], questions=100)
    assert [r["episodes"] for r in rows] == [200, 400]
    assert all(r["peak_rss"] > 0 and r["resume_peak_rss"] >= r["peak_rss"] for r in rows)
    assert isinstance(bench.per_episode(rows), float) and isinstance(bench.per_episode(rows, "resume_peak_rss"), float)
    off = bench.measure([200], questions=100, cache=False)[0]  # --cache-off: the same run without the call cache
    assert off["episodes"] == 200 and off["peak_rss"] > 0
    traced = bench.measure([1000], questions=100, trace=True)[0]
    assert traced["episodes"] == 1000 and traced["top"]
    # holding every episode (or its id as a string) would retain hundreds of bytes per episode; the call cache's
    # key index keeps its newest keys in a set (folded into a packed array every 4096 keys), so it is counted apart
    assert 0 <= traced["cache_per_episode"] <= traced["traced_per_episode"], traced
    assert traced["traced_per_episode"] - traced["cache_per_episode"] < 64, traced
