"""Which episodes of an index the viewer lists: facets (status, protocol label, judge, task) and a text search.

The text search looks in the episode's stored line (turns, judgments, ids, errors, config and result), case
insensitive for ASCII letters; it never parses a line. The query is matched as JSON would store it, so quotes
and backslashes in the query match quotes and backslashes in the text.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from operator import attrgetter

from oversight.episode_index import EpisodeIndex, Row, Status

FACETS = ("status", "label", "judge", "task")


@dataclass(frozen=True, slots=True)
class EpisodeFilter:
    """A facet value each (None: any) and a search text ("" : none)."""

    status: Status | None = None
    label: str | None = None
    judge: str | None = None
    task: str | None = None
    text: str = ""

    def with_facet(self, facet: str, value: str | None) -> EpisodeFilter:
        """This filter with one facet changed; raises ValueError for an unknown facet or status."""
        if facet not in FACETS:
            raise ValueError(f"unknown facet {facet!r}")
        if facet == "status" and value is not None:
            return replace(self, status=Status(value))
        return replace(self, **{facet: value})

    @property
    def active(self) -> bool:
        return any(getattr(self, f) is not None for f in FACETS) or bool(self.text)


def needle(text: str) -> bytes:
    """The bytes a search for `text` looks for in an episode line: `text` as JSON writes it, lower-cased."""
    return json.dumps(text.lower(), ensure_ascii=False)[1:-1].encode()


def select(
    index: EpisodeIndex,
    flt: EpisodeFilter,
    positions: Iterable[int] | None = None,
    *,
    cancelled: Callable[[], bool] = lambda: False,
) -> list[int] | None:
    """Positions (into `index.rows`) of the rows among `positions` (default: all) that `flt` admits, in order.
    Returns None if `cancelled()` turned true part-way (checked every 1,000 searched lines)."""
    rows = index.rows
    candidates = range(len(rows)) if positions is None else positions
    active = [f for f in FACETS if getattr(flt, f) is not None]
    if active:  # one C-level attribute fetch per row instead of a call (100k rows: milliseconds)
        key, want = attrgetter(*active), tuple(getattr(flt, f) for f in active)
        if len(active) == 1:
            want = want[0]
        admitted = [i for i in candidates if key(rows[i]) == want]
    else:
        admitted = list(candidates)
    if index.replaced:
        admitted = [i for i in admitted if not rows[i].superseded]
    if not flt.text:
        return admitted
    find = needle(flt.text)
    out: list[int] = []
    for n, i in enumerate(admitted):
        if n % 1000 == 0 and cancelled():
            return None
        if find in index.raw(rows[i]).lower():
            out.append(i)
    return out


def facet_counts(rows: Sequence[Row]) -> dict[str, Counter[str]]:
    """facet -> value -> number of (not superseded) rows with it."""
    counts: dict[str, Counter[str]] = {f: Counter() for f in FACETS}
    status, label, judge, task = (counts[f] for f in FACETS)
    for row in rows:
        if row.superseded:
            continue
        status[row.status.value] += 1
        label[row.label] += 1
        judge[row.judge] += 1
        task[row.task] += 1
    return counts
