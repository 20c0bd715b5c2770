"""Crash safety end to end: SIGKILL mid-run then resume gives the uninterrupted run's episodes, recomputing
nothing that was cached; Ctrl-C stops cleanly with no partial episode written."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from experiment_helpers import spec_toml, write_questions

from oversight.experiment import Experiment, run_experiment
from oversight.store import iter_episodes

HELPERS = str(Path(__file__).resolve().parent)
N_QUESTIONS = 30
ROUNDS = 2


def _env(tmp_path: Path, phase: str, sleep: float = 0.01) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": HELPERS,
        "OVERSIGHT_TEST_CALL_LOG": str(tmp_path / "calls.log"),
        "OVERSIGHT_TEST_PHASE": phase,
        "OVERSIGHT_TEST_SLEEP": str(sleep),
    }


def _default_sigint() -> None:
    # A child of a background job inherits SIGINT ignored, and Python then never raises KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _start_and_stop(tmp_path: Path, spec: Path, sig: int, at_line: int) -> tuple[subprocess.Popen[str], Path]:
    run_dir = tmp_path / "runs" / "t" / "k"
    cmd = [sys.executable, "-m", "oversight", "run", str(spec), "--output-dir", str(tmp_path / "runs")]
    cmd += ["--run-id", "k", "--cache", str(tmp_path / "calls.sqlite"), "--progress", "off"]
    proc = subprocess.Popen(
        cmd,
        env=_env(tmp_path, "1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )
    episodes = run_dir / "episodes.jsonl"
    deadline = time.monotonic() + 30
    while _lines(episodes) < at_line:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "run made no progress"
        time.sleep(0.002)
    # The call cache commits in batches from a writer thread: make sure something is on disk before a SIGKILL,
    # or the "nothing cached is recomputed" check below would have nothing to check.
    cache = tmp_path / "calls.sqlite"
    while sig == signal.SIGKILL and not _has_rows(cache):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "nothing reached the call cache"
        time.sleep(0.002)
    time.sleep(random.uniform(0, 0.02))  # land somewhere inside the next episode or two
    proc.send_signal(sig)
    proc.wait(timeout=30)
    return proc, run_dir


def _has_rows(cache: Path) -> bool:
    try:
        return cache.exists() and bool(_cached_digests(cache))
    except sqlite3.OperationalError:  # created but its table not committed yet
        return False


def _cached_digests(cache: Path) -> set[str]:
    conn = sqlite3.connect(cache)
    try:
        rows = conn.execute("SELECT output FROM calls").fetchall()
    finally:
        conn.close()
    return {json.loads(r[0])["text"].split("[p=")[1].rstrip("]") for r in rows}


def _calls(tmp_path: Path, phase: str) -> list[str]:
    log = tmp_path / "calls.log"
    return [d for p, d in (line.split() for line in log.read_text().splitlines()) if p == phase]


def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    data = write_questions(tmp_path / "q.jsonl", N_QUESTIONS)
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(spec_toml(data, rounds=ROUNDS, seeds="[0, 1]", concurrency=3))

    full = run_experiment(
        Experiment.from_file(spec_path), output_dir=tmp_path / "full", cache=False, progress="off", run_id="u"
    )
    full_ids = [json.loads(x)["id"] for x in (full.run_dir / "episodes.jsonl").read_text().splitlines()]
    assert len(full_ids) == 2 * N_QUESTIONS

    kill_at = random.randint(8, len(full_ids) - 10)
    proc, run_dir = _start_and_stop(tmp_path, spec_path, signal.SIGKILL, kill_at)
    assert proc.returncode == -signal.SIGKILL
    assert not (run_dir / "summary.json").exists()
    cached = _cached_digests(tmp_path / "calls.sqlite")
    phase1 = _calls(tmp_path, "1")
    assert cached and set(cached) <= set(phase1)

    resumed = subprocess.run(
        [sys.executable, "-m", "oversight", "resume", str(run_dir), "--cache", str(tmp_path / "calls.sqlite")],
        env=_env(tmp_path, "2", sleep=0),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert resumed.returncode == 0, resumed.stderr
    raw = (run_dir / "episodes.jsonl").read_text()
    assert raw.endswith("\n")
    rows = [json.loads(line) for line in raw.splitlines()]  # every line parses: no corrupt line
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate episodes"
    assert sorted(ids) == sorted(full_ids)

    phase2 = _calls(tmp_path, "2")
    assert not set(phase2) & cached, "a cached turn was recomputed"
    assert len(phase2) == len(set(phase2))
    assert len(set(phase1) | set(phase2)) == len(full_ids) * ROUNDS
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["episodes"]["finished"] == len(full_ids)
    assert summary["calls"]["cache_hits"] >= len([d for d in cached if d not in phase2]) - len(full_ids) * ROUNDS

    # Episode contents match the uninterrupted run too, apart from timing and cache flags, and the token and cost
    # accounting of an episode that was in flight at the kill: its calls answered from the cache cost nothing.
    def norm(r: dict) -> str:
        r = dict(r)
        for key in ("timings", "tokens", "cost"):
            r.pop(key)
        r["turns"] = [{k: v for k, v in t.items() if k not in ("latency", "cached")} for t in r["turns"]]
        return json.dumps(r, sort_keys=True)

    # Read through the store (pooled prompts resolved): the two runs pooled their paragraphs in different orders.
    full_rows = {e.id: norm(e.model_dump(mode="json")) for e in iter_episodes(full.run_dir)}
    for e in iter_episodes(run_dir):
        got, want = json.loads(norm(e.model_dump(mode="json"))), json.loads(full_rows[e.id])
        assert {k: v for k, v in got.items() if want.get(k) != v} == {}, {k: want.get(k) for k in got}


def test_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    data = write_questions(tmp_path / "q.jsonl", N_QUESTIONS)
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(spec_toml(data, rounds=ROUNDS, seeds="[0, 1]", concurrency=3))
    proc, run_dir = _start_and_stop(tmp_path, spec_path, signal.SIGINT, 5)
    out, err = proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert f"finished episodes are saved. Continue with: oversight resume {run_dir}\n" in out
    raw = (run_dir / "episodes.jsonl").read_text()
    assert raw.endswith("\n")
    n = len([json.loads(line) for line in raw.splitlines()])
    assert 5 <= n < 2 * N_QUESTIONS
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["episodes"]["finished"] == n


def _kill_when(cmd: list[str], env: dict[str, str], episodes: Path, at_line: int, delay: float) -> int | None:
    """Run `cmd` and SIGKILL it once `episodes` holds `at_line` lines (plus `delay` seconds); returns its exit code
    if it ended on its own first."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while _lines(episodes) < at_line:
        if proc.poll() is not None:
            return proc.returncode
        assert time.monotonic() < deadline, "run made no progress"
        time.sleep(0.002)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return None


