"""A judge's probability for each answer: a keyboard slider and a typed percentage per answer, always summing
to 1, with every change recorded against a clock (the probability trajectory before submission).

Probabilities are held in tenths of a percent (integers summing to exactly 1000), so what is shown, typed and
recorded agree to the digit. Setting one answer shares the rest among the others in proportion to what they
had (equally when they had nothing), never below `floor`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Static

TOTAL = 1000  # tenths of a percent
_TYPED = re.compile(r"^\s*(\d{1,3}(?:\.\d?)?|\.\d)\s*%?\s*$")


@dataclass(frozen=True, slots=True)
class ProbabilityChange:
    """One state of the probabilities: `t` seconds after the input started, per answer in the order shown,
    and how it was reached ("start", "slider" or "typed")."""

    t: float
    probabilities: tuple[float, ...]
    via: str


def redistribute(values: Sequence[int], k: int, new: int, *, total: int = TOTAL, floor: int = 0) -> list[int]:
    """`values` (summing to `total`) with entry `k` set to `new` (clamped so every entry can stay >= `floor`) and
    the rest shared among the others in proportion to their share above `floor` (largest remainders get the
    odd units; equal shares when the others hold nothing above it). Raises ValueError for impossible floors."""
    n = len(values)
    if not 0 <= k < n:
        raise ValueError(f"answer {k} out of range for {n} answers")
    if floor < 0 or floor * n > total:
        raise ValueError(f"a floor of {floor} is impossible for {n} answers summing to {total}")
    new = max(floor, min(new, total - floor * (n - 1)))
    if n == 1:
        return [total]
    others = [i for i in range(n) if i != k]
    spare = total - new - floor * (n - 1)
    weights = [max(0, values[i] - floor) for i in others]
    if sum(weights) == 0:
        weights = [1] * len(others)
    wsum = sum(weights)
    shares = [spare * w // wsum for w in weights]
    remainders = sorted(range(len(others)), key=lambda j: (-(spare * weights[j] % wsum), j))
    for j in remainders[: spare - sum(shares)]:
        shares[j] += 1
    out = list(values)
    out[k] = new
    for j, i in enumerate(others):
        out[i] = floor + shares[j]
    return out


def parse_percent(text: str) -> int | None:
    """A typed percentage ("70", "70%", "33.3") in tenths of a percent, or None when it is not one in 0..100."""
    m = _TYPED.match(text)
    if m is None:
        return None
    value = round(float(m.group(1)) * 10)
    return value if 0 <= value <= TOTAL else None


def percent(value: int) -> str:
    """Tenths of a percent as text: 700 -> "70.0%"."""
    return f"{value / 10:.1f}%"


class ProbabilitySlider(Widget, can_focus=True):
    """One answer's probability as a bar: left/right move it by 1%, shift+left/right (or pgup/pgdn) by 10%,
    home/end to 0%/100%. Posts `Moved`; the `ProbabilityInput` decides the value."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right,l", "nudge(10)", "+1%", show=False),
        Binding("left,h", "nudge(-10)", "-1%", show=False),
        Binding("shift+right,pageup", "nudge(100)", "+10%", show=False),
        Binding("shift+left,pagedown", "nudge(-100)", "-10%", show=False),
        Binding("end", "to(1000)", "100%", show=False),
        Binding("home", "to(0)", "0%", show=False),
    ]
    DEFAULT_CSS = """
    ProbabilitySlider { height: 1; width: 1fr; color: $text-primary; }
    ProbabilitySlider:focus { background: $boost; text-style: bold; }
    """

    class Moved(Message):
        """The user asked for `value` (tenths of a percent) on answer `k`."""

        def __init__(self, k: int, value: int) -> None:
            super().__init__()
            self.k, self.value = k, value

    def __init__(self, k: int, letter: str, value: int) -> None:
        super().__init__()
        self.k, self.letter, self.value = k, letter, value

    def set_value(self, value: int) -> None:
        self.value = value
        self.refresh()

    def render(self) -> Content:
        width = max(4, self.size.width - 4)
        filled = round(width * self.value / TOTAL)
        bar = "\u2588" * filled + "\u2591" * (width - filled)
        return Content.assemble((f"{self.letter}  ", "bold"), bar)

    def action_nudge(self, delta: int) -> None:
        self.post_message(self.Moved(self.k, self.value + delta))

    def action_to(self, value: int) -> None:
        self.post_message(self.Moved(self.k, value))


