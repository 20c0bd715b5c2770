"""`oversight view` on a 10,000-episode scripted run, driven by Textual's headless pilot at 80x24."""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from pathlib import Path

import pytest
from tui_support import screen_lines, screen_text, settle
from viewer_runs import base_run, scale_run

from oversight.cli import main
from oversight.episode_index import Status, status_of
from oversight.store import EPISODES_FILE, StoreError, iter_episodes
from oversight.tasks import load_task
from oversight.tui.questions import RunQuestions
from oversight.tui.viewer import ViewerApp

pytestmark = pytest.mark.timeout(300)
N = 10_000


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("viewer")
    base = base_run(root / "base")
    return base, scale_run(base, root / "big" / "r10k", N)


@pytest.fixture(scope="module")
def big(runs: tuple[Path, Path]) -> Path:
    return runs[1]


@pytest.fixture(scope="module")
def statuses(big: Path) -> Counter[Status]:
    """Each status's count, from a full parse of every episode (independent of the index)."""
    out: Counter[Status] = Counter()
    for ep in iter_episodes(big, seen=False):
        final = ep.final
        out[
            status_of(
                correct=ep.correct, scorable=ep.scorable, error_type=ep.error_type, judged=bool(final and final.valid)
            )
        ] += 1
    return out


def status_line(app: ViewerApp) -> str:
    return screen_lines(app)[-2]


async def test_list_opens_indexes_and_filters_by_status_with_the_keyboard(big: Path, statuses: Counter[Status]):
    app = ViewerApp(big)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert f"{N:,} of {N:,} episodes" in status_line(app)
        lines = screen_lines(app)
        assert lines[3].split() == ["status", "protocol", "judge", "task", "question", "tokens"]
        assert lines[4].split()[2:4] == ["debate-2r", "coin"]
        tokens = f"{app.index.rows[0].tokens:,}"
        assert lines[3].index("tokens") + len("tokens") == lines[4].index(tokens) + len(tokens)  # aligned
        await pilot.press("f", "enter", *"inv", "enter")  # the status selector, type to find "invalid"
        await settle(pilot)
        want = statuses[Status.INVALID]
        assert 0 < want < N
        assert f"{want:,} of {N:,} episodes" in status_line(app)
        table = app.list_screen.table
        assert {app.index.rows[i].status for i in table.shown} == {Status.INVALID}
        rows = screen_lines(app)[4:20]
        assert rows and all(r.startswith("? invalid") for r in rows)
        await pilot.press("c")  # clear
        await settle(pilot)
        assert f"{N:,} of {N:,} episodes" in status_line(app)


async def test_text_search_finds_what_the_transcripts_say(big: Path):
    phrase = "it ALSO says <quote>the records were sealed in 1957"
    want = sum(any(phrase.lower() in t.content.lower() for t in ep.turns) for ep in iter_episodes(big, seen=False))
    app = ViewerApp(big)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *phrase, "enter")
        await settle(pilot)
        assert 0 < want < N
        assert f"{want:,} of {N:,} episodes" in status_line(app)
        assert app.focused is app.list_screen.table


async def test_episode_screen_shows_transcript_context_judgments_and_details(big: Path):
    app = ViewerApp(big)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        row = app.list_screen.table.current
        assert row is not None
        episode = app.index.episode(row)
        question = next(q for q in load_task("gen/hidden-passage", n=10, seed=0).questions if q.id == row.question_id)
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(app)
        assert "episode 1 of 10,000" in text and row.status.value in text
        assert question.text in text
        assert "Debater A" in text and "\u2713\u201c" in text and "\u2717\u201c" in text  # verified and not
        await pilot.press("m")  # the messages the first turn saw, read from the pool
        await settle(pilot)
        assert "what this turn saw: 2 messages" in screen_text(app)
        assert "You are one of two debaters in a debate" in screen_text(app)
        await pilot.press("2")
        await settle(pilot)
        assert question.context is not None and question.context.split("\n")[0][:60] in screen_text(app)
        await pilot.press("3")
        await settle(pilot)
        text = screen_text(app)
        assert "final judgment" in text and "provenance" in text and "gen/hidden-passage@" in text
        await pilot.press("4")
        await settle(pilot)
        text = screen_text(app)
        assert episode.id in text and f"{episode.tokens:,}" in text
        await pilot.press("n")
        await settle(pilot)
        assert "episode 2 of 10,000" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.list_screen and app.list_screen.table.cursor == 1