def test_sigkill_at_several_seeded_points_then_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    rng = random.Random(20240610)
    data = write_questions(tmp_path / "q.jsonl", N_QUESTIONS)
    spec_path = tmp_path / "spec.toml"
    # One question's episodes always fail: they are re-run by every resume and must end as one record each.
    spec_path.write_text(
        spec_toml(data, rounds=ROUNDS, seeds="[0, 1]", concurrency=3, protocol_extra='fail_on = ["q00007"]')
    )
    full = run_experiment(
        Experiment.from_file(spec_path), output_dir=tmp_path / "full", cache=False, progress="off", run_id="u"
    )
    total = 2 * N_QUESTIONS

    run_dir = tmp_path / "runs" / "t" / "k"
    episodes = run_dir / "episodes.jsonl"
    first = [sys.executable, "-m", "oversight", "run", str(spec_path), "--output-dir", str(tmp_path / "runs")]
    first += ["--run-id", "k", "--cache", str(tmp_path / "calls.sqlite"), "--progress", "off"]
    resume = [sys.executable, "-m", "oversight", "resume", str(run_dir), "--cache", str(tmp_path / "calls.sqlite")]
    resume += ["--progress", "off"]
    points = sorted(rng.sample(range(4, total - 6), 3))
    for i, at in enumerate(points):
        ended = _kill_when(first if i == 0 else resume, _env(tmp_path, str(i)), episodes, at, rng.uniform(0, 0.03))
        assert ended is None, "the run finished before it could be killed"
        assert not (run_dir / "summary.json").exists() or i > 0
    done = subprocess.run(resume, env=_env(tmp_path, "last", sleep=0), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

    raw = episodes.read_text()
    assert raw.endswith("\n") and all(json.loads(line) for line in raw.splitlines())  # no torn or corrupt line
    final = list(iter_episodes(run_dir))
    assert len(final) == total and len({e.id for e in final}) == total

    def norm(e) -> str:  # noqa: ANN001
        r = e.model_dump(mode="json")
        for key in ("timings", "tokens", "cost"):  # calls answered from the cache cost nothing, by design
            r.pop(key)
        r["turns"] = [{k: v for k, v in t.items() if k not in ("latency", "cached")} for t in r["turns"]]
        return json.dumps(r, sort_keys=True)

    assert sorted(map(norm, final)) == sorted(map(norm, iter_episodes(full.run_dir)))
    assert sorted(e.question_id for e in final if e.error) == ["q00007", "q00007"]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["episodes"]["finished"] == total
    assert summary["episodes"]["errors"] == 2
