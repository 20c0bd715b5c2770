"""A live session against real debaters (SmolLM2-135M on llama.cpp; needs `oversight[local]`), driven by Textual's
pilot: the person's question reaches the debaters' prompts, the speeches arrive on the judge's screen without
model names, and the decision is stored with the episode."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from oversight.experiment import Experiment
from oversight.live_session import live_spec
from oversight.store import iter_episodes
from oversight.tui.live_app import LiveApp

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

LOCAL = "local/smollm2-135m"
QUESTION = "Which sentence of the text names the founder?"


async def until(pilot, cond, what: str, seconds: float = 600.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"never happened: {what}")


async def test_a_live_interactive_debate_between_local_debaters(tmp_path: Path):
    spec = Experiment.from_dict(
        {
            "name": "live-local",
            "tasks": [{"dataset": "gen/hidden-passage", "n": 1, "options": {"difficulty": 1}}],
            "protocols": [{"name": "debate", "rounds": 2, "interactive": True, "word_limit": 25}],
            "roles": {"debater": {"model": LOCAL, "temperature": 0.0, "options": {"n_threads": 1}}},
            "judges": [{"human": "tess"}],
            "cache": False,
        }
    )
    spec, judge_id = live_spec(spec, None)
    app = LiveApp(spec, judge_id, run_dir=tmp_path / "live-local" / "run")
    start = time.perf_counter()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen_live

        def pending(kind: str) -> bool:
            r = screen.request
            return r is not None and r.kind == kind and not r.answered

        await until(pilot, lambda: pending("ask"), "the question after round 1")
        assert {a["speaker"] for a in screen.arrivals} == {"Debater A", "Debater B"}
        await pilot.press(*QUESTION, "enter")
        await until(pilot, lambda: pending("decide"), "the decision")
        transcript = screen.view.transcript if screen.view else ""
        assert LOCAL not in transcript and "smollm" not in transcript.lower()
        screen.query_one("#transcript").focus()
        await pilot.press("tab", "tab", *"60", "enter", "tab", "tab", "tab", *"B quoted less.", "ctrl+s")
        await until(pilot, lambda: not pilot.app.is_running or app.run_status == "complete", "the end of the run")
    wall = time.perf_counter() - start
    (ep,) = list(iter_episodes(app.run_dir))
    print(f"\nlive local debate: {len(ep.turns)} turns, {ep.tokens} tokens, {wall:.0f}s")
    assert ep.error is None and ep.final.method == "human" and ep.final.rationale == "B quoted less."
    asked = [t for t in ep.turns if t.kind == "question"]
    assert [t.content for t in asked] == [QUESTION]
    second_round = [t for t in ep.turns if t.role.startswith("debater") and t.round == 1]
    assert second_round and all(QUESTION in "\n".join(m.content for m in t.seen or []) for t in second_round)
    assert {t.model for t in ep.turns if t.role.startswith("debater")} == {LOCAL}
