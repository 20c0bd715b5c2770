"""Progress reporting: a Rich bar on a terminal, a periodic one-line status otherwise (readable CI logs)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import IO, Any

from oversight.experiment.summary import Tally


@dataclass(slots=True)
class Counters(Tally):
    """What the progress display shows: a `Tally` of this session's episodes (`add` per finished episode), plus
    the run's total, the episodes skipped as already done, and calls and cache hits (the runner adds those)."""

    total: int = 0
    skipped: int = 0
    cache_hits: int = 0
    calls: int = 0

    def status(self) -> str:
        """A one-line status: done/total, accuracy, tokens, cost, cache hits, retries, errors."""
        acc = f"{self.correct / self.n:.1%}" if self.n else "-"
        hit_rate = f"{self.cache_hits}/{self.calls}" if self.calls else "0"
        return (
            f"{self.episodes + self.skipped}/{self.total} episodes | acc {acc} | {self.tokens:,} tok | "
            f"${self.cost:.4f} | cache {hit_rate} | retries {self.retries} | errors {self.errors}"
        )


class Progress:
    """No-op base: `start`, `update` (after each episode) and `stop`."""

    def __init__(self, counters: Counters) -> None:
        self.counters = counters

    def start(self) -> None:
        """Begin displaying."""

    def update(self) -> None:
        """Refresh after an episode finished (cheap; implementations rate-limit themselves)."""

    def stop(self) -> None:
        """Finish displaying; safe to call twice."""


class LineProgress(Progress):
    """Prints `status()` every `interval` seconds and once at the end."""

    def __init__(self, counters: Counters, *, interval: float = 10.0, stream: IO[str] | None = None) -> None:
        super().__init__(counters)
        self.interval = interval
        self.stream = stream or sys.stdout
        self._t0 = self._last = time.monotonic()
        self._stopped = False

    def start(self) -> None:
        self._t0 = self._last = time.monotonic()

    def update(self) -> None:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._print(now)

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._print(time.monotonic())

    def _print(self, now: float) -> None:
        c = self.counters
        elapsed = now - self._t0
        remaining = c.total - c.episodes - c.skipped
        eta = f"{remaining * elapsed / c.episodes:.0f}s" if c.episodes and remaining > 0 else "-"
        print(f"[{elapsed:6.1f}s] {c.status()} | eta {eta}", file=self.stream, flush=True)


class RichProgress(Progress):
    """A Rich progress bar with accuracy, tokens, cost, cache hits, retries, errors and ETA columns."""

    def __init__(self, counters: Counters, *, description: str = "episodes") -> None:
        super().__init__(counters)
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as RichBar

        self._bar = RichBar(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("acc {task.fields[acc]}"),
            TextColumn("{task.fields[tokens]} tok"),
            TextColumn("${task.fields[cost]}"),
            TextColumn("cache {task.fields[cache]}"),
            TextColumn("retries {task.fields[retries]}"),
            TextColumn("[red]err {task.fields[errors]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            refresh_per_second=5,
            transient=False,
        )
        self._task: Any = None
        self._description = description
        self._last = 0.0

    def start(self) -> None:
        c = self.counters
        self._bar.start()
        self._task = self._bar.add_task(self._description, total=c.total, completed=c.skipped, **self._fields())

    def update(self) -> None:
        now = time.monotonic()
        if now - self._last < 0.1:  # Rich redraws on its own timer; don't pay for updates it won't show
            return
        self._last = now
        self._push()

    def stop(self) -> None:
        if self._task is not None:
            self._push()
            self._bar.stop()
            self._task = None

    def _push(self) -> None:
        c = self.counters
        self._bar.update(self._task, completed=c.episodes + c.skipped, **self._fields())

    def _fields(self) -> dict[str, str]:
        c = self.counters
        return {
            "acc": f"{c.correct / c.n:.1%}" if c.n else "-",
            "tokens": f"{c.tokens:,}",
            "cost": f"{c.cost:.4f}",
            "cache": f"{c.cache_hits}/{c.calls}",
            "retries": str(c.retries),
            "errors": str(c.errors),
        }


def make_progress(counters: Counters, mode: str | bool | None = None, *, interval: float = 10.0) -> Progress:
    """`mode`: None/"auto" -> Rich on a TTY, else periodic lines; "rich"; "lines"; False/"off" -> nothing."""
    if mode is False or mode == "off":
        return Progress(counters)
    if mode in (None, True, "auto"):
        mode = "rich" if sys.stdout.isatty() else "lines"
    if mode == "rich":
        return RichProgress(counters)
    return LineProgress(counters, interval=interval)
