"""The human judge's widgets on a two-round debate: the transcript exactly as a judge may see it, and the form
(a probability per answer, a rationale). Submitting prints what the form recorded; nothing is saved.

    python examples/judge_widgets.py            # ? shows the keys; ctrl+s submits; q quits
    python examples/judge_widgets.py --light

The debate is built with the real `Transcript` (quotes checked against the hidden passage) from a generated
hidden-passage question; its turns carry model names and latencies, which the judge's screen never shows.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer

from oversight.quotes import verify_quotes
from oversight.tasks import load_task
from oversight.transcript import Transcript, View, make_turn
from oversight.tui import OversightApp
from oversight.tui.judge_view import JudgeTranscript
from oversight.tui.verdict_form import HumanVerdict, VerdictForm


def debate_view() -> View:
    """A judge's view of a scripted two-round debate on the first generated hidden-passage question."""
    q = load_task("gen/hidden-passage", n=1, seed=0).questions[0]
    q = q.model_copy(update={"choices": [q.choices[q.answer], q.choices[0]], "answer": 0})
    t = Transcript(q, order=(1, 0), context_roles={"debater_a", "debater_b"}, rounds=2)
    words = (q.context or "").split()
    speeches = [
        ("debater_a", 0, f"The record settles it: <quote>{' '.join(words[12:20])}</quote>. Answer A follows."),
        ("debater_b", 0, "My opponent quotes the wrong person. <quote>the founder was mentored by nobody</quote>."),
        (
            "debater_a",
            1,
            f"Read on: <quote>{' '.join(words[20:27])}</quote>. That quote is in the text; theirs is not.",
        ),
        ("debater_b", 1, "A single line proves little. Weigh the whole record, and choose B."),
    ]
    for role, rnd, text in speeches:
        turn = make_turn(role, text, round=rnd, answer=0 if role == "debater_b" else 1, model="vllm/llama-70b")
        turn.latency = 1.7
        t.add(verify_quotes(turn, q.context))
    return t.view_for("judge", task="decide")


class JudgeScreen(Screen[None]):
    HELP_TITLE = "Judging (example)"
    HELP = "Read the debate, set how likely each answer is, write why, and submit with ctrl+s."
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.quit", "quit")]
    DEFAULT_CSS = "JudgeScreen VerticalScroll { height: 1fr; }"

    def __init__(self, view: View) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        yield VerticalScroll(JudgeTranscript(self.view))
        yield VerdictForm(self.view)
        yield Footer()

    def on_verdict_form_submitted(self, event: VerdictForm.Submitted) -> None:
        self.app.exit(event.verdict)


class JudgeDemo(OversightApp[HumanVerdict]):
    TITLE = "judge widgets"

    def on_mount(self) -> None:
        super().on_mount()
        self.push_screen(JudgeScreen(debate_view()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--light", action="store_true", help="light theme")
    args = parser.parse_args()
    verdict = JudgeDemo(theme="light" if args.light else "dark").run()
    if isinstance(verdict, HumanVerdict):
        print(json.dumps(dataclasses.asdict(verdict), indent=1))


if __name__ == "__main__":
    main()
