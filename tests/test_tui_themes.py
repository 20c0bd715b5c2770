"""Readable in a dark and a light theme: every piece of text on the viewer's and the judge's screens has at least
a 3.5:1 contrast with the background behind it (WCAG 2 asks 3:1 for large or bold text, 4.5:1 for body text)."""

from __future__ import annotations

from pathlib import Path

import pytest
from protocol_support import Q
from test_tui_judging import Host
from tui_support import pieces, settle
from viewer_runs import base_run

from oversight.store import iter_episodes
from oversight.transcript import Transcript, make_turn
from oversight.tui.viewer import ViewerApp

pytestmark = pytest.mark.timeout(180)
MIN_CONTRAST = 3.5
SHAPES = set(
    " \n\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588\u2594\u258e\u258a\u2501\u2578\u257a\u2500\u2591\u2502"
)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return base_run(tmp_path_factory.mktemp("runs"))


def worst(svg: str) -> list[tuple[float, str]]:
    """The pieces of text below MIN_CONTRAST (scrollbars and rules aside), lowest first."""
    low = [(p.contrast, p.text) for p in pieces(svg) if set(p.text) - SHAPES and p.contrast < MIN_CONTRAST]
    return sorted(low)


@pytest.mark.parametrize("theme", ["dark", "light"])
async def test_viewer_screens_are_readable(run_dir: Path, theme: str):
    app = ViewerApp(run_dir, theme=theme)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shots = {"list": app.export_screenshot()}
        await pilot.press("question_mark")
        shots["help"] = app.export_screenshot()
        await pilot.press("escape", "enter")
        await settle(pilot)
        for key, tab in zip("1234", ("transcript", "context", "judgments", "details"), strict=True):
            await pilot.press(key)
            await settle(pilot)
            shots[tab] = app.export_screenshot()
        assert app.theme == f"textual-{theme}"
    for name, svg in shots.items():
        assert worst(svg) == [], f"{theme} {name}"


@pytest.mark.parametrize("theme", ["dark", "light"])
async def test_judge_widgets_are_readable(theme: str):
    t = Transcript(Q, context_roles={"debater_a"})
    t.add(make_turn("debater_a", "The text says <quote>Faerma Company was founded in 1926</quote>."))
    t.add(make_turn("debater_b", "It does not say <quote>it was 1936</quote>."))
    app = Host(t.view_for("judge", task="decide"))
    app._initial_theme = f"textual-{theme}"
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert worst(app.export_screenshot()) == []


async def test_t_toggles_the_theme(run_dir: Path):
    app = ViewerApp(run_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.theme == "textual-dark"
        await pilot.press("t")
        assert app.theme == "textual-light"
        await pilot.press("t")
        assert app.theme == "textual-dark"
    assert len(list(iter_episodes(run_dir, seen=False))) == 120


@pytest.mark.parametrize("theme", ["dark", "light"])
async def test_judging_screens_are_readable(tmp_path: Path, theme: str):
    from judging_support import MODEL_JUDGE, human_arun, human_spec

    from oversight.live_session import live_spec
    from oversight.tui.judge_app import JudgeApp
    from oversight.tui.live_app import LiveApp

    run = await human_arun(tmp_path, [{"human": "alice"}], n=2)
    app = JudgeApp(run, "alice", feedback=True, theme=theme)
    shots = {}
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shots["offline"] = app.export_screenshot()
        await pilot.press("tab", "tab", *"70", "enter", "tab", "tab", "tab", *"why", "ctrl+s")
        await settle(pilot)
        shots["feedback"] = app.export_screenshot()
        await pilot.press("escape", "question_mark")
        await settle(pilot)
        shots["help"] = app.export_screenshot()
    spec, who = live_spec(
        human_spec(tmp_path, [MODEL_JUDGE], n=1, protocol={"name": "debate", "rounds": 2, "interactive": True}), "lee"
    )
    live = LiveApp(spec, who, run_dir=tmp_path / "live" / "run", theme=theme)
    async with live.run_test(size=(80, 24)) as pilot:
        for _ in range(400):
            req = live.screen_live.request
            if req is not None and req.kind == "ask":
                break
            await pilot.pause(0.01)
        await pilot.pause(0.2)  # (not settle: the live run's workers wait for the person)
        shots["live-ask"] = live.export_screenshot()
    for name, svg in shots.items():
        assert worst(svg) == [], f"{theme} {name}"
