"""What a human judge fills in for one episode: a probability per answer and a rationale; ctrl+s submits.

The form only collects: it posts `VerdictForm.Submitted` with the probabilities (by choice index, like
`Judgment.probabilities`, and in the order shown), the rationale, the probability trajectory and the time spent.
Saving the judgment is the caller's business.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static, TextArea

from oversight.transcript import View
from oversight.tui.judge_view import check_judge_view
from oversight.tui.probability import ProbabilityChange, ProbabilityInput


@dataclass(frozen=True, slots=True)
class HumanVerdict:
    """A submitted form. `probabilities[i]` is choice i's (as in `Judgment.probabilities`); `shown[k]` is the
    answer shown under the k-th letter's; `order` is the view's order; `elapsed` seconds since the form started."""

    probabilities: tuple[float, ...]
    shown: tuple[float, ...]
    order: tuple[int, ...]
    rationale: str
    trajectory: tuple[ProbabilityChange, ...]
    elapsed: float

    def record(self, **extra: Any) -> dict[str, Any]:
        """What a stored human judgment keeps of this verdict (in its `meta["human"]`, beside the judge id):
        `seconds` spent and the `trajectory`, every state of the probabilities since the form started as
        `{"t": seconds, "p": [...], "via": "start" | "slider" | "typed"}`, with `p` indexed by choice like
        `Judgment.probabilities` (not as shown). `extra` adds what the session knows (rounds seen, feedback...)."""
        trajectory = [{"t": c.t, "p": _by_choice(c.probabilities, self.order), "via": c.via} for c in self.trajectory]
        return {"seconds": self.elapsed, "trajectory": trajectory, **extra}


def _by_choice(shown: tuple[float, ...], order: tuple[int, ...]) -> list[float]:
    out = [0.0] * len(order)
    for k, choice in enumerate(order):
        out[choice] = shown[k]
    return out


class VerdictForm(Vertical):
    """Probability inputs for the answers of `view` (a judge's view) and a rationale box.

    `require_rationale` refuses an empty rationale; `floor` is the least probability any answer may get.
    Raises ValueError for a view that is not a judge's (see `judge_view.check_judge_view`).
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+s", "submit", "submit judgment")]
    DEFAULT_CSS = """
    VerdictForm { height: auto; border-top: solid $accent; padding: 0 1; }
    VerdictForm .form-title { color: $text-primary; text-style: bold; }
    VerdictForm TextArea { height: 3; background: $boost; }
    VerdictForm .hint { color: $text-muted; }
    """

    class Submitted(Message):
        """The judge submitted `verdict`."""

        def __init__(self, form: VerdictForm, verdict: HumanVerdict) -> None:
            super().__init__()
            self.form, self.verdict = form, verdict

    def __init__(
        self,
        view: View,
        *,
        require_rationale: bool = True,
        floor: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        check_judge_view(view)
        self.view = view
        self.require_rationale = require_rationale
        self._clock = clock
        self._t0 = clock()
        self.probability_input = ProbabilityInput(view.letters, floor=floor, clock=clock)

    def compose(self) -> ComposeResult:
        yield Static("How likely is each answer to be correct?", classes="form-title")
        yield self.probability_input
        yield TextArea(
            id="rationale",
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="focus",
            compact=True,
            placeholder="Why? (a short rationale)",
        )
        yield Static(
            "\u2190/\u2192 move a bar (shift: 10%) \u00b7 or type a % + enter \u00b7 tab: next \u00b7 ctrl+s submits",
            classes="hint",
        )

    @property
    def rationale(self) -> str:
        return self.query_one("#rationale", TextArea).text.strip()

    def start(self) -> None:
        """Clear the form and restart its clock (for the next episode)."""
        self._t0 = self._clock()
        self.probability_input.start()
        self.query_one("#rationale", TextArea).text = ""

    def verdict(self) -> HumanVerdict:
        """The form's current content as a HumanVerdict (whether or not it may be submitted)."""
        shown = self.probability_input.probabilities
        return HumanVerdict(
            probabilities=tuple(_by_choice(shown, tuple(self.view.order))),
            shown=shown,
            order=tuple(self.view.order),
            rationale=self.rationale,
            trajectory=tuple(self.probability_input.trajectory),
            elapsed=round(self._clock() - self._t0, 3),
        )

    def action_submit(self) -> None:
        if self.require_rationale and not self.rationale:
            self.notify("write a short rationale before submitting", severity="warning")
            self.query_one("#rationale", TextArea).focus()
            return
        self.post_message(self.Submitted(self, self.verdict()))
