"""The real `oversight view` and `oversight judge` commands in a real 80x24 terminal (tmux): open a run, read an
episode, quit; type a judgment and find it stored."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from judging_support import human_run
from viewer_runs import base_run

from oversight.judgments_log import JUDGMENTS_FILE
from oversight.store import iter_episodes

TMUX = shutil.which("tmux")
# scripts/test (what CI runs) installs tmux and sets OVERSIGHT_REQUIRE_TMUX: there a missing tmux fails, never skips
REQUIRED = os.environ.get("OVERSIGHT_REQUIRE_TMUX") == "1"
pytestmark = [pytest.mark.skipif(TMUX is None and not REQUIRED, reason="needs tmux"), pytest.mark.timeout(180)]


@pytest.fixture(autouse=True)
def _tmux_present() -> None:
    if TMUX is None:
        pytest.fail("tmux is not installed (scripts/install-system installs it)")


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

    def press_until(self, key: str, text: str, tries: int = 3, timeout: float = 20.0) -> str:
        """Press `key` until `text` is on screen (at most `tries` presses, `timeout` seconds each): on a loaded
        machine a key sent just as a new screen mounts can reach the old one and be dropped. Only for keys that
        do the same when pressed twice (a tab number, not a toggle)."""
        for _ in range(tries - 1):
            self.keys(key)
            try:
                return self.wait_for(text, timeout)
            except AssertionError:
                pass
        self.keys(key)
        return self.wait_for(text, timeout)

    def close(self) -> None:
        subprocess.run([TMUX, "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


def exit_status(rc: Path, timeout: float = 30.0) -> str:
    """The exit status the command wrote to `rc` once it quit (waiting up to `timeout` seconds for it)."""
    deadline = time.monotonic() + timeout
    while not rc.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    return rc.read_text().strip()


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
        assert "provenance" in term.press_until("3", "final judgment")
        term.keys("Escape")
        term.wait_for("120 of 120 episodes")
        term.keys("q")
        assert exit_status(rc) == "0"
    finally:
        term.close()


def test_oversight_judge_in_a_terminal_types_a_judgment_and_stores_it(tmp_path: Path):
    run = human_run(tmp_path / "runs", [{"human": "alice"}], n=2)
    rc = tmp_path / "rc"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "TERM": "xterm-256color"}
    term = Terminal(f"{sys.executable} -m oversight judge {run} --judge-id alice; echo $? > {rc}", env)
    try:
        screen = term.wait_for("episode 1 of 2")
        assert "How likely is each answer to be correct?" in screen and "Debater A  round 1" in screen
        # A key that follows a focus move too closely can reach the widget focused before it (Textual bubbles a
        # key up from the focused widget before acting on it): pause after each move, as a person does.
        term.keys("Tab", "Tab")  # answer A's number field
        time.sleep(1.0)
        term.keys("7", "0", "Enter")
        term.wait_for("70.0%")
        term.keys("Escape")  # back to the transcript,
        time.sleep(1.0)
        term.keys("BTab")  # then backwards round to the rationale box
        time.sleep(1.0)
        term.keys("typed in tmux")
        term.wait_for("typed in tmux")
        term.keys("C-s")  # submit
        term.wait_for("episode 2 of 2")
        term.keys("q")
        assert exit_status(rc) == "0"
    finally:
        term.close()
    (line,) = (run / JUDGMENTS_FILE).read_text().splitlines()
    judged = [e for e in iter_episodes(run) if not e.final.pending]
    assert len(judged) == 1
    j = judged[0].final
    assert j.rationale == "typed in tmux" and j.meta["human"]["judge_id"] == "alice"
    assert j.probabilities[j.provenance.order_shown[0]] == 0.7 and j.meta["human"]["seconds"] > 0
