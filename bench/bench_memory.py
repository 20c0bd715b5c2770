"""Peak memory per episode of a run, from 10k to 200k scripted episodes, with the call cache on (and off: its share).

Each size runs in a fresh subprocess: the real runner and the real `direct` protocol (one judge call per episode; a
pure scripted judge named by import path, so every call goes through the SQLite call cache), N episodes = 1,000
questions x N/1,000 seeds. Then the largest run is resumed with every episode finished (the runner reads the store
once and keeps the compact set of finished ids). `--tracemalloc` also traces Python allocations inside each run:
the growth between its 10% and 90% episodes, by file, and the call cache's share of it. `--cache-off` also runs
every size without the call cache, so the difference is the cache's share of peak RSS.

    .venv/bin/python bench/bench_memory.py [--sizes 10000 50000 200000] [--cache-off] [--tracemalloc]

Prints, per size, peak RSS (MB), then the bytes per episode between the smallest and the largest run (target
<= 200 B per finished episode). Sizes are measured one after another in one invocation, so load is comparable.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from oversight.episode import Outcome
from oversight.protocol_registry import EpisodeSetup, ProtocolEntry, get_protocol
from oversight.types import ChatMessage, GenerateConfig, Question

QUESTIONS = 1000
#: the call cache's files (its key index is the model layer's own compact set: reported apart from the runner's)
CACHE_FILES = ("oversight/models/cache.py", "oversight/models/key_index.py")


def verdict(messages: list[ChatMessage], config: GenerateConfig) -> str:
    """A pure judge script: the answer from a cheap hash of the prompt and seed (cache-stable by import path)."""
    return "Answer: " + "AB"[(len(messages[-1].content) + (config.seed or 0)) % 2]


class _Tracer:
    """Snapshots of traced memory at the run's 10% and 90% episodes (taken from inside the protocol)."""

    def __init__(self, total: int) -> None:
        self.marks = (max(1, total // 10), max(2, total * 9 // 10))
        self.seen = 0
        self.snapshots: list[tracemalloc.Snapshot] = []

    def tick(self, setup: EpisodeSetup) -> None:
        self.seen += 1
        if self.seen in self.marks:
            for model in setup.models.values():  # queued cache writes are in flight (more under load), not retained
                cache = getattr(getattr(model, "model", None), "cache", None)
                if cache is not None:
                    cache.flush()
            gc.collect()  # what is retained, not garbage that a later collection frees anyway
            self.snapshots.append(tracemalloc.take_snapshot())


_tracer: _Tracer | None = None


async def traced_direct(setup: EpisodeSetup) -> Outcome:
    """The `direct` protocol, counting episodes for `--tracemalloc` snapshots."""
    out = await get_protocol("direct").run(setup)
    if _tracer is not None:
        _tracer.tick(setup)
    return out


def write_questions(path: Path, n: int) -> Path:
    with path.open("w") as f:
        for i in range(n):
            q = Question(id=f"q{i:06d}", text=f"Which option fits item {i}?", choices=["left", "right"], answer=i % 2)
            f.write(q.model_dump_json() + "\n")
    return path


def spec(data: Path, seeds: int, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "repeats": seeds,
        "concurrency": 16,
        "tasks": [{"dataset": str(data)}],
        "protocols": [{"name": f"{__name__}:DIRECT", "label": "direct"}],
        "judges": [{"name": "pure", "model": "scripted/pure", "options": {"fn": f"{__name__}:verdict"}}],
    }


DIRECT = ProtocolEntry(name="direct", config=get_protocol("direct").config, roles=("judge",), run=traced_direct)


def child(episodes: int, questions: int, root: Path, trace: bool, cache: bool = True) -> dict[str, Any]:
    """Run one size in this process; return its peak RSS (bytes), and with `trace` the traced growth by file."""
    global _tracer
    from oversight.experiment import Experiment, run_experiment

    seeds = max(1, episodes // questions)
    data = write_questions(root / "q.jsonl", questions)
    out: dict[str, Any] = {"episodes": seeds * questions}
    if trace:
        _tracer = _Tracer(seeds * questions)
        tracemalloc.start(1)
    t0 = time.perf_counter()
    experiment = Experiment.from_dict(spec(data, seeds, "mem"))
    calls: Path | bool = root / "calls.sqlite" if cache else False
    result = run_experiment(experiment, output_dir=root / "runs", cache=calls, progress="off")
    out["seconds"] = round(time.perf_counter() - t0, 1)
    assert result.status == "complete" and result.done == seeds * questions, result.summary
    out["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if trace and _tracer is not None and len(_tracer.snapshots) == 2:
        early, late = _tracer.snapshots
        span = _tracer.marks[1] - _tracer.marks[0]
        by_file = {s.traceback[0].filename: s.size_diff for s in late.compare_to(early, "filename")}
        out["traced_per_episode"] = sum(by_file.values()) / span
        out["cache_per_episode"] = sum(v for f, v in by_file.items() if f.endswith(CACHE_FILES)) / span
        top = sorted(by_file.items(), key=lambda kv: -kv[1])[:5]
        out["top"] = [(f, round(v / span, 1)) for f, v in top]
        out["traced_peak"] = tracemalloc.get_traced_memory()[1]
    if not trace:  # resume the finished run: every id is skipped as done
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        again = run_experiment(experiment, resume=result.run_dir, cache=calls, progress="off")
        assert again.skipped == seeds * questions and again.done == 0, again.summary
        out["resume_peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        out["resume_grew"] = out["resume_peak_rss"] - before * 1024
    return out


def measure(
    sizes: list[int], *, questions: int = QUESTIONS, trace: bool = False, cache: bool = True
) -> list[dict[str, Any]]:
    """Run each size in a fresh subprocess (one after another); their results, smallest first."""
    rows = []
    for n in sorted(sizes):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, __file__, "--child", str(n), "--questions", str(questions), "--root", tmp]
            if trace:
                cmd.append("--tracemalloc")
            if not cache:
                cmd.append("--child-without-cache")
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
            if proc.returncode != 0:
                raise RuntimeError(f"size {n} failed:\n{proc.stderr[-3000:]}")
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return rows


def per_episode(rows: list[dict[str, Any]], key: str = "peak_rss") -> float:
    """Bytes of `key` per episode between the smallest and the largest run."""
    a, b = rows[0], rows[-1]
    return (b[key] - a[key]) / (b["episodes"] - a["episodes"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 200_000])
    parser.add_argument("--questions", type=int, default=QUESTIONS)
    parser.add_argument("--tracemalloc", action="store_true", help="also trace allocations (slower)")
    parser.add_argument("--cache-off", action="store_true", help="also measure without the call cache (its share)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-without-cache", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.questions, args.root, args.tracemalloc, not args.child_without_cache)))
        return 0
    rows = measure(args.sizes, questions=args.questions)
    print(f"{'episodes':>9} {'peak RSS MB':>12} {'seconds':>8} {'resume peak MB':>15}")
    for r in rows:
        mb, resume_mb = r["peak_rss"] / 2**20, r["resume_peak_rss"] / 2**20
        print(f"{r['episodes']:>9,} {mb:>12.1f} {r['seconds']:>8.1f} {resume_mb:>15.1f}")
    run_b = per_episode(rows)
    resume_b = per_episode(rows, "resume_peak_rss")
    span = f"{rows[0]['episodes']:,} -> {rows[-1]['episodes']:,}"
    verdict_ = "OK" if run_b <= 200 else "OVER"
    print(f"run:    {run_b:7.1f} B of peak RSS per episode ({span}); target <= 200 -> {verdict_}")
    print(f"resume: {resume_b:7.1f} B of peak RSS per finished episode ({span}, all skipped)")
    if args.cache_off:
        off = measure(args.sizes, questions=args.questions, cache=False)
        print("cache off: " + ", ".join(f"{r['episodes']:,} {r['peak_rss'] / 2**20:.1f} MB" for r in off))
        off_b = per_episode(off)
        print(f"run without the call cache: {off_b:7.1f} B per episode; the call cache's share {run_b - off_b:7.1f} B")
    if args.tracemalloc:
        for r in measure(args.sizes, questions=args.questions, trace=True):
            print(
                f"traced {r['episodes']:>9,}: {r['traced_per_episode']:6.1f} B/episode grown between its 10% and 90% "
                f"episodes; call cache {r['cache_per_episode']:5.1f} B; top: "
                + ", ".join(f"{Path(f).name} {v}" for f, v in r["top"][:3])
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