async def test_help_lists_the_keys_of_the_screen(big: Path):
    app = ViewerApp(big)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        text = screen_text(app)
        assert "Episodes \u2014 keys" in text and "open episode" in text and "clear filters" in text
        await pilot.press("escape")
        assert "Episodes \u2014 keys" not in screen_text(app)


async def test_a_terminal_smaller_than_80x24_gets_a_message_until_it_grows(runs: tuple[Path, Path]):
    app = ViewerApp(runs[0])
    async with app.run_test(size=(70, 20)) as pilot:
        await settle(pilot)
        assert "This terminal is 70x20; oversight needs at least 80x24." in screen_text(app)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert "of 120 episodes" in screen_text(app) and app.screen is app.list_screen


async def test_a_torn_last_line_is_reported_not_fatal(runs: tuple[Path, Path], tmp_path: Path):
    run = tmp_path / "run"
    shutil.copytree(runs[0], run)
    path = run / EPISODES_FILE
    path.write_bytes(path.read_bytes()[:-30])
    app = ViewerApp(run)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "119 of 119 episodes" in text
        assert "line 120 is incomplete" in text.replace("\n", " ")


def test_a_dir_that_is_not_a_run_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(StoreError, match="not a run directory"):
        ViewerApp(tmp_path)
    assert main(["view", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"oversight: error: {tmp_path}: not a run directory (no spec.json)"


def test_the_viewer_needs_a_terminal(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]):
    assert main(["view", str(runs[0])]) == 2  # pytest's stdin is not a TTY
    assert "needs an interactive terminal" in capsys.readouterr().err


async def test_a_tab_chosen_while_the_question_loads_stays_open(runs: tuple[Path, Path], monkeypatch):
    gate = threading.Event()
    load = RunQuestions.load

    def held_load(self: RunQuestions) -> None:  # the real load, once the test has switched tabs
        gate.wait(30)
        load(self)

    monkeypatch.setattr(RunQuestions, "load", held_load)
    app = ViewerApp(runs[0])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter", "3")
        for _ in range(200):  # bounded: the tab switch may take a few frames on a busy machine
            if "final judgment" in screen_text(app):
                break
            await pilot.pause(0.05)
        assert not app.questions.loaded and "final judgment" in screen_text(app)
        gate.set()
        await settle(pilot)
        assert app.questions.loaded and "final judgment" in screen_text(app)
        await pilot.press("1")
        assert "(loading the question text" not in screen_text(app)


async def test_a_run_without_episodes_says_so(runs: tuple[Path, Path], tmp_path: Path):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(runs[0] / "spec.json", run / "spec.json")
    app = ViewerApp(run)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # nothing to open
        text = screen_text(app)
        assert "0 of 0 episodes" in text and "this run has no finished episodes yet" in text
        assert app.screen is app.list_screen


@pytest.mark.parametrize("spec", ["[1, 2]", '{"spec": 5}', "{not json"])
def test_a_strange_spec_is_a_clear_error_or_a_plain_run(tmp_path: Path, spec: str, capsys: pytest.CaptureFixture[str]):
    (tmp_path / "spec.json").write_text(spec)
    if spec == '{"spec": 5}':  # a spec.json without tasks still opens (no task column, no question texts)
        assert ViewerApp(tmp_path).show_task is False
        return
    assert main(["view", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"oversight: error: {tmp_path / 'spec.json'}: ")
