"""The real `oversight view` command in a real 80x24 terminal (tmux): open a run, read an episode, quit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from viewer_runs import base_run

TMUX = shutil.which("tmux")
pytestmark = [pytest.mark.skipif(TMUX is None, reason="needs tmux"), pytest.mark.timeout(180)]


class Terminal:
    """A detached tmux session on its own server socket (so nothing else's tmux is touched)."""

    def __init__(self, command: str, env: dict[str, str]) -> None:
        self.socket = f"oversight-test-{os.getpid()}-{time.monotonic_ns()}"
        self._tmux("new-session", "-d", "-x", "80", "-y", "24", "-s", "view", command, env=env)

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        out = subprocess.run([TMUX, "-L", self.socket, *args], env=env, capture_output=True, text=True, timeout=30)
        return out.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "view")

    def keys(self, *keys: str) -> None:
        for key in keys:
            self._tmux("send-keys", "-t", "view", key)
            time.sleep(0.1)

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run([TMUX, "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


def test_oversight_view_in_a_terminal(tmp_path: Path):
    run = base_run(tmp_path / "runs")
    rc = tmp_path / "rc"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "TERM": "xterm-256color"}
    term = Terminal(f"{sys.executable} -m oversight view {run}; echo $? > {rc}", env)
    try:
        screen = term.wait_for("120 of 120 episodes")
        assert screen.splitlines()[0].strip() == f"{run.parent.name} / {run.name}"
        term.keys("j", "Enter")
        screen = term.wait_for("episode 2 of 120")
        assert "Question" in screen and "Debater A" in screen
        term.keys("3")
        assert "provenance" in term.wait_for("final judgment")
        term.keys("Escape")
        term.wait_for("120 of 120 episodes")
        term.keys("q")
        deadline = time.monotonic() + 30
        while not rc.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert rc.read_text().strip() == "0"
    finally:
        term.close()
