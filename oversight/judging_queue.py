"""The queue one human judge works through offline: every judgment of a run that waits (or waited) for that judge
id, in an order seeded per judge, read and written only through the store's public API (`oversight.pending`).

The order is a seeded permutation: each slot's place is a hash of (judge id, seed, episode, slot), so two judges
of one run see the episodes in different orders, one judge sees the same order every time (a restart resumes at
the first slot not judged yet), and slots a run adds later never move the ones already placed. Slots judged
already (in `judgments.jsonl`) stay in the queue as done, so progress reads "k of N" across sessions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oversight.episode import Judgment
from oversight.episode_index import EpisodeIndex, Row
from oversight.hashing import stable_hash
from oversight.judge_entry import check_judge_id
from oversight.judgments_log import read_submissions
from oversight.pending import PendingJudgment, episode_pending, submit_judgment
from oversight.store import StoreError, resolve_run_dir

_PENDING = (b'"pending":true', b'"pending": true')  # as the store writes it, and as json.dumps would


@dataclass(slots=True)
class QueueSlot:
    """One judgment of the queue: episode and slot `path` (see `oversight.pending`), its place in the seeded
    order (`key`), whether it is judged, and where its episode is in the run (`row` of the run's index; the
    episode itself is read again only when the slot is shown, so a queue of any size costs little memory)."""

    episode_id: str
    path: tuple[int, ...]
    key: str
    judged: bool
    row: Row | None = None


@dataclass
class JudgingQueue:
    """The slots of `run_dir` for `judge_id` in their seeded order (see the module doc). Build it with `load`;
    `close()` it (or use it as a context manager) to release the run's file mapping."""

    run_dir: Path
    judge_id: str
    seed: int
    slots: list[QueueSlot]
    index: EpisodeIndex
    #: (episode id, why) of slots waiting for this judge that a judge's screen cannot show
    unjudgeable: list[tuple[str, str]] = field(default_factory=list)
    #: judge id -> slots still waiting for it, for every judge id of the run (this one included)
    waiting_by_judge: dict[str, int] = field(default_factory=dict)
    #: a notice about the run's files (a torn last line, unreadable lines), or None
    notice: str | None = None

    @classmethod
    def load(cls, run_dir: str | Path, judge_id: str, *, seed: int = 0) -> JudgingQueue:
        """Read the run's pending and given judgments for `judge_id` (every episode is parsed once, none is
        kept). Raises ValueError for an unsafe judge id and `StoreError` when `run_dir` is not a run or its
        `judgments.jsonl` is damaged (naming the file and line)."""
        check_judge_id(judge_id)
        run = resolve_run_dir(run_dir)
        try:
            given = read_submissions(run)
        except ValueError as err:  # a corrupt judgments.jsonl line
            raise StoreError(str(err)) from None
        index = EpisodeIndex(run)
        index.scan()
        slots: list[QueueSlot] = []
        unjudgeable: list[tuple[str, str]] = []
        waiting: Counter[str] = Counter()
        for row in index.rows:
            # only a line holding a pending judgment is worth parsing (escaped in text, the key cannot match)
            raw = index.raw(row)
            if row.superseded or not any(mark in raw for mark in _PENDING):
                continue
            for p in episode_pending(index.episode(row)):
                waiting[p.judge_id] += 1
                if p.judge_id != judge_id:
                    continue
                why = _why_not(p)
                if why:
                    unjudgeable.append((p.episode_id, why))
                else:
                    path = tuple(p.path)
                    key = order_key(judge_id, seed, p.episode_id, path)
                    slots.append(QueueSlot(p.episode_id, path, key, False, row))
        for episode_id, subs in given.items():
            for sub in subs:
                if _given_by(sub.judgment) == judge_id:
                    path = tuple(sub.path)
                    slots.append(QueueSlot(episode_id, path, order_key(judge_id, seed, episode_id, path), True))
        slots.sort(key=lambda s: s.key)
        return cls(
            run_dir=run,
            judge_id=judge_id,
            seed=seed,
            slots=_dedupe(slots),
            index=index,
            unjudgeable=unjudgeable,
            waiting_by_judge=dict(waiting),
            notice=_notice(index),
        )

    @property
    def total(self) -> int:
        """Every slot of this judge that can be judged here (done ones included)."""
        return len(self.slots)

    @property
    def judged(self) -> int:
        return sum(1 for s in self.slots if s.judged)

    def current(self) -> QueueSlot | None:
        """The first slot not judged yet, in the seeded order (None when all are)."""
        return next((s for s in self.slots if not s.judged), None)

    def position(self, slot: QueueSlot) -> int:
        """`slot`'s 1-based place in the order."""
        return self.slots.index(slot) + 1

    def pending(self, slot: QueueSlot) -> PendingJudgment:
        """The pending judgment of `slot`, read from the run now (its episode, path and the view to show).
        Raises ValueError (and marks the slot judged) when it is judged already, e.g. by another session of the
        same judge; `StoreError` when its line cannot be read."""
        if slot.row is None or slot.judged:
            raise ValueError(f"episode {slot.episode_id}: judged already")
        self.index.scan()  # picks up judgments given meanwhile (judgments.jsonl re-read when it grew)
        for p in episode_pending(self.index.episode(slot.row)):
            if tuple(p.path) == slot.path:
                return p
        slot.judged = True
        raise ValueError(f"episode {slot.episode_id}: the judgment at {list(slot.path)} is not pending (judged)")

    def submit(
        self,
        slot: QueueSlot,
        probabilities: Sequence[float],
        *,
        rationale: str = "",
        detail: dict[str, Any] | None = None,
    ) -> Judgment:
        """Record the judge's verdict for `slot` (probabilities indexed like the episode's choices) as one atomic
        line of `judgments.jsonl`, with `detail` and the slot's place in the order (`queue`) under
        `meta["human"]`; returns the judgment written and marks the slot judged.

        Raises ValueError (nothing written) when the slot is judged already, here or by another session of the
        same judge (then the slot is marked judged too), or the probabilities do not fit; `StoreError` when the
        episode is gone from the run."""
        if slot.judged:
            raise ValueError(f"episode {slot.episode_id}: judged already")
        record = {**(detail or {}), "queue": {"seed": self.seed, "position": self.position(slot), "of": self.total}}
        try:
            judgment = submit_judgment(
                self.run_dir,
                slot.episode_id,
                slot.path,
                probabilities,
                rationale=rationale,
                judge_id=self.judge_id,
                detail=record,
            )
        except ValueError as err:
            if "not pending" in str(err):
                slot.judged = True  # another session of this judge got there first
            raise
        slot.judged = True
        return judgment

    def close(self) -> None:
        """Release the run's file mapping; safe to call twice."""
        self.index.close()

    def __enter__(self) -> JudgingQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def order_key(judge_id: str, seed: int, episode_id: str, path: Sequence[int]) -> str:
    """A slot's place in `judge_id`'s seeded order (compared as strings)."""
    return stable_hash({"judge": judge_id, "seed": seed, "episode": episode_id, "path": list(path)}, length=24)


