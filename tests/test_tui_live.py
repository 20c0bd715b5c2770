"""`oversight judge --live SPEC` driven by Textual's headless pilot against scripted debaters: the person watches
the turns arrive, types a question between rounds, may end the debate after its minimum rounds, and decides; the
stored episodes record it all. Quitting keeps every decision given, and the run resumes where it stopped."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from judging_support import DEBATER_MODEL, MODEL_JUDGE, human_spec
from tui_support import screen_text

from oversight.cli import main
from oversight.experiment.runner import resume_spec
from oversight.experiment.spec import SpecError
from oversight.live_session import EpisodeStarted, LiveWatcher, TurnsShown, Waiting, live_spec
from oversight.store import SUMMARY_FILE, iter_episodes, read_json
from oversight.tasks import load_task
from oversight.transcript import END_TURN, Transcript, make_turn, watch_transcripts
from oversight.tui.judge_app import FeedbackScreen
from oversight.tui.live_app import DoneScreen, LiveApp, LiveScreen

pytestmark = pytest.mark.timeout(180)


async def until(pilot, cond: Callable[[], bool], what: str, tries: int = 400) -> None:
    """Let the app run until `cond()` holds (bounded: `tries` pauses of the pilot)."""
    for _ in range(tries):
        if cond():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"never happened: {what}; the screen:\n{screen_text(pilot.app)}")


def live(app: LiveApp) -> LiveScreen:
    return app.screen_live


def asking(app: LiveApp) -> bool:
    req = live(app).request
    return req is not None and req.kind == "ask" and not req.answered


def deciding(app: LiveApp) -> bool:
    req = live(app).request
    return req is not None and req.kind == "decide" and not req.answered


async def decide(pilot, app: LiveApp, percent_a: str, rationale: str) -> None:
    await until(pilot, lambda: deciding(app), "the decision request")
    request = live(app).request
    live(app).query_one("#transcript").focus()
    await pilot.press("tab", "tab", *percent_a, "enter", "tab", "tab", "tab", *rationale, "ctrl+s")
    await until(pilot, lambda: request.answered, "the decision taken")


def new_app(tmp_path: Path, protocol: dict, *, n: int = 2, min_rounds: int | None = None, **kw) -> LiveApp:
    spec, judge_id = live_spec(
        human_spec(tmp_path, [MODEL_JUDGE], n=n, protocol=protocol), "lee", min_rounds=min_rounds
    )
    return LiveApp(spec, judge_id, run_dir=tmp_path / spec.name / "live-1", **kw)


async def test_a_live_debate_with_a_question_typed_between_rounds(tmp_path: Path):
    app = new_app(tmp_path, {"name": "debate", "rounds": 2, "interactive": True})
    async with app.run_test(size=(80, 24)) as pilot:
        for k, text in enumerate(("Which line says that?", "Who wrote the record?")):
            await until(pilot, lambda: asking(app), "the question request")
            screen = screen_text(app)
            assert f"episode {k + 1} of 2" in screen and "Your turn: type a question (enter sends it)" in screen
            assert "Debater A  round 1" in screen or "Debater B  round 1" in screen
            assert "ctrl+e" not in screen.splitlines()[1]  # no minimum rounds set: it cannot be ended early
            await pilot.press(*text, "enter")
            await decide(pilot, app, "65", f"decided {k}")
        await until(pilot, lambda: isinstance(app.screen, DoneScreen), "the end of the run")
        assert "The session is over (complete): 2 decision(s)" in screen_text(app)
    assert app.report.status == "complete" and app.report.judged == 2
    episodes = list(iter_episodes(app.run_dir))
    assert len(episodes) == 2
    for ep, text in zip(episodes, ("Which line says that?", "Who wrote the record?"), strict=True):
        asked = [t for t in ep.turns if t.kind == "question"]
        assert [t.content for t in asked] == [text] and asked[0].role == "judge" and asked[0].round == 0
        j = ep.final
        assert j.method == "human" and j.judge == "human/lee" and j.valid and ep.correct is not None
        order = j.provenance.order_shown
        assert j.probabilities[order[0]] == pytest.approx(0.65)
        human = j.meta["human"]
        assert human["rounds_seen"] == 2 and human["ended_early"] is False and human["session"] == "live"
        assert human["feedback"] is False and human["decide_seconds"] >= 0 and human["seconds"] >= 0
        assert [a["speaker"] for a in human["arrivals"]].count("Judge") == 1  # the person's question, as it arrived
        assert {a["speaker"] for a in human["arrivals"]} == {"Debater A", "Debater B", "Judge"}
        assert all(a["round"] in (1, 2) for a in human["arrivals"])
        assert human["trajectory"][0]["via"] == "start" and human["trajectory"][-1]["p"] == j.probabilities


async def test_the_judge_ends_the_debate_after_its_minimum_rounds(tmp_path: Path):
    app = new_app(tmp_path, {"name": "debate", "rounds": 3, "interactive": True}, n=1, min_rounds=1, feedback=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: asking(app), "the question request")
        assert "ctrl+e ends the debate" in screen_text(app)
        await pilot.press("ctrl+e")
        await decide(pilot, app, "30", "enough")
        await until(pilot, lambda: isinstance(app.screen, FeedbackScreen), "the feedback")
        ep_gold_text = screen_text(app)
        assert "The correct answer was" in ep_gold_text
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DoneScreen), "the end of the run")
    (ep,) = list(iter_episodes(app.run_dir))
    assert {t.round for t in ep.turns if t.role.startswith("debater")} == {0}
    assert [t.kind for t in ep.turns if t.role == "judge"][:1] == [END_TURN]
    human = ep.final.meta["human"]
    assert human["ended_early"] is True and human["rounds_seen"] == 1 and human["feedback"] is True
    assert ep.protocol_config["judge"]["min_rounds"] == 1  # recorded in the run's config


async def test_quit_keeps_every_decision_given_and_the_run_resumes(tmp_path: Path):
    app = new_app(tmp_path, {"name": "consultancy", "rounds": 2, "interactive": True}, n=2)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: asking(app), "the first question request")
        await pilot.press(*"Is that in the text?", "enter")
        await decide(pilot, app, "20", "first")
        await until(pilot, lambda: asking(app) and "episode 2 of 2" in screen_text(app), "the second episode")
        await pilot.press("ctrl+q")  # (q would type into the question box)
        await until(pilot, lambda: not app.is_running, "the app closing", tries=2000)
    assert app.report.status == "interrupted" and app.report.judged == 1
    assert [e.final.rationale for e in iter_episodes(app.run_dir)] == ["first"]
    assert read_json(app.run_dir / SUMMARY_FILE)["status"] == "interrupted"

    spec, judge_id = live_spec(resume_spec(app.run_dir), None)  # the run's human judge, from its spec
    again = LiveApp(spec, judge_id, run_dir=app.run_dir, resume=True)
    async with again.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: asking(again), "the resumed episode")
        assert "episode 2 of 2" in screen_text(again)
        await pilot.press(*"And the second?", "enter")
        await decide(pilot, again, "75", "second")
        await until(pilot, lambda: isinstance(again.screen, DoneScreen), "the end of the run")
    assert again.report.status == "complete"
    assert [e.final.rationale for e in iter_episodes(app.run_dir)] == ["first", "second"]


async def test_quitting_right_after_a_decision_waits_for_it_to_be_stored(tmp_path: Path):
    app = new_app(tmp_path, {"name": "debate", "rounds": 1}, n=2)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: deciding(app), "the decision request")
        live(app).query_one("#transcript").focus()
        await pilot.press("tab", "tab", *"90", "enter", "tab", "tab", "tab", *"sure", "ctrl+s", "ctrl+q")
        await until(pilot, lambda: not app.is_running, "the app closing", tries=2000)
    assert app.report.judged == 1 and app.report.status == "interrupted"
    assert [e.final.rationale for e in iter_episodes(app.run_dir)] == ["sure"]


async def test_while_a_speaker_is_at_work_the_screen_says_whom_it_waits_for_and_no_timing(tmp_path: Path):
    spec, who = live_spec(
        human_spec(tmp_path, [MODEL_JUDGE], n=1, protocol={"name": "debate", "rounds": 1}, delay=0.4), "lee"
    )
    app = LiveApp(spec, who, run_dir=tmp_path / spec.name / "slow")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "waiting for Debater" in screen_text(app), "a waiting line")
        status = screen_text(app).splitlines()[1].strip()
        assert status in ("waiting for Debater A\u2026", "waiting for Debater B\u2026")
        first = status[len("waiting for ") : -1]
        other = "Debater B" if first == "Debater A" else "Debater A"
        # The first speech is on screen while the second is made: both on one frame (the status line can be
        # painted a frame before the transcript's new height is laid out, so each is not checked on its own).
        await until(
            pilot,
            lambda: f"waiting for {other}" in (text := screen_text(app)) and f"{first}  round 1" in text,
            "the first speech on screen while the second speaker is at work",
        )
        await until(pilot, lambda: deciding(app), "the decision request")
        assert not re.search(r"\d+(\.\d+)?\s?(s|sec|ms)\b", screen_text(app))  # no timing anywhere


async def test_the_live_screen_never_shows_the_hidden_context_or_a_model_name(tmp_path: Path):
    app = new_app(tmp_path, {"name": "debate", "rounds": 2}, n=1)
    async with app.run_test(size=(80, 90)) as pilot:
        await until(pilot, lambda: deciding(app), "the decision request")
        text = screen_text(app)
    (q,) = load_task("gen/hidden-passage", n=1).questions
    assert q.text in " ".join(text.split()) and "\u2713\u201c" in text and "\u2717\u201c" in text
    for sentence in (q.context or "").split(". "):
        if len(sentence.split()) > 6:
            assert sentence not in " ".join(text.split())
    for leak in (DEBATER_MODEL, "scripted", "latency", " tok", "cached"):
        assert leak not in text


def test_the_watcher_says_whom_the_debate_waits_for_and_shows_only_the_judges_view():
    from protocol_support import Q

    events: list = []
    with watch_transcripts(LiveWatcher(events.append)):
        t = Transcript(Q, context_roles={"debater_a", "debater_b"})
        t.view_for("debater_a")
        t.view_for("debater_b")
        t.add(make_turn("debater_a", "It says 1926.", model="scripted/hidden"))
        t.view_for("judge", task="decide")  # the judge's own turn: a request on its channel, not "waiting"
        t.add(make_turn("debater_b", "No."), visible=False)
    started, *rest = events
    assert isinstance(started, EpisodeStarted) and started.view.context is None and started.gold == 0
    assert [e.names for e in rest if isinstance(e, Waiting)] == [("Debater A",), ("Debater A", "Debater B"),
                                                                  ("Debater B",), ()]  # fmt: skip
    shown = [e for e in rest if isinstance(e, TurnsShown)]
    assert len(shown) == 1 and shown[0].arrivals == (("Debater A", 1, "speech"),)
    assert (
        shown[0].view.role == "judge" and shown[0].view.context is None and "It says 1926." in shown[0].view.transcript
    )
    t2 = Transcript(Q)  # outside the block: nothing is watched
    t2.add(make_turn("debater_a", "x"))
    assert len(events) == len([started, *rest])


def test_specs_that_cannot_be_judged_live_are_refused_naming_the_problem(tmp_path: Path):
    def problems(protocol: dict, judges: list, judge_id: str | None, **kw) -> str:
        with pytest.raises(SpecError) as err:
            live_spec(human_spec(tmp_path, judges, protocol=protocol), judge_id, **kw)
        return str(err.value)

    assert "protocol 'mad' cannot be judged live" in problems({"name": "mad"}, [MODEL_JUDGE], "lee")
    assert "expert tier" in problems({"name": "direct", "tier": "expert"}, [MODEL_JUDGE], "lee")
    assert "give your judge id" in problems({"name": "direct"}, [MODEL_JUDGE], None)
    two = [{"human": "ann"}, {"human": "bob"}]
    assert "this spec's human judges: ann, bob" in problems({"name": "direct"}, two, None)
    assert "'cy' is not among this spec's human judges" in problems({"name": "direct"}, two, "cy")
    assert "no interactive debate" in problems({"name": "debate"}, [MODEL_JUDGE], "lee", min_rounds=1)
    spec, who = live_spec(human_spec(tmp_path, two, protocol={"name": "direct"}), "bob")
    assert who == "bob" and spec.concurrency == 1 and [j.human for j in spec.judges] == ["ann", "bob"]
    spec, who = live_spec(human_spec(tmp_path, [MODEL_JUDGE]), "lee")
    assert [j.human for j in spec.judges] == ["lee"] and not spec.judges[0].model  # the person replaces it


def test_the_live_cli_refuses_bad_input_before_any_screen(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    spec_file = tmp_path / "live.json"
    spec_file.write_text(
        json.dumps(human_spec(tmp_path, [MODEL_JUDGE], protocol={"name": "mad"}).model_dump(mode="json"))
    )
    assert main(["judge", "--live", str(spec_file), "--judge-id", "lee"]) == 2
    assert "cannot be judged live" in capsys.readouterr().err
    spec_file.write_text(
        json.dumps(human_spec(tmp_path, [MODEL_JUDGE], protocol={"name": "debate"}).model_dump(mode="json"))
    )
    assert main(["judge", "--live", str(spec_file), "--judge-id", "l/ee"]) == 2
    assert "--judge-id: human judge id" in capsys.readouterr().err
    assert main(["judge", "--live", str(tmp_path), "--judge-id", "lee"]) == 2
    assert "not a run directory" in capsys.readouterr().err
    assert main(["judge", "--live", str(spec_file), "--judge-id", "lee"]) == 2  # pytest's stdin is no terminal
    assert "needs an interactive terminal" in capsys.readouterr().err
    assert not (tmp_path / "hj").exists()  # nothing was run or written
