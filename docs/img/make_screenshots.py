"""Regenerate the SVG screenshots in docs/img/ (Textual's own SVG export, headless, 80x24).

    .venv/bin/python docs/img/make_screenshots.py

Runs examples/view.toml (scripted models, about a second) into a temporary directory, opens the viewer on it
and the judge widgets of examples/judge_widgets.py; runs examples/judging.toml and judges it offline; runs
examples/live.toml live with its debaters scripted (each speech takes 0.6 s); and writes the screens used by
docs/human-judging.md.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

from judge_widgets import JudgeDemo  # noqa: E402

from oversight.experiment import Experiment, run_experiment  # noqa: E402
from oversight.live_session import live_spec  # noqa: E402
from oversight.tui.judge_app import JudgeApp  # noqa: E402
from oversight.tui.live_app import LiveApp  # noqa: E402
from oversight.tui.viewer import ViewerApp  # noqa: E402

OUT = Path(__file__).resolve().parent


async def settle(app: object, pilot: object) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]


async def viewer_shots(run_dir: Path) -> None:
    for theme in ("dark", "light"):
        app = ViewerApp(run_dir, theme=theme)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            suffix = "" if theme == "dark" else "-light"
            (OUT / f"viewer-list{suffix}.svg").write_text(app.export_screenshot(title="oversight view"))
            if theme == "light":
                continue
            await pilot.press("f", "enter", *"inc", "enter")  # status: incorrect
            await settle(app, pilot)
            (OUT / "viewer-list-filtered.svg").write_text(app.export_screenshot(title="oversight view"))
            await pilot.press("enter")
            await settle(app, pilot)
            await pilot.press("j")
            await settle(app, pilot)
            (OUT / "viewer-episode.svg").write_text(app.export_screenshot(title="oversight view"))
            await pilot.press("m")
            await settle(app, pilot)
            (OUT / "viewer-seen.svg").write_text(app.export_screenshot(title="oversight view"))
            await pilot.press("3")
            await settle(app, pilot)
            (OUT / "viewer-judgments.svg").write_text(app.export_screenshot(title="oversight view"))
            await pilot.press("question_mark")
            await settle(app, pilot)
            (OUT / "viewer-help.svg").write_text(app.export_screenshot(title="oversight view"))


async def judge_shot() -> None:
    app = JudgeDemo()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("tab", "right", "right", "shift+right", "tab", "tab", "tab", "tab")
        await pilot.press(*"Debater A's quote is in the text; B's is not.")
        await settle(app, pilot)
        (OUT / "judge-widgets.svg").write_text(app.export_screenshot(title="judge widgets (examples/judge_widgets.py)"))


async def judging_shots(run_dir: Path) -> None:
    for theme in ("dark", "light"):
        app = JudgeApp(run_dir, "alice", feedback=True, theme=theme)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await pilot.press("tab", "tab", *"70", "enter", "tab", "tab", "tab")
            await pilot.press(*"A's quote is verified; B's is not in the text.")
            await settle(app, pilot)
            suffix = "" if theme == "dark" else "-light"
            (OUT / f"judge-offline{suffix}.svg").write_text(app.export_screenshot(title="oversight judge"))
            if theme == "light":
                continue
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            (OUT / "judge-feedback.svg").write_text(app.export_screenshot(title="oversight judge --feedback"))
            await pilot.press("enter", "f1")
            await settle(app, pilot)
            (OUT / "judge-help.svg").write_text(app.export_screenshot(title="oversight judge"))


async def until(pilot: object, cond: object, what: str) -> None:
    for _ in range(3000):  # the live run's workers wait for the person: poll instead of waiting for them
        if cond():  # type: ignore[operator]
            return
        await pilot.pause(0.01)  # type: ignore[attr-defined]
    raise RuntimeError(f"never happened: {what}")


async def live_shots(root: Path) -> None:
    data = Experiment.from_file(ROOT / "examples" / "live.toml").model_dump()
    fn = "oversight.experiment.demo_scripts:quoting_speaker"
    data["roles"]["debater"] = {"model": "scripted/quoting-debater", "options": {"fn": fn, "delay": 0.6}}
    data["tasks"][0]["n"] = 1
    data["cache"] = False  # (a cached speech would arrive at once)
    spec, judge_id = live_spec(Experiment.from_dict(data), None)
    app = LiveApp(spec, judge_id, run_dir=root / "live" / "20260101-120000-live")
    async with app.run_test(size=(80, 24)) as pilot:

        def request(kind: str) -> bool:
            r = app.screen_live.request
            return r is not None and r.kind == kind and not r.answered

        live = app.screen_live
        await until(pilot, lambda: bool(live.arrivals) and bool(live.waiting), "a speech shown, the next being made")
        await pilot.pause(0.1)
        (OUT / "judge-live-waiting.svg").write_text(app.export_screenshot(title="oversight judge --live"))
        await until(pilot, lambda: request("ask"), "the first question")
        await pilot.press(*"Where exactly does the text say that?")
        await pilot.pause(0.1)
        (OUT / "judge-live-ask.svg").write_text(app.export_screenshot(title="oversight judge --live"))
        await pilot.press("enter")
        await until(pilot, lambda: request("ask"), "the second question")
        await pilot.press("ctrl+e")
        await until(pilot, lambda: request("decide"), "the decision")
        app.screen_live.query_one("#transcript").focus()
        await pilot.press("tab", "tab", *"35", "enter", "tab", "tab", "tab", *"B answered my question with a quote.")
        await pilot.pause(0.1)
        (OUT / "judge-live-decide.svg").write_text(app.export_screenshot(title="oversight judge --live"))
        await pilot.press("ctrl+s", "ctrl+q")
        await until(pilot, lambda: not app.is_running, "the end")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = run_experiment(
            ROOT / "examples" / "view.toml", output_dir=tmp, run_id="20260101-120000-demo", cache=False, progress="off"
        )
        asyncio.run(viewer_shots(result.run_dir))
        judging = run_experiment(
            ROOT / "examples" / "judging.toml", output_dir=tmp, run_id="20260101-120000-judge", cache=False,
            progress="off",
        )  # fmt: skip
        asyncio.run(judging_shots(judging.run_dir))
        asyncio.run(live_shots(Path(tmp)))
    asyncio.run(judge_shot())
    for path in sorted(OUT.glob("*.svg")):
        print(path.relative_to(ROOT), f"{path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