def _why_not(p: PendingJudgment) -> str | None:
    """Why a judge's screen cannot show this slot, or None when it can."""
    if p.record is None:
        return "the pending judgment records no view"
    if p.record.context is not None:
        return "its view shows the hidden context (the expert tier)"
    if len(p.episode.choices) < 2:
        return "it has fewer than two answers to weigh"
    return None


def _given_by(j: Judgment) -> str | None:
    human = j.meta.get("human")
    return human.get("judge_id") if isinstance(human, dict) else None


def _dedupe(slots: list[QueueSlot]) -> list[QueueSlot]:
    seen: set[tuple[str, tuple[int, ...]]] = set()
    out = []
    for s in slots:  # a slot is either waiting or given; a repeated submission line must not count twice
        if (s.episode_id, s.path) not in seen:
            seen.add((s.episode_id, s.path))
            out.append(s)
    return out


def _notice(index: EpisodeIndex) -> str | None:
    if index.torn is not None:
        return (
            f"{index.path}: line {index.torn} is incomplete (a run still writing, or a crash mid-write); "
            "it is not queued"
        )
    if index.unreadable:
        line, why = index.problems[0]
        return f"{index.path}: {index.unreadable} unreadable line(s) skipped; line {line}: {why}"
    return None


__all__ = ["JudgingQueue", "QueueSlot", "order_key"]
