"""Pending judgments: the store's public API for judging a run offline (the terminal UI reads and writes only
through it).

A human judge without a live interface leaves its judgment *pending* (`Judgment.pending`): not valid, not
invalid, never scored; `oversight show`, `oversight compare` and the run summary count it on its own. A jury
with a pending juror is pending too. `pending_judgments(run_dir)` lists what is waiting (with the view to show
the judge, rebuilt from the episode), and `submit_judgment` records a person's verdict (one atomic append to
`judgments.jsonl`); every reader of the run then sees the episode judged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oversight.episode import Episode, JudgeView, Judgment, Provenance
from oversight.human_channel import checked_probabilities
from oversight.judge_entry import check_judge_id
from oversight.judge_view import rebuild_transcript
from oversight.judgments_log import (
    SubmittedJudgment,
    append_submission,
    apply_submissions,
    judgment_at,
    read_submissions,
)
from oversight.store import EPISODES_FILE, StoreError, iter_episodes, resolve_run_dir
from oversight.transcript import View


@dataclass(slots=True)
class PendingJudgment:
    """One judgment waiting for a human: the episode and `path` of the slot, the judge id it waits for, and the
    view (recorded with the judgment, or with the jury it belongs to) that the judge is to be shown."""

    episode: Episode
    path: list[int]
    judge_id: str
    record: JudgeView | None

    @property
    def episode_id(self) -> str:
        return self.episode.id

    def view(self) -> View:
        """The view to show the judge: the one a model judge got, rebuilt from the stored episode. Raises
        `oversight.judge_view.ViewRecordError` when the episode records none."""
        from oversight.judge_view import ViewRecordError

        if self.record is None:
            raise ViewRecordError(f"episode {self.episode.id}: the pending judgment records no view")
        return rebuild_transcript(self.episode, self.record)[1]


def _judge_id(j: Judgment) -> str:
    human = j.meta.get("human")
    if isinstance(human, dict) and isinstance(human.get("judge_id"), str):
        return human["judge_id"]
    return j.judge.removeprefix("human/")


Slot = tuple[list[int], Judgment, JudgeView | None]


def _walk(j: Judgment, path: list[int], view: JudgeView | None) -> Iterator[Slot]:
    view = j.view or view
    if j.parts:
        for k, part in enumerate(j.parts):
            yield from _walk(part, [*path, k], view)
    elif j.pending:
        yield path, j, view


def episode_pending(ep: Episode) -> list[PendingJudgment]:
    """The pending slots of one episode (innermost: a jury's pending jurors, not the jury)."""
    out = []
    for i, j in enumerate(ep.judgments):
        for path, leaf, view in _walk(j, [i], None):
            out.append(PendingJudgment(ep, path, _judge_id(leaf), view))
    return out


def pending_judgments(run_dir: str | Path, judge_id: str | None = None) -> list[PendingJudgment]:
    """Every judgment of the run still waiting for a human (for `judge_id` only, when given), in episode order.
    Raises `StoreError` when `run_dir` is not a run, ValueError for an unsafe judge id."""
    if judge_id is not None:
        check_judge_id(judge_id)
    run = resolve_run_dir(run_dir)
    out = []
    for ep in iter_episodes(run, seen=False):  # a judge's view needs the turns, not the prompts behind them
        out += [p for p in episode_pending(ep) if judge_id is None or p.judge_id == judge_id]
    return out


def find_episode(run_dir: str | Path, episode_id: str) -> Episode | None:
    """The episode `episode_id` of a run (judgments given later applied; turns without their prompts), found by
    scanning for its line rather than parsing every episode. Raises `StoreError` when `run_dir` is not a run."""
    run = resolve_run_dir(run_dir)
    path = run / EPISODES_FILE
    if not path.exists():
        return None
    prefix = b'{"id":' + json.dumps(episode_id).encode() + b","  # every stored episode line starts with its id
    with path.open("rb") as f:
        for raw in f:
            if raw.startswith(prefix) and raw.endswith(b"\n"):
                ep = Episode.model_validate_json(raw)
                subs = read_submissions(run).get(ep.id)
                return apply_submissions(ep, subs) if subs else ep
    # a line written some other way (keys in another order): the slow, sure path
    return next((e for e in iter_episodes(run, seen=False) if e.id == episode_id), None)


def submit_judgment(
    run_dir: str | Path,
    episode_id: str,
    path: Sequence[int],
    probabilities: Sequence[float],
    *,
    rationale: str = "",
    judge_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> Judgment:
    """Record a human's verdict for the pending slot `path` of episode `episode_id`: one probability per answer,
    indexed like the episode's choices (not as shown). `detail` (seconds spent, the probability trajectory, ...)
    is stored under `meta["human"]`. Returns the judgment written.

    Raises `StoreError` when `run_dir` is not a run or the episode is not in it, ValueError when the slot is not
    pending (never was, or judged already), `judge_id` is not the judge it waits for, or the probabilities do
    not fit (wrong count, outside [0, 1], not summing to 1). Nothing is written when it raises.
    """
    run = resolve_run_dir(run_dir)
    ep = find_episode(run, episode_id)
    if ep is None:
        raise StoreError(f"{run}: no episode {episode_id!r}")
    path = list(path)
    try:
        slot = judgment_at(ep, path)
    except IndexError:
        raise ValueError(f"episode {episode_id}: no judgment at {path}") from None
    if not slot.pending:
        raise ValueError(f"episode {episode_id}: the judgment at {path} is not pending (judged already?)")
    waiting_for = _judge_id(slot)
    if judge_id is not None and judge_id != waiting_for:
        raise ValueError(f"episode {episode_id}: the judgment at {path} waits for {waiting_for!r}, not {judge_id!r}")
    probs = checked_probabilities(probabilities, len(ep.choices))
    order = slot.provenance.order_shown or list(range(len(ep.choices)))
    choice = max(order, key=lambda i: (probs[i], -order.index(i)))
    prov: Provenance = slot.provenance.model_copy()
    judgment = Judgment(
        judge=slot.judge,
        probabilities=probs,
        choice=choice,
        valid=True,
        method="human",
        rationale=rationale,
        provenance=prov,
        view=slot.view,
        meta={"human": {"judge_id": waiting_for, **(detail or {})}},
    )
    append_submission(run, SubmittedJudgment(episode=episode_id, path=path, judgment=judgment))
    return judgment


__all__ = ["PendingJudgment", "episode_pending", "find_episode", "pending_judgments", "submit_judgment"]
