"""`oversight judge --live SPEC`: a person judges an experiment while it runs, watching the turns arrive.

The experiment runs in this app's event loop (a Textual worker) with the person's judge id bound to a live
channel (`oversight.human_channel.use_channels`) and its transcripts followed by a `LiveWatcher`. The screen
shows the judge's view as it grows, who is speaking ("waiting for Debater B", no timing), and the verdict form,
which may be moved at any time (every change is recorded); between rounds of an interactive protocol the person
types a question (or, once the minimum rounds are played, ends the debate), and when the protocol asks for the
decision `ctrl+s` submits it. The runner stores the episode as soon as the decision is given. Quitting stops
the run after the episode being stored (a decision already given is never lost); `--live RUN_DIR` resumes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, WorkerState

from oversight.experiment.runner import arun_experiment
from oversight.experiment.spec import Experiment
from oversight.human_channel import HumanChannel, HumanRequest, use_channels
from oversight.live_session import EpisodeStarted, LiveEvent, LiveWatcher, TurnsShown, Waiting
from oversight.store import SPEC_FILE, StoreError, finished_ids, read_json
from oversight.transcript import View, watch_transcripts
from oversight.tui.base import OversightApp
from oversight.tui.judge_app import FeedbackScreen, feedback_text
from oversight.tui.judge_view import JudgeTranscript
from oversight.tui.verdict_form import VerdictForm

#: how long quitting waits for an episode whose decision was given to be stored (seconds)
STORE_WAIT = 30.0

LIVE_HELP = (
    "A live session: the speakers' turns appear as they are made (the line above the transcript says whom the "
    "debate waits for). You may set the bars at any time; every change is recorded. Between rounds of an "
    "interactive debate you are asked for a question: type it and press enter, or press ctrl+e to end the debate "
    "once its minimum rounds are played. When the debate is over, write a short rationale and press ctrl+s: the "
    "episode is saved at once. Quotes marked \u2713 were found in the source text, \u2717 were not; you cannot "
    "see the source. Tab moves between the transcript, the bars, the numbers and the rationale; esc returns to "
    "the transcript, where q quits (ctrl+q quits anywhere; f1 opens this help from a text box). Quitting keeps "
    "every decision you gave; the episode under way is run again when you resume."
)


@dataclass
class LiveReport:
    """How a live session ended: `status` of the run (complete, interrupted, failed, ...), decisions given in this
    session, the run directory and, for a failed run, the error."""

    status: str
    judged: int
    run_dir: Path
    error: str | None = None
    notes: list[str] = field(default_factory=list)


class LiveEventMessage(Message):
    """A `LiveEvent` from the watcher, or a `HumanRequest` from the channel, delivered to the screen."""

    def __init__(self, event: LiveEvent | HumanRequest) -> None:
        super().__init__()
        self.event = event


class LiveScreen(Screen[None]):
    """The episode being run: title, what the debate waits for, the judge's view, the question box, the form."""

    HELP_TITLE = "Live judging"
    HELP = LIVE_HELP
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "submit judgment"),
        Binding("ctrl+e", "end", "end the debate", priority=True),
        Binding("escape", "to_transcript", "to the transcript"),
    ]
    DEFAULT_CSS = """
    LiveScreen #live-title { height: 1; background: $panel; color: $text; text-style: bold; padding: 0 1; }
    LiveScreen #live-status { height: 1; color: $text-primary; text-style: bold; padding: 0 1; }
    LiveScreen #transcript { height: 1fr; }
    LiveScreen #question { display: none; margin: 0 1; background: $boost; }
    LiveScreen #question.-asking { display: block; }
    """

    def __init__(self, session: LiveApp) -> None:
        super().__init__()
        self.session = session
        self.view: View | None = None
        self.request: HumanRequest | None = None
        self.form: VerdictForm | None = None
        self.arrivals: list[dict[str, Any]] = []
        self.gold: int | None = None
        self.choices: tuple[str, ...] = ()
        self._t0 = 0.0
        self._decide_at: float | None = None
        self.waiting: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        yield Static("live \u00b7 starting the session\u2026", id="live-title")
        yield Static("", id="live-status")
        yield VerticalScroll(id="transcript")
        yield Input(placeholder="your question to the speakers, then enter", compact=True, id="question")
        yield Footer()

    # -- events from the run -------------------------------------------------------------------------------------

    async def on_live_event_message(self, message: LiveEventMessage) -> None:
        # Handled one at a time, in the order posted (a new episode's widgets are mounted before its turns).
        event = message.event
        if isinstance(event, EpisodeStarted):
            await self._start(event)
        elif isinstance(event, TurnsShown):
            self._show(event.view)
            now = round(self.session.clock() - self._t0, 3)
            for speaker, rnd, kind in event.arrivals:
                self.arrivals.append({"t": now, "speaker": speaker, "round": rnd, "kind": kind})
        elif isinstance(event, Waiting):
            self.waiting = event.names
            self._status()
        elif isinstance(event, HumanRequest):
            self._request(event)

    async def _start(self, event: EpisodeStarted) -> None:
        session = self.session
        if self.request is not None and self.request.kind == "decide" and not self.request.answered:
            session.notes.append("an episode ended without your decision")  # (cannot happen: the run waits for it)
        elif self.view is not None and not session.decided_current:
            self.notify("the previous episode stopped with an error; it is recorded as one", severity="warning")
        session.episode_started()
        self.view, self.request, self.arrivals = event.view, None, []
        self.gold, self.choices = event.gold, event.choices
        self._decide_at, self.waiting = None, ()
        body = self.query_one("#transcript", VerticalScroll)
        await body.remove_children()
        if self.form is not None:
            await self.form.remove()
        self._t0 = session.clock()
        self.form = VerdictForm(event.view, clock=session.clock, id="form")
        await body.mount(JudgeTranscript(event.view, id="judge-transcript"))
        await self.mount(self.form, before=self.query_one(Footer))
        self._ask_box(False)
        self.query_one("#live-title", Static).update(session.episode_title())
        self._status()
        body.focus()

    def _show(self, view: View) -> None:
        if self.view is None:
            return
        self.view = view
        self.query_one("#judge-transcript", JudgeTranscript).show(view)
        self.query_one("#transcript", VerticalScroll).scroll_end(animate=False)

    def _request(self, request: HumanRequest) -> None:
        self.request = request
        self._show(request.view)
        if request.kind == "ask":
            self._ask_box(True)
        else:
            self._decide_at = self.session.clock()
            self._ask_box(False)
        self._status()

    def _ask_box(self, asking: bool) -> None:
        box = self.query_one("#question", Input)
        box.set_class(asking, "-asking")
        box.value = ""
        if asking:
            box.focus()

    def _status(self) -> None:
        req = self.request
        if req is not None and not req.answered and req.kind == "ask":
            text = "Your turn: type a question (enter sends it)"
            if req.may_end:
                text += " \u00b7 ctrl+e ends the debate"
        elif req is not None and not req.answered and req.kind == "decide":
            text = "Your turn: the debate is over \u2014 decide, then ctrl+s"
        elif req is not None and req.kind == "decide":
            text = "Saved."
        elif self.waiting:
            text = f"waiting for {' and '.join(self.waiting)}\u2026"
        else:
            text = "\u2026"
        self.query_one("#live-status", Static).update(text)

    # -- the person's actions ------------------------------------------------------------------------------------

    @on(Input.Submitted, "#question")
    def _asked(self, event: Input.Submitted) -> None:
        event.stop()
        req = self.request
        if req is None or req.answered or req.kind != "ask":
            return
        try:
            req.ask(event.value)
        except ValueError:
            self.notify("type a question first (or ctrl+e to end the debate, when it may end)", severity="warning")
            return
        self._ask_box(False)
        self.query_one("#transcript").focus()
        self._status()

    def action_end(self) -> None:
        req = self.request
        if req is None or req.answered or req.kind != "ask":
            self.notify("you can end the debate when it asks for your question", severity="warning")
            return
        if not req.may_end:
            self.notify("this debate cannot be ended yet", severity="warning")
            return
        req.end()
        self._ask_box(False)
        self.query_one("#transcript").focus()
        self._status()

    def action_submit(self) -> None:
        req = self.request
        if req is None or req.answered or req.kind != "decide":
            self.notify("the debate is still going: you decide when it is over", severity="warning")
            return
        if self.form is not None:
            self.form.action_submit()

    def action_to_transcript(self) -> None:
        self.query_one("#transcript").focus()

    def on_verdict_form_submitted(self, event: VerdictForm.Submitted) -> None:
        event.stop()
        req = self.request
        if req is None or req.answered or req.kind != "decide":
            self.notify("the debate is still going: you decide when it is over", severity="warning")
            return
        verdict = event.verdict
        now = self.session.clock()
        record = verdict.record(
            feedback=self.session.feedback,
            session="live",
            arrivals=list(self.arrivals),
            decide_seconds=round(now - (self._decide_at or now), 3),
        )
        req.decide(list(verdict.shown), verdict.rationale, **record)
        self.session.decided()
        self._status()
        if self.session.feedback and self.view is not None:
            self.session.show_feedback(feedback_text(self.gold, self.choices, self.view, verdict.probabilities))


