"""`oversight demo` for real on the embedded SmolLM2-135M (needs `oversight[local]`; a few minutes on 2 cores).

Runs the command as a user would (a subprocess, a fresh call cache), then checks the printed table and the run
directory; and checks in-process that one demo run loads the llama.cpp model once, not per episode or role.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from oversight.store import iter_episodes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

N = 4
LABELS = ("naive", "consultancy", "debate", "expert")


def test_demo_command_runs_on_the_local_model(tmp_path: Path):
    env = {**os.environ, "OVERSIGHT_CACHE_DIR": str(tmp_path / "cache")}
    argv = [sys.executable, "-m", "oversight", "demo", "--n", str(N), "--out", str(tmp_path / "runs")]
    start = time.perf_counter()
    done = subprocess.run(
        [*argv, "--run-id", "r1", "--progress", "lines"], env=env, capture_output=True, text=True, timeout=1100
    )
    wall = time.perf_counter() - start
    print(f"\n{done.stdout}\n(demo --n {N}: {wall:.0f}s)")
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.startswith("protocol"))
    assert all(col in header for col in ("acc", "95% CI", "invalid", "first shown", "tokens/ep"))
    assert any(line.startswith("position bias: the judge picked the answer shown first in") for line in lines)
    for label in LABELS:
        assert any(line.startswith(label + " ") for line in lines), label

    run_dir = tmp_path / "runs" / "demo" / "r1"
    assert f"run written to: {run_dir}" in done.stdout
    assert {"spec.json", "episodes.jsonl", "summary.json"} <= {p.name for p in run_dir.iterdir()}
    # read through the store: it rebuilds each turn's pooled `seen` messages
    episodes = [ep.model_dump(mode="json") for ep in iter_episodes(run_dir)]
    by_label: dict[str, list[dict[str, Any]]] = {}
    for ep in episodes:
        by_label.setdefault(ep.get("meta", {}).get("label", ep["protocol"]), []).append(ep)
    assert {k: len(v) for k, v in by_label.items()} == dict.fromkeys(LABELS, N)
    assert {ep["protocol"] for ep in episodes} == {"direct", "consultancy", "debate"}
    for ep in episodes:
        assert ep["error"] is None and ep["tokens"] > 0
        final = ep["judgments"][-1]  # the swap-debiased judge: both orders kept, position bias recorded
        assert final["method"] == "swap" and len(final["parts"]) == 2 and final["position"]["orders"]
        assert {t["model"] for t in ep["turns"] if t.get("seen")} == {"local/smollm2-135m"}
    questions = {label: {ep["question_id"] for ep in eps} for label, eps in by_label.items()}
    assert len({frozenset(q) for q in questions.values()}) == 1  # every protocol on the same questions
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["episodes"]["finished"] == 4 * N


def test_one_demo_run_loads_the_model_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import llama_cpp

    from oversight.cli.demo_cmd import demo_experiment
    from oversight.experiment import run_experiment

    loads: list[str] = []
    real = llama_cpp.Llama

    def counting(*args: Any, **kwargs: Any) -> Any:
        loads.append(str(kwargs.get("model_path")))
        return real(*args, **kwargs)

    monkeypatch.setattr(llama_cpp, "Llama", counting)
    spec = demo_experiment(n=2, expert=False, output_dir=tmp_path / "runs")
    result = run_experiment(spec, cache=False, progress="off")
    assert result.status == "complete" and result.done == 6
    assert result.summary["calls"]["total"] >= 6 * 2  # judges plus consultant/debaters, all on one model
    assert len(set(loads)) == 1 and len(loads) == 2, loads  # one model file, its n_parallel = 2 contexts


def test_demo_no_swap_judges_each_transcript_once(tmp_path: Path):
    env = {**os.environ, "OVERSIGHT_CACHE_DIR": str(tmp_path / "cache")}
    argv = [sys.executable, "-m", "oversight", "demo", "--n", "1", "--no-expert", "--no-swap", "--progress", "off"]
    done = subprocess.run(
        [*argv, "--out", str(tmp_path / "runs"), "--run-id", "plain"], env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "The judge was not swapped (--no-swap)" in done.stdout
    episodes = list(iter_episodes(tmp_path / "runs" / "demo" / "plain"))
    assert len(episodes) == 3
    for ep in episodes:
        assert ep.final.method != "swap" and not ep.final.parts
