"""Judgments given after an episode was stored (a human judging offline), kept beside it in the run directory.

`episodes.jsonl` is append-only, so a pending judgment is never rewritten in place. Each judgment given later is
one line of `judgments.jsonl` (appended with a single write and flushed to disk, so a crash or a closed terminal
tears at most the line being written, and a torn last line is dropped on read). Readers lay the lines over the
stored episodes (`apply_submissions`; `oversight.store.iter_episodes` does it for every reader): the pending
judgment is replaced, a jury waiting for it is decided, and the episode's `correct` is recomputed.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from oversight.episode import Episode, Judgment, scored_correct
from oversight.metrics.jury import jury_judgment, rule_of

JUDGMENTS_FILE = "judgments.jsonl"


class SubmittedJudgment(BaseModel):
    """One line of `judgments.jsonl`: the episode, where the judgment goes (`path`: `[j]` is the episode's j-th
    judgment, `[j, k]` the k-th part of it, e.g. a jury's juror), the judgment, and when it was given."""

    episode: str
    path: list[int] = Field(min_length=1)
    judgment: Judgment
    submitted: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


def read_submissions(run_dir: str | Path) -> dict[str, list[SubmittedJudgment]]:
    """episode id -> its submitted judgments, in the order given (complete lines only; a torn last line is
    dropped). Raises ValueError naming the file and line for a corrupt line before the last."""
    path = Path(run_dir) / JUDGMENTS_FILE
    if not path.exists():
        return {}
    out: dict[str, list[SubmittedJudgment]] = {}
    lines = path.read_bytes().split(b"\n")
    complete = lines[:-1]  # the last piece is empty, or a torn line without its newline
    for lineno, raw in enumerate(complete, 1):
        if not raw.strip():
            continue
        try:
            sub = SubmittedJudgment.model_validate_json(raw)
        except ValueError as err:
            if lineno == len(complete):
                break  # a torn last line (partly flushed before a crash)
            raise ValueError(f"{path}:{lineno}: corrupt judgment line ({str(err).splitlines()[0]})") from None
        out.setdefault(sub.episode, []).append(sub)
    return out


def append_submission(run_dir: str | Path, sub: SubmittedJudgment) -> None:
    """Append `sub` as one line (one `write`, then `fsync`), after cutting a torn tail left by a crash."""
    path = Path(run_dir) / JUDGMENTS_FILE
    line = sub.model_dump_json().encode() + b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size:
            with path.open("rb") as f:
                data = f.read()
            keep = data.rfind(b"\n") + 1
            if keep < size:
                os.ftruncate(fd, keep)
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def judgment_at(ep: Episode, path: list[int]) -> Judgment:
    """The judgment at `path` in `ep` (see `SubmittedJudgment`); raises IndexError if there is none."""
    j = ep.judgments[path[0]]
    for k in path[1:]:
        j = j.parts[k]
    return j


def apply_submissions(ep: Episode, subs: list[SubmittedJudgment]) -> Episode:
    """`ep` (in place) with each submitted judgment in its pending slot; slots that are not pending (judged
    already, or never pending) are left as they are. A jury whose last pending juror is filled is decided by its
    recorded rule; `correct` is recomputed. Returns `ep`."""
    changed = False
    for sub in subs:
        try:
            current = judgment_at(ep, sub.path)
        except IndexError:
            continue
        if not current.pending:
            continue
        given = sub.judgment
        if given.view is None:
            given.view = current.view
        if not given.provenance.gold_source:
            given.provenance.gold_source = current.provenance.gold_source
        _place(ep, sub.path, given)
        changed = True
    if changed and ep.error is None:
        ep.correct = scored_correct(ep.final, ep.gold, ep.gold_answers)
    return ep


def _place(ep: Episode, path: list[int], given: Judgment) -> None:
    if len(path) == 1:
        ep.judgments[path[0]] = given
        return
    parent = judgment_at(ep, path[:-1])
    parent.parts[path[-1]] = given
    if parent.jury is not None:
        decided = jury_judgment(
            parent.judge,
            rule_of(parent.jury, parent.provenance.disagreement),
            parent.parts,
            parent.provenance.order_shown or list(range(len(ep.choices))),
            parent.jury.seed,
        )
        decided.view = parent.view
        decided.provenance.gold_source = parent.provenance.gold_source
        _place(ep, path[:-1], decided)


__all__ = [
    "JUDGMENTS_FILE",
    "SubmittedJudgment",
    "append_submission",
    "apply_submissions",
    "judgment_at",
    "read_submissions",
]