class DoneScreen(Screen[None]):
    """The run is over (or failed)."""

    HELP_TITLE = "Live session over"
    DEFAULT_CSS = "DoneScreen { align: center middle; } DoneScreen Static { width: auto; }"

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def compose(self) -> ComposeResult:
        yield Static(self._text)
        yield Footer()


class LiveApp(OversightApp[LiveReport]):
    """A live session of `spec` (a spec made by `oversight.live_session.live_spec`) judged by `judge_id`.

    `resume`: an existing run directory to continue; else a new run `output_dir/<name>/<run_id>`. `feedback`
    shows the correct answer after each decision (recorded in each judgment). `clock` is injectable for tests.
    """

    TITLE = "oversight judge --live"

    def __init__(
        self,
        spec: Experiment,
        judge_id: str,
        *,
        run_dir: Path,
        resume: bool = False,
        feedback: bool = False,
        cache: bool | None = None,
        theme: str = "dark",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(theme=theme)
        self.spec, self.judge_id, self.run_dir = spec, judge_id, run_dir
        self.resume, self.feedback, self.cache = resume, feedback, cache
        self.clock = clock
        self.channel = HumanChannel()
        self.screen_live = LiveScreen(self)
        self.judged = 0
        self.decided_current = False
        self.notes: list[str] = []
        self.run_status = "starting"
        self.run_error: str | None = None
        self._started = 0
        self._done_before = len(finished_ids(run_dir)) if resume else 0
        self._total: int | None = None
        self._awaiting_store = False
        self._run: Worker[Any] | None = None
        self._stopping = False
        self._done_text: str | None = None

    def on_mount(self) -> None:
        super().on_mount()
        self.push_screen(self.screen_live)
        self.run_worker(self._forward_requests(), exclusive=False, group="requests")
        self._run = self.run_worker(self._run_experiment(), exclusive=False, group="run")

    async def _forward_requests(self) -> None:
        while True:
            request = await self.channel.next()
            self.screen_live.post_message(LiveEventMessage(request))

    async def _run_experiment(self) -> None:
        watcher = LiveWatcher(lambda event: self.screen_live.post_message(LiveEventMessage(event)))
        try:
            with use_channels({self.judge_id: self.channel}), watch_transcripts(watcher):
                result = await arun_experiment(
                    self.spec,
                    resume=self.run_dir if self.resume else None,
                    output_dir=self.run_dir.parent.parent,
                    run_id=None if self.resume else self.run_dir.name,
                    cache=self.cache,
                    progress="off",
                )
            self.run_status = result.status
        except asyncio.CancelledError:
            self.run_status = "interrupted"
            raise
        except Exception as err:  # a run that cannot start or fails: reported after the app closes
            self.run_status, self.run_error = "failed", f"{type(err).__name__}: {err}"
        finally:
            self._awaiting_store = False
        self._finished()

    def _finished(self) -> None:
        if self._stopping:
            return
        if self.run_error:
            self._done_text = "The session stopped with an error; it is printed when you quit.\nPress q to quit."
        else:
            self._done_text = (
                f"The session is over ({self.run_status}): {self.judged} decision(s) in this session.\n"
                f"They are saved in {self.run_dir}.\nPress q to quit."
            )
        if not isinstance(self.screen, FeedbackScreen):  # else once the feedback is read
            self._show_done()

    def _show_done(self) -> None:
        if self._done_text is not None and not isinstance(self.screen, DoneScreen):
            self.push_screen(DoneScreen(self._done_text))

    def show_feedback(self, text: Content) -> None:
        """Show the correct answer after a decision (feedback on); the end of the run waits until it is read."""
        self.push_screen(FeedbackScreen(text), lambda _: self._show_done())

    # -- called by the screen ------------------------------------------------------------------------------------

    def episode_started(self) -> None:
        """A new episode began: the previous one (if any) is stored by now."""
        self._started += 1
        self._awaiting_store = False
        self.decided_current = False

    def decided(self) -> None:
        """The person gave the current episode's decision; the runner stores it next."""
        self.judged += 1
        self.decided_current = True
        self._awaiting_store = True

    def episode_title(self) -> str:
        """`live · ID · episode k of N`."""
        if self._total is None:
            try:
                self._total = int(read_json(self.run_dir / SPEC_FILE)["episodes"]["total"])
            except (StoreError, KeyError, TypeError, ValueError):
                self._total = 0
        of = f" of {self._total}" if self._total else ""
        return f"live \u00b7 {self.judge_id} \u00b7 episode {self._done_before + self._started}{of}"

    # -- quitting ------------------------------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Stop the run (after the episode whose decision was given is stored) and close the app."""
        if self._stopping:
            return
        self._stopping = True
        deadline = time.monotonic() + STORE_WAIT
        while self._awaiting_store and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self._awaiting_store:
            self.notes.append("quit before the last decision was stored; resume the run to judge it again")
        run = self._run
        if run is not None and run.state in (WorkerState.PENDING, WorkerState.RUNNING):
            run.cancel()
            try:
                await asyncio.wait_for(run.wait(), STORE_WAIT)
            except Exception:  # cancelled, or failed on its way out: the report says what is known
                pass
        self.exit(self.report)

    @property
    def report(self) -> LiveReport:
        """What this session did so far."""
        return LiveReport(self.run_status, self.judged, self.run_dir, self.run_error, list(self.notes))
