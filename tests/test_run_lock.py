"""One writer per run directory (an exclusive lock held for the run's life), and readers that keep the last record
of each episode id, so a run written twice is never counted twice."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from experiment_helpers import spec_toml, write_questions

from oversight.cli import main
from oversight.comparison import compare
from oversight.experiment import Experiment, run_experiment
from oversight.run_lock import LOCK_FILE, RunLock, RunLockedError
from oversight.store import iter_episodes, load_run, superseded_lines

HELPERS = str(Path(__file__).resolve().parent)


def test_the_lock_is_exclusive_and_names_its_holder(tmp_path: Path) -> None:
    lock = RunLock.acquire(tmp_path / "run")
    pid = os.getpid()
    with pytest.raises(RunLockedError, match=rf"another oversight process \(PID {pid}, since .*kill {pid}"):
        RunLock.acquire(tmp_path / "run")  # flock is per open file: a second open in this process is refused too
    lock.release()
    lock.release()  # safe twice
    with RunLock.acquire(tmp_path / "run") as again:
        assert again.held
    assert json.loads((tmp_path / "run" / LOCK_FILE).read_text())["pid"] == os.getpid()


def _slow_run(tmp_path: Path, n: int = 400) -> tuple[subprocess.Popen[str], Path, Path]:
    data = write_questions(tmp_path / "q.jsonl", n)
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_toml(data, concurrency=1))
    env = {**os.environ, "PYTHONPATH": HELPERS, "OVERSIGHT_TEST_SLEEP": "0.05"}
    cmd = [sys.executable, "-m", "oversight", "run", str(spec), "--output-dir", str(tmp_path / "runs")]
    cmd += ["--run-id", "k", "--no-cache", "--progress", "off"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_dir = tmp_path / "runs" / "t" / "k"
    deadline = time.monotonic() + 60
    while not (run_dir / "episodes.jsonl").exists() or not (run_dir / "episodes.jsonl").read_bytes():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.01)
    return proc, run_dir, spec


def test_a_second_run_and_a_resume_of_a_running_run_are_refused(tmp_path: Path) -> None:
    proc, run_dir, spec = _slow_run(tmp_path)
    env = {**os.environ, "PYTHONPATH": HELPERS}
    try:
        second = subprocess.run(
            [sys.executable, "-m", "oversight", "run", str(spec), "--output-dir", str(tmp_path / "runs")]
            + ["--run-id", "k", "--no-cache", "--progress", "off"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        resumed = subprocess.run(
            [sys.executable, "-m", "oversight", "resume", str(run_dir), "--no-cache", "--progress", "off"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.poll() is None, "the first run ended too early for this test"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    # The second `run` into the same directory: refused, before writing anything.
    assert second.returncode == 2, second.stderr
    assert second.stderr.startswith("oversight: error: ") and "Traceback" not in second.stderr
    assert f"PID {proc.pid}" in second.stderr or "run already exists" in second.stderr
    assert f"another oversight process (PID {proc.pid}" in resumed.stderr and resumed.returncode == 2
    lines = (run_dir / "episodes.jsonl").read_text().splitlines()
    ids = [json.loads(x)["id"] for x in lines if x.strip()]
    assert len(ids) == len(set(ids))  # nobody else wrote

    # SIGKILL released the lock (the kernel drops it with the process): the run can be finished now.
    finished = subprocess.run(
        [sys.executable, "-m", "oversight", "resume", str(run_dir), "--no-cache", "--progress", "off"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    assert len(list(iter_episodes(run_dir))) == 400  # every episode of `_slow_run`, once


def test_a_run_refuses_a_directory_another_process_holds(tmp_path: Path) -> None:
    data = write_questions(tmp_path / "q.jsonl", 3)
    path = tmp_path / "spec.toml"
    path.write_text(spec_toml(data))
    run_dir = tmp_path / "runs" / "t" / "x"
    kwargs = {"output_dir": tmp_path / "runs", "run_id": "x", "progress": "off", "cache": False}
    with RunLock.acquire(run_dir):
        with pytest.raises(RunLockedError):
            run_experiment(Experiment.from_file(path), **kwargs)
    assert not (run_dir / "spec.json").exists()  # nothing was written under someone else's lock
    assert run_experiment(Experiment.from_file(path), **kwargs).status == "complete"


def _quick_run(tmp_path: Path, n: int = 6) -> Path:
    data = write_questions(tmp_path / "q.jsonl", n)
    path = tmp_path / "spec.toml"
    path.write_text(spec_toml(data, seeds="[0, 1]"))
    result = run_experiment(Experiment.from_file(path), output_dir=tmp_path / "runs", progress="off", cache=False)
    return result.run_dir


def test_readers_keep_the_last_record_of_each_id_and_warn(tmp_path: Path, caplog, capsys) -> None:
    run_dir = _quick_run(tmp_path)
    episodes = run_dir / "episodes.jsonl"
    original = episodes.read_text()
    assert main(["show", str(run_dir), "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    # What two writers used to leave behind: every episode twice.
    episodes.write_text(original + original)
    caplog.set_level(logging.WARNING, logger="oversight.store")
    assert len(load_run(run_dir).episodes) == 12
    assert "12 finished episode(s) recorded more than once" in caplog.text
    assert main(["show", str(run_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == before  # n, errors, intervals: as if written once
    assert len(compare([run_dir], n_resamples=10).records) == 12


def test_a_re_run_error_replaces_its_record_silently(tmp_path: Path, caplog) -> None:
    run_dir = _quick_run(tmp_path, n=3)
    lines = (run_dir / "episodes.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    errored = {**first, "error": "boom", "error_type": "RuntimeError", "judgments": [], "correct": None}
    (run_dir / "episodes.jsonl").write_text("\n".join([json.dumps(errored), *lines]) + "\n")
    caplog.set_level(logging.WARNING, logger="oversight.store")
    eps = list(iter_episodes(run_dir))
    assert [e.id for e in eps] == [json.loads(x)["id"] for x in lines] and all(e.error is None for e in eps)
    assert caplog.text == ""  # an error replaced by its re-run is how resume works, not a problem


def test_superseded_lines_handles_any_id_form(tmp_path: Path) -> None:
    path = tmp_path / "episodes.jsonl"
    rows = [
        '{"id":"a","question_id":"q","protocol":"p"}',  # short ids: hashed keys
        '{"question_id":"q","protocol":"p","id":"b"}',  # id not first: parsed
        '{"id":"0123456789abcdef0001","question_id":"q","protocol":"p"}',
        '{"id":"0123456789abcdef0002","question_id":"q","protocol":"p"}',  # differs from line 3 only at the end
        '{"id":"a","question_id":"q","protocol":"p"}',
        "",
        '{"id":"0123456789abcdef0001","question_id":"q","protocol":"p"}',
        '{"id":"b","question_id":"q","protocol":"p"',  # torn last line: ignored
    ]
    path.write_text("\n".join(rows))
    assert superseded_lines(path) == {1, 3}
