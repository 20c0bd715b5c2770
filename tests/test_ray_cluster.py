"""A real two-node Ray cluster on loopback (`ray start --head`, then `ray start --address`): workers land on both
nodes, a SIGKILLed driver is finished by `oversight resume`, and no Ray process is left behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from experiment_helpers import spec_toml, write_questions

pytest.importorskip("ray", reason="the Ray cluster tests need the `ray` extra (scripts/test installs it)")
pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
RAY = Path(sys.executable).with_name("ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_processes() -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout.splitlines()
    return [line for line in out if "ray::" in line or "raylet" in line or "gcs_server" in line]


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory: pytest.TempPathFactory):
    assert not _ray_processes(), "a Ray cluster is already running on this machine"
    tmp = tmp_path_factory.mktemp("cluster")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), *(p for p in sys.path if p)]),
        "OVERSIGHT_TEST_CALL_LOG": str(tmp / "calls.log"),
        "OVERSIGHT_TEST_SLEEP": "0.03",  # workers' calls take time, so the driver can be killed mid-run
        "RAY_AUTH_MODE": "disabled",
    }
    port = _free_port()
    address = f"127.0.0.1:{port}"
    common = ["--num-cpus=1", "--disable-usage-stats", "--node-ip-address=127.0.0.1"]
    head = [str(RAY), "start", "--head", f"--port={port}", "--include-dashboard=false", *common]
    subprocess.run(head, env=env, check=True, capture_output=True, timeout=120)
    try:
        extra = [str(RAY), "start", f"--address={address}", *common]
        subprocess.run(extra, env=env, check=True, capture_output=True, timeout=120)
        yield address, env, tmp
    finally:
        subprocess.run([str(RAY), "stop", "--force"], env=env, capture_output=True, timeout=120)
        deadline = time.monotonic() + 30
        while _ray_processes() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not _ray_processes(), "Ray processes left behind"


def _oversight(args: list[str], env: dict[str, str], **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "oversight", *args], env=env, text=True, **kw)


def test_workers_run_on_both_nodes_and_a_killed_driver_is_resumed(two_nodes, tmp_path: Path) -> None:
    address, env, tmp = two_nodes
    data = write_questions(tmp_path / "q.jsonl", 120)
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_toml(data, rounds=2, seeds="[0, 1]", concurrency=4))
    out = tmp_path / "runs"
    args = ["run", str(spec), "--ray", address, "--output-dir", str(out), "--run-id", "r", "--progress", "off"]
    driver = _oversight(args, env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    episodes = out / "t" / "r" / "episodes.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not episodes.exists() or len(episodes.read_text().splitlines()) < 30):
        assert driver.poll() is None, driver.communicate()
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait(timeout=30)
    partial = len(episodes.read_text().splitlines())
    assert 30 <= partial < 240

    resume = ["resume", str(out / "t" / "r"), "--ray", address, "--progress", "off"]
    resumed = _oversight(resume, env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, stderr
    ids = [json.loads(line)["id"] for line in episodes.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 240
    summary = json.loads((out / "t" / "r" / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["executor"]["nodes"] == 2  # one worker per 1-CPU node