class ProbabilityInput(Vertical):
    """A slider and a typed percentage for each of `letters` (the answers in the order shown).

    `probabilities` is the current state (floats, summing to 1); `trajectory` every state since `start()` with
    its time (the first is the uniform start). `floor` (a probability) keeps every answer at least that likely.
    Posts `Changed` after each change. `clock` is injectable for tests (seconds, monotonic).
    """

    DEFAULT_CSS = """
    ProbabilityInput { height: auto; }
    ProbabilityInput Horizontal { height: 1; }
    ProbabilityInput Input { width: 9; margin-left: 1; }
    ProbabilityInput Input.-invalid { color: $text-error; }
    ProbabilityInput .pct { width: 8; content-align: right middle; }
    """

    class Changed(Message):
        """The probabilities changed (see `ProbabilityInput.probabilities`)."""

        def __init__(self, probability_input: ProbabilityInput) -> None:
            super().__init__()
            self.probability_input = probability_input

    def __init__(
        self,
        letters: Sequence[str],
        *,
        floor: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        if len(letters) < 2:
            raise ValueError("a probability input needs at least two answers")
        self.letters = tuple(letters)
        self.floor = round(floor * TOTAL)
        if self.floor * len(letters) > TOTAL or self.floor < 0:
            raise ValueError(f"floor {floor} is impossible for {len(letters)} answers")
        self._clock = clock
        self.values = _uniform(len(letters))
        self._t0 = clock()
        self.trajectory: list[ProbabilityChange] = []
        self._record("start")

    def compose(self) -> ComposeResult:
        for k, letter in enumerate(self.letters):
            with Horizontal():
                yield ProbabilitySlider(k, letter, self.values[k])
                yield Static(percent(self.values[k]), classes="pct", id=f"pct-{k}")
                yield Input(placeholder="type %", compact=True, restrict=r"[0-9.%]*", max_length=6, id=f"typed-{k}")

    @property
    def probabilities(self) -> tuple[float, ...]:
        """The current probability of each answer, in the order shown (sums to 1)."""
        return tuple(v / TOTAL for v in self.values)

    def start(self) -> None:
        """Reset to equal probabilities and restart the clock and the trajectory (a new episode)."""
        self._t0 = self._clock()
        self.values = _uniform(len(self.letters))
        self.trajectory = []
        self._record("start")
        self._show()

    def set(self, k: int, value: int, via: str) -> None:
        """Set answer `k` to `value` tenths of a percent (the others follow); records a change if any."""
        new = redistribute(self.values, k, value, floor=self.floor)
        if new == self.values:
            return
        self.values = new
        self._record(via)
        self._show()
        self.post_message(self.Changed(self))

    def _record(self, via: str) -> None:
        self.trajectory.append(ProbabilityChange(round(self._clock() - self._t0, 3), self.probabilities, via))

    def _show(self) -> None:
        if not self.is_mounted:
            return
        for slider in self.query(ProbabilitySlider):
            slider.set_value(self.values[slider.k])
        for k, v in enumerate(self.values):
            self.query_one(f"#pct-{k}", Static).update(percent(v))

    @on(ProbabilitySlider.Moved)
    def _moved(self, event: ProbabilitySlider.Moved) -> None:
        event.stop()
        self.set(event.k, event.value, "slider")

    @on(Input.Submitted)
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        self._apply_typed(event.input)

    @on(Input.Blurred)
    def _left(self, event: Input.Blurred) -> None:
        if event.input.value:
            self._apply_typed(event.input)

    def _apply_typed(self, field: Input) -> None:
        k = int((field.id or "typed-0").removeprefix("typed-"))
        value = parse_percent(field.value)
        if value is None:
            field.add_class("-invalid")
            self.notify(f"{self.letters[k]}: type a percentage from 0 to 100", severity="warning")
            return
        field.remove_class("-invalid")
        field.value = ""
        self.set(k, value, "typed")


def _uniform(n: int) -> list[int]:
    base = [TOTAL // n] * n
    for i in range(TOTAL - sum(base)):
        base[i] += 1
    return base
