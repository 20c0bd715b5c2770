"""`oversight judge RUN --judge-id NAME`: a human judges, one after another, the run's judgments that wait for them.

Each screen shows one episode exactly as a judge may see it (the view a model judge was given, rebuilt from the
store) and the form: a probability per answer and a rationale. `ctrl+s` saves the judgment at once, as one
atomic line of the run's `judgments.jsonl` (`oversight.pending.submit_judgment`), and moves on; nothing else is
ever written, so quitting, a crash or a closed terminal loses only the judgment being filled in. A restart
resumes at the first episode not judged yet, in the judge's own seeded order (`oversight.judging_queue`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

from oversight.human_channel import rounds_seen
from oversight.judging_queue import JudgingQueue, QueueSlot
from oversight.pending import PendingJudgment
from oversight.store import StoreError
from oversight.transcript import View
from oversight.tui.base import OversightApp
from oversight.tui.judge_view import JudgeTranscript
from oversight.tui.text import MUTED, safe
from oversight.tui.verdict_form import VerdictForm

JUDGING_HELP = (
    "Read the question, the answers and the transcript (what the speakers said; quotes marked \u2713 were found "
    "in the source text, \u2717 were not). You cannot see the source. Set how likely each answer is to be "
    "correct with the bars (\u2190/\u2192, shift for 10%) or by typing a percentage, write a short rationale, "
    "and press ctrl+s: the judgment is saved at once. Tab moves between the transcript, the bars, the numbers and "
    "the rationale; esc returns to the transcript, where q quits (ctrl+q quits anywhere; f1 opens this help from "
    "a text box). What you have not submitted is not kept."
)


@dataclass(frozen=True, slots=True)
class JudgingReport:
    """How a judging session ended: judgments saved in it, judged in all (earlier sessions too), and the total."""

    saved: int
    judged: int
    total: int


class JudgingScreen(Screen[None]):
    """One queued judgment: the transcript as the judge may see it and the verdict form."""

    HELP_TITLE = "Judging"
    HELP = JUDGING_HELP
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "submit judgment"),
        Binding("escape", "to_transcript", "to the transcript"),
    ]
    DEFAULT_CSS = """
    JudgingScreen #judging-title { height: 1; background: $panel; color: $text; text-style: bold; padding: 0 1; }
    JudgingScreen #transcript { height: 1fr; }
    """

    def __init__(self, slot: QueueSlot, pending: PendingJudgment, title: str, clock: Callable[[], float]) -> None:
        super().__init__()
        self.slot, self.pending = slot, pending
        self.view = pending.view()
        self._title = title
        self._clock = clock

    def compose(self) -> ComposeResult:
        yield Static(self._title, id="judging-title")
        yield VerticalScroll(JudgeTranscript(self.view), id="transcript")
        yield VerdictForm(self.view, clock=self._clock, id="form")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#transcript").focus()

    def action_to_transcript(self) -> None:
        self.query_one("#transcript").focus()

    def action_submit(self) -> None:
        self.query_one(VerdictForm).action_submit()  # from anywhere on the screen, not only inside the form

    def on_verdict_form_submitted(self, event: VerdictForm.Submitted) -> None:
        event.stop()
        app = self.app
        assert isinstance(app, JudgeApp)
        app.save(self, event.form)


class FeedbackScreen(ModalScreen[None]):
    """After a judgment is saved (feedback on): the correct answer and the probability the judge gave it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter,space,escape", "dismiss", "next episode")]
    DEFAULT_CSS = """
    FeedbackScreen { align: center middle; background: $background; }
    FeedbackScreen > Vertical { width: 70; height: auto; border: round $text-primary; background: $surface;
        padding: 0 1; }
    """

    def __init__(self, text: Content) -> None:
        super().__init__()
        self._text = text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._text)
            yield Static(Content.styled("enter: next episode", MUTED))

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(None)


class DoneScreen(Screen[None]):
    """Nothing left to judge."""

    HELP_TITLE = "Done"
    DEFAULT_CSS = "DoneScreen { align: center middle; } DoneScreen Static { width: auto; }"

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def compose(self) -> ComposeResult:
        yield Static(self._text, id="done")
        yield Footer()


