"""`oversight judge RUN --judge-id NAME` driven by Textual's headless pilot: judge episodes end to end and read the
stored records back; quit mid-judgment and resume where it stopped; two judges on one run kept apart, each in a
seeded order of its own; the judge's screen never shows the hidden context or a model name; bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from judging_support import DEBATER_MODEL, human_arun, human_run
from textual.widgets import TextArea
from tui_support import screen_text, settle

from oversight.cli import main
from oversight.comparison import compare
from oversight.judging_queue import JudgingQueue, order_key
from oversight.judgments_log import JUDGMENTS_FILE
from oversight.pending import pending_judgments
from oversight.store import EPISODES_FILE, iter_episodes
from oversight.tasks import load_task
from oversight.tui.base import TooSmallScreen
from oversight.tui.judge_app import DoneScreen, FeedbackScreen, JudgeApp, JudgingScreen

pytestmark = pytest.mark.timeout(180)


class Clock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def judge(pilot, percent_a: str, rationale: str, clock: Clock | None = None) -> None:
    """Type a percentage for answer A, a rationale, and submit (focus starts on the transcript)."""
    await pilot.press("tab", "tab", *percent_a, "enter")  # the bar of A, then A's number field
    if clock is not None:
        clock.now += 4.0
    await pilot.press("tab", "tab", "tab", *rationale)  # B's bar, B's number field, the rationale
    if clock is not None:
        clock.now += 2.5
    await pilot.press("ctrl+s")
    await settle(pilot)


def screen_of(app: JudgeApp) -> JudgingScreen:
    assert isinstance(app.screen, JudgingScreen), type(app.screen)
    return app.screen


async def test_a_judge_judges_two_episodes_and_every_record_is_stored(tmp_path: Path):
    run = await human_arun(tmp_path, [{"human": "alice"}], n=3)
    clock = Clock()
    app = JudgeApp(run, "alice", clock=clock)
    seen = []
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for percent, why in (("70", "A's quote is verified."), ("15", "B quotes the text.")):
            screen = screen_of(app)
            seen.append((screen.slot.episode_id, screen.view.order))
            assert f"episode {len(seen)} of 3" in screen_text(app)
            await judge(pilot, percent, why, clock)
        assert "episode 3 of 3" in screen_text(app)
    lines = (run / JUDGMENTS_FILE).read_text().splitlines()
    assert len(lines) == 2  # one atomic line per submit, nothing else
    episodes = {e.id: e for e in iter_episodes(run)}
    given = ((0.7, "A's quote is verified."), (0.15, "B quotes the text."))
    for (episode_id, order), (a, why) in zip(seen, given, strict=True):
        j = episodes[episode_id].final
        assert j.method == "human" and j.valid and not j.pending and j.judge == "human/alice"
        assert j.probabilities[order[0]] == pytest.approx(a) and j.probabilities[order[1]] == pytest.approx(1 - a)
        assert j.rationale == why and j.provenance.order_shown == list(order)
        human = j.meta["human"]
        assert human["judge_id"] == "alice" and human["seconds"] == pytest.approx(6.5)
        assert human["rounds_seen"] == 2 and human["ended_early"] is False and human["feedback"] is False
        assert human["session"] == "offline" and human["queue"]["of"] == 3 and human["queue"]["seed"] == 0
        start, typed = human["trajectory"]
        assert start == {"t": 0.0, "p": [0.5, 0.5], "via": "start"}
        assert typed["via"] == "typed" and typed["t"] == 0.0 and typed["p"] == j.probabilities  # by choice index
        assert episodes[episode_id].correct is (j.choice == episodes[episode_id].gold)
    assert [json.loads(x)["judgment"]["meta"]["human"]["queue"]["position"] for x in lines] == [1, 2]
    assert len(pending_judgments(run, "alice")) == 1
    row = compare(run, n_resamples=50).summary[0]  # the human counts like any judge; pending is never wrong
    assert row["n"] == 2 and row["pending"] == 1


async def test_quit_mid_judgment_then_resume_at_the_episode_left_with_nothing_lost(tmp_path: Path):
    run = await human_arun(tmp_path, [{"human": "alice"}], n=3)
    app = JudgeApp(run, "alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await judge(pilot, "80", "first one")
        second = screen_of(app).slot.episode_id
        await pilot.press("tab", "tab", *"40", "enter", "tab", "tab", "tab", *"half a thought")  # not submitted
        await pilot.press("escape", "q")  # back to the transcript, quit
        await settle(pilot)
    assert not app.is_running and app.report.saved == 1
    saved = (run / JUDGMENTS_FILE).read_text().splitlines()
    assert len(saved) == 1 and json.loads(saved[0])["judgment"]["rationale"] == "first one"

    again = JudgeApp(run, "alice")
    async with again.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = screen_of(again)
        assert screen.slot.episode_id == second and "episode 2 of 3" in screen_text(again)
        assert screen.query_one("#rationale", TextArea).text == ""  # the unsubmitted form was not kept
        await judge(pilot, "60", "second one")
        await judge(pilot, "55", "third one")
        assert isinstance(again.screen, DoneScreen) and "All 3 judgment(s) for alice are done" in screen_text(again)
    rationales = [json.loads(x)["judgment"]["rationale"] for x in (run / JUDGMENTS_FILE).read_text().splitlines()]
    assert rationales == ["first one", "second one", "third one"]
    assert pending_judgments(run, "alice") == []


async def test_two_judges_on_one_run_stay_apart_each_in_a_seeded_order_of_its_own(tmp_path: Path):
    jury = {"name": "pair", "aggregate": "mean", "jurors": [{"human": "alice"}, {"human": "bob"}]}
    run = await human_arun(tmp_path, [jury], n=6)
    alice, bob = JudgingQueue.load(run, "alice"), JudgingQueue.load(run, "bob")
    assert alice.total == bob.total == 6
    assert {s.path for s in alice.slots} == {(0, 0)} and {s.path for s in bob.slots} == {(0, 1)}
    a_order = [s.episode_id for s in alice.slots]
    b_order = [s.episode_id for s in bob.slots]
    assert sorted(a_order) == sorted(b_order) and a_order != b_order  # same episodes, orders of their own
    assert a_order == sorted(a_order, key=lambda e: order_key("alice", 0, e, (0, 0)))
    assert [s.episode_id for s in JudgingQueue.load(run, "alice").slots] == a_order  # stable across loads
    assert [s.episode_id for s in JudgingQueue.load(run, "alice", seed=1).slots] != a_order

    app = JudgeApp(run, "alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert screen_of(app).slot.episode_id == a_order[0]
        await judge(pilot, "90", "alice says A")
    assert JudgingQueue.load(run, "alice").judged == 1 and JudgingQueue.load(run, "bob").judged == 0
    ep = next(e for e in iter_episodes(run) if e.id == a_order[0])
    assert ep.final.pending and ep.final.jury.pending == 1  # the jury waits for bob
    assert ep.final.parts[0].meta["human"]["judge_id"] == "alice" and ep.final.parts[1].pending

    app = JudgeApp(run, "bob")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert screen_of(app).slot.episode_id == b_order[0] and "episode 1 of 6" in screen_text(app)
        for _ in range(6):
            await judge(pilot, "50", "bob is unsure")
    done = next(e for e in iter_episodes(run) if e.id == a_order[0])
    assert not done.final.pending and done.final.method == "jury" and done.correct is not None
    assert [p.meta["human"]["judge_id"] for p in done.final.parts] == ["alice", "bob"]
    assert JudgingQueue.load(run, "bob").current() is None


async def test_the_judges_screen_never_shows_the_hidden_context_or_a_model_name(tmp_path: Path):
    run = await human_arun(tmp_path, [{"human": "alice"}], n=2)
    questions = {q.id: q for q in load_task("gen/hidden-passage", n=2).questions}
    app = JudgeApp(run, "alice")
    async with app.run_test(size=(80, 90)) as pilot:  # tall: the whole transcript on one screen
        await settle(pilot)
        screen = screen_of(app)
        text = screen_text(app)
        episode = screen.pending.episode
    q = questions[episode.question_id]
    assert q.text in " ".join(text.split()) and all(c in text for c in episode.choices)
    assert text.count("Debater A  round") == 2 and text.count("Debater B  round") == 2
    assert "\u2713\u201c" in text and "\u2717\u201c" in text  # quotes verified and not
    for sentence in re.split(r"(?<=\.)\s+", q.context or ""):
        if len(sentence.split()) > 6:  # the debaters quote six words of it at most
            assert sentence not in " ".join(text.split())
    for leak in (DEBATER_MODEL, "scripted", "secret", "latency", " tok", "cached", run.name, "hj"):
        assert leak not in text
    assert all(t.model == DEBATER_MODEL for t in episode.turns if t.role.startswith("debater"))


async def test_feedback_shows_the_correct_answer_after_each_judgment_and_is_recorded(tmp_path: Path):
    run = await human_arun(tmp_path, [{"human": "alice"}], n=2)
    app = JudgeApp(run, "alice", feedback=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = screen_of(app)
        episode, view = screen.pending.episode, screen.view
        await judge(pilot, "70", "A it is")
        assert isinstance(app.screen, FeedbackScreen)
        letter = view.letter_of(episode.gold)
        given = 70 if letter == "A" else 30
        assert f"The correct answer was {letter}: {episode.choices[episode.gold]}. You gave it {given}%." in " ".join(
            screen_text(app).split()
        )
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, JudgingScreen) and "episode 2 of 2" in screen_text(app)
    j = next(e for e in iter_episodes(run) if e.id == episode.id).final
    assert j.meta["human"]["feedback"] is True


async def test_below_80x24_a_message_instead_of_the_screen_and_nothing_is_written(tmp_path: Path):
    run = await human_arun(tmp_path, [{"human": "alice"}], n=1)
    app = JudgeApp(run, "alice")
    async with app.run_test(size=(70, 20)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TooSmallScreen) and "needs at least 80x24" in screen_text(app)
        await pilot.press("ctrl+s")
        await settle(pilot)
    assert not (run / JUDGMENTS_FILE).exists()


def test_bad_input_gets_one_clear_line_and_nothing_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["judge", str(tmp_path), "--judge-id", "alice"]) == 2
    assert "not a run directory" in capsys.readouterr().err
    run = human_run(tmp_path / "runs", [{"human": "alice"}], n=2)
    assert main(["judge", str(run), "--judge-id", "../alice"]) == 2
    assert "--judge-id: human judge id '../alice'" in capsys.readouterr().err
    assert main(["judge", str(run)]) == 2
    assert "--judge-id NAME" in capsys.readouterr().err
    assert main(["judge", str(run), "--judge-id", "alcie"]) == 1
    err = capsys.readouterr().err
    assert "nothing in" in err and "waiting for: alice (2)" in err and "oversight rejudge" in err
    assert main(["judge", str(run), "--judge-id", "alice"]) == 2  # pytest's stdin is not a terminal
    assert "needs an interactive terminal" in capsys.readouterr().err
    assert main(["judge", str(run), "--judge-id", "alice", "--min-rounds", "1"]) == 2
    assert "--min-rounds is for live sessions" in capsys.readouterr().err
    assert not (run / JUDGMENTS_FILE).exists()


def test_a_torn_last_line_is_left_out_of_the_queue_with_a_notice(tmp_path: Path):
    run = human_run(tmp_path, [{"human": "alice"}], n=3)
    path = run / EPISODES_FILE
    data = path.read_bytes()
    path.write_bytes(data[:-30])  # a crash mid-write of the last episode
    q = JudgingQueue.load(run, "alice")
    assert q.total == 2 and q.notice is not None and "incomplete" in q.notice
    corrupt = run / JUDGMENTS_FILE
    corrupt.write_text('{"not": "a judgment"}\n{"episode": "x", "path": [0], "judgment": {"judge": "j"}}\n')
    with pytest.raises(Exception, match=r"judgments.jsonl:1: corrupt judgment line"):
        JudgingQueue.load(run, "alice")


def test_the_judging_examples_run_offline_and_live(tmp_path: Path):
    from oversight.experiment import Experiment, run_experiment
    from oversight.live_session import live_spec

    examples = Path(__file__).resolve().parent.parent / "examples"
    result = run_experiment(examples / "judging.toml", output_dir=tmp_path, cache=False, progress="off")
    assert result.status == "complete" and result.summary["results"][0]["pending"] == 6
    queue = JudgingQueue.load(result.run_dir, "alice")
    assert queue.total == 12 and queue.judged == 0
    spec, who = live_spec(Experiment.from_file(examples / "live.toml"), None)
    assert who == "you" and spec.protocols[0].config["judge"] == {"min_rounds": 1} and spec.concurrency == 1


def test_two_sessions_of_one_judge_never_judge_a_slot_twice(tmp_path: Path):
    run = human_run(tmp_path, [{"human": "alice"}], n=2)
    one, two = JudgingQueue.load(run, "alice"), JudgingQueue.load(run, "alice")
    first = one.current()
    one.submit(first, [0.5, 0.5], rationale="one")
    stale = two.current()
    assert stale.episode_id == first.episode_id
    size = (run / JUDGMENTS_FILE).stat().st_size
    with pytest.raises(ValueError, match="not pending"):
        two.submit(stale, [0.9, 0.1], rationale="two")
    assert (run / JUDGMENTS_FILE).stat().st_size == size and stale.judged  # nothing written; marked judged
    assert two.current() is not None and two.current().episode_id != first.episode_id


async def test_the_viewer_lists_pending_episodes_and_says_whom_they_wait_for(tmp_path: Path):
    from oversight.tui.episode_screen import EpisodeScreen
    from oversight.tui.viewer import ViewerApp

    run = await human_arun(tmp_path, [{"human": "alice"}], n=2)
    app = JudgeApp(run, "alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        judged = screen_of(app).slot.episode_id
        await judge(pilot, "80", "judged in the test")
    viewer = ViewerApp(run)
    async with viewer.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(viewer)
        assert "\u2026 pending" in text and ("\u2713 correct" in text or "\u2717 incorrect" in text)
        rows = viewer.index.rows
        pending_at = next(i for i, r in enumerate(rows) if r.id != judged)
        for at, want in ((pending_at, "waiting for human judge alice"), (1 - pending_at, "human alice")):
            viewer.push_screen(EpisodeScreen(viewer, [0, 1], at))
            await settle(pilot)
            await pilot.press("3")
            await settle(pilot)
            assert want in screen_text(viewer)
            await pilot.press("escape")
            await settle(pilot)
