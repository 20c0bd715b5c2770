"""Per protocol x judge tallies: n, accuracy with a 95% Wilson interval, invalid rate, errors, tokens, cost, retries.

Accuracy is `correct / n` where `n` counts scored episodes (no error, gold answer known, not pending). An invalid
final judgment (unparseable, or none) counts as not correct and is reported separately as the invalid rate. A
pending judgment (a human who has not judged yet) is counted on its own, never as wrong.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from oversight.episode import Episode, answered, report_judge, report_label
from oversight.metrics.binomial import wilson_interval


@dataclass(slots=True)
class Tally:
    """Running counts for one group of episodes."""

    episodes: int = 0
    n: int = 0
    correct: int = 0
    invalid: int = 0
    errors: int = 0
    pending: int = 0
    tokens: int = 0
    cost: float = 0.0
    retries: int = 0

    def add(self, ep: Episode) -> None:
        """Count one finished episode."""
        self.episodes += 1
        self.tokens += ep.tokens
        self.cost += ep.cost
        self.retries += ep.retries
        if ep.error is not None:
            self.errors += 1
            return
        final = ep.final
        if final is not None and final.pending:
            self.pending += 1
            return
        if not ep.scorable:
            return
        self.n += 1
        if not answered(final):
            self.invalid += 1
        elif ep.correct:
            self.correct += 1

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.n if self.n else None

    def row(self) -> dict[str, object]:
        """The tally as a JSON-able dict, with the 95% Wilson interval of the accuracy."""
        lo, hi = wilson_interval(self.correct, self.n)
        return {
            "episodes": self.episodes,
            "n": self.n,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "ci95": [lo, hi] if self.n else None,
            "invalid": self.invalid,
            "invalid_rate": self.invalid / self.n if self.n else None,
            "errors": self.errors,
            "pending": self.pending,
            "tokens": self.tokens,
            "cost": self.cost,
            "retries": self.retries,
        }


def group_key(ep: Episode) -> tuple[str, str]:
    """(protocol label, judge name) of an episode: see `oversight.episode.report_label` / `report_judge`."""
    return (report_label(ep), report_judge(ep))


class Summary:
    """Tallies per (protocol label, judge) plus a total, fed one episode at a time (flat memory)."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str], Tally] = {}
        self.total = Tally()

    def add(self, ep: Episode) -> None:
        """Count one finished episode in its group and in the total."""
        key = group_key(ep)
        tally = self.groups.get(key)
        if tally is None:
            tally = self.groups[key] = Tally()
        tally.add(ep)
        self.total.add(ep)

    def rows(self) -> list[dict[str, object]]:
        """One dict per group, sorted by protocol label then judge."""
        return [{"protocol": p, "judge": j, **t.row()} for (p, j), t in sorted(self.groups.items())]


def summarize(episodes: Iterable[Episode]) -> Summary:
    """A `Summary` of `episodes`."""
    summary = Summary()
    for ep in episodes:
        summary.add(ep)
    return summary