class JudgeApp(OversightApp[JudgingReport]):
    """Offline judging of `run_dir` by `judge_id` (see the module doc). `feedback` shows the correct answer after
    each judgment (recorded in every judgment as `feedback`); `seed` varies the judge's order. Raises ValueError
    for an unsafe judge id and `StoreError` when `run_dir` is not a run (before any screen is drawn)."""

    TITLE = "oversight judge"

    def __init__(
        self,
        run_dir: str | Path,
        judge_id: str,
        *,
        seed: int = 0,
        feedback: bool = False,
        theme: str = "dark",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(theme=theme)
        self.queue = JudgingQueue.load(run_dir, judge_id, seed=seed)
        self.feedback = feedback
        self.saved = 0
        self._clock = clock

    def on_mount(self) -> None:
        super().on_mount()
        q = self.queue
        if q.notice:
            self.notify(q.notice, severity="warning", timeout=10)
        if q.unjudgeable:
            episode, why = q.unjudgeable[0]
            self.notify(
                f"{len(q.unjudgeable)} judgment(s) cannot be shown here, e.g. episode {episode}: {why}",
                severity="warning",
                timeout=10,
            )
        self.push_screen(self._next_screen())

    def _next_screen(self) -> Screen[None]:
        q = self.queue
        while (slot := q.current()) is not None:
            try:
                pending = q.pending(slot)  # read now: another session of this judge may have judged it
            except (ValueError, StoreError) as err:
                if not slot.judged:  # unreadable now (the run was changed under us): say so, never crash
                    slot.judged = True
                    self.notify(f"skipped episode {slot.episode_id}: {err}", severity="warning", timeout=10)
                continue
            title = f"judging \u00b7 {q.judge_id} \u00b7 episode {q.judged + 1} of {q.total}"
            return JudgingScreen(slot, pending, title, self._clock)
        return DoneScreen(
            f"All {q.total} judgment(s) for {q.judge_id} are done ({self.saved} in this session).\n"
            f"They are saved in {q.run_dir / 'judgments.jsonl'}.\nPress q to quit."
        )

    def save(self, screen: JudgingScreen, form: VerdictForm) -> None:
        """Store the form's verdict for the screen's slot, then show feedback (when on) or the next episode."""
        slot = screen.slot
        episode = screen.pending.episode
        verdict = form.verdict()
        record = verdict.record(
            rounds_seen=rounds_seen(screen.view), ended_early=False, feedback=self.feedback, session="offline"
        )
        try:
            self.queue.submit(slot, verdict.probabilities, rationale=verdict.rationale, detail=record)
        except (ValueError, StoreError) as err:
            self.notify(f"not saved: {err}", severity="error", timeout=10)
            if slot.judged:  # judged meanwhile by another session of this judge: move on
                self._advance()
            return
        self.saved += 1
        if self.feedback:
            text = feedback_text(episode.gold, episode.choices, screen.view, verdict.probabilities)
            self.push_screen(FeedbackScreen(text), lambda _: self._advance())
        else:
            self._advance()

    def on_unmount(self) -> None:
        self.queue.close()

    def _advance(self) -> None:
        self.switch_screen(self._next_screen())

    @property
    def report(self) -> JudgingReport:
        """What this session did so far."""
        return JudgingReport(self.saved, self.queue.judged, self.queue.total)


def feedback_text(gold: int | None, choices: Sequence[str], view: View, probabilities: Sequence[float]) -> Content:
    """What the judge is told after a judgment is saved: the correct answer (lettered as shown to them) and the
    probability they gave it."""
    saved = Content.styled("Saved.", "bold")
    if gold is None or not 0 <= gold < len(choices):
        return Content.assemble(saved, " This question has no gold answer to show.")
    return Content.assemble(
        saved,
        " The correct answer was ",
        (f"{view.letter_of(gold)}: ", "bold"),
        safe(choices[gold]),
        f". You gave it {probabilities[gold]:.0%}.",
    )
