"""Regenerate the SVG screenshots in docs/img/ (Textual's own SVG export, headless, 80x24).

    .venv/bin/python docs/img/make_screenshots.py

Runs examples/view.toml (scripted models, about a second) into a temporary directory, opens the viewer on it
and the judge widgets of examples/judge_widgets.py, and writes the screens used by docs/human-judging.md.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

from judge_widgets import JudgeDemo  # noqa: E402

from oversight.experiment import run_experiment  # noqa: E402
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


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = run_experiment(
            ROOT / "examples" / "view.toml", output_dir=tmp, run_id="20260101-120000-demo", cache=False, progress="off"
        )
        asyncio.run(viewer_shots(result.run_dir))
    asyncio.run(judge_shot())
    for path in sorted(OUT.glob("*.svg")):
        print(path.relative_to(ROOT), f"{path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
