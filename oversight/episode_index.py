"""Random access to a run's episodes: a byte-offset index of `episodes.jsonl` holding only what a list shows.

Opening a 100k-episode run must not parse 100k episodes. `EpisodeIndex.scan` maps the file, notes where each
line starts and reads only a row's list fields (ids, protocol/label, judge, task, status, tokens, cost). It reads
them at known places: `Episode.model_dump_json` writes the top-level keys in a fixed order, and the few values a
row needs sit at the start of the line (ids, judge, gold) and after the turns (correctness, usage, error, meta).
The episode's `meta` is parsed in full, which proves the place was the top level (a nested look-alike would leave
the rest of the line unbalanced); a line the fast path cannot read is parsed whole. `episode(row)` parses one
line; `seen(row, turn)` rebuilds one turn's prompts from `pool.jsonl`, which is indexed only when first needed.

The index never writes. Like every reader of the store, it drops a torn last line (reported in `torn`, and read
again by the next `scan` once the writer completes it), reports other unreadable lines in `problems` instead of
failing, and keeps the last of several lines with the same episode id (an errored episode re-run by a resume).

Judgments given after an episode was stored (a human judging offline: `judgments.jsonl`) are laid over it as every
reader of the store does: such an episode's row gets its status from the episode with them applied, `episode`
returns it judged, and each `scan` re-reads the file when it has grown (so `r` in the viewer shows new judgments).
"""

from __future__ import annotations

import json
import mmap
import re
import threading
from array import array
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from oversight.episode import Episode
from oversight.judgments_log import JUDGMENTS_FILE, SubmittedJudgment, apply_submissions, read_submissions
from oversight.store import EPISODES_FILE, POOL_FILE, SEEN_POOL, StoreError, pooled_messages
from oversight.types import ChatMessage


class Status(StrEnum):
    """How an episode ended, as the viewer lists it."""

    CORRECT = "correct"
    INCORRECT = "incorrect"
    INVALID = "invalid"  #: no readable final judgment (or no judgment at all)
    ERROR = "error"  #: the protocol raised; `error_type` says what
    UNSCORED = "unscored"  #: judged, but the question has no gold answer
    #: the final judgment waits for a human (`Judgment.pending`): never scored, never counted as wrong
    PENDING = "pending"


def status_of(
    *, correct: bool | None, scorable: bool, error_type: str | None, judged: bool, pending: bool = False
) -> Status:
    """The status of an episode from its stored fields; `scorable`: it has a gold choice or gold answers;
    `judged`: its final judgment is valid; `pending`: its final judgment waits for a human."""
    if error_type:
        return Status.ERROR
    if correct is not None:
        return Status.CORRECT if correct else Status.INCORRECT
    if pending:
        return Status.PENDING
    if not judged:
        return Status.INVALID
    return Status.INVALID if scorable else Status.UNSCORED


@dataclass(slots=True)
class Row:
    """The list fields of one episode line. `line` is 1-based; `offset`/`length` locate it (newline excluded)."""

    line: int
    offset: int
    length: int
    id: str
    question_id: str
    protocol: str
    label: str
    judge: str
    task: str
    status: Status
    tokens: int
    cost: float
    error_type: str | None
    superseded: bool = False  # a later line holds the same episode id


_S = rb'"([^"\\]*(?:\\.[^"\\]*)*)"'  # a JSON string, its text captured raw
_SN = rb'"[^"\\]*(?:\\.[^"\\]*)*"'
_HEAD = re.compile(rb'\{"id":' + _S + rb',"experiment":' + _SN + rb',"question_id":' + _S + rb',"protocol":' + _S)
_JUDGE_AT = b'},"judge":"'  # the roles dict closes, then the top-level judge (a string)
_JSTR = rb'"(?:[^"\\]|\\.)*"'
_JUDGE = re.compile(
    rb'\},"judge":' + _S + rb',"seed":-?\d+,"gold":(null|-?\d+),"gold_answers":\[((?:' + _JSTR + rb'(?:,' + _JSTR
    + rb')*)?)\],"choices":\['
)
_CHOICES = b',"choices":['
_TAIL_AT = b'],"correct":'  # the judgments list closes, then the top-level correctness
_TAIL = re.compile(
    rb'\],"correct":(true|false|null),"tokens":(-?\d+),"cost":([-+.eE0-9]+),"retries":\d+,"timings":\{[^{}]*\},'
    rb'"error":(?:null|' + _SN + rb'),"error_type":(null|' + _S + rb'),"meta":'
)
_ERROR_TYPE = b',"error_type":'
_POOL_AT = b',"' + SEEN_POOL.encode() + b'":['
_META_END = re.compile(rb'(?:[{,]"label":' + _S + rb')?(?:[{,]"task":' + _S + rb")?\}")
_JUDGMENTS_AT = b'],"judgments":['  # the turns list closes, then the top-level judgments
MAX_PROBLEMS = 100  # unreadable lines reported in detail (all are counted)


def _text(raw: bytes) -> str:
    return raw.decode() if b"\\" not in raw else json.loads(b'"' + raw + b'"')


class EpisodeIndex:
    """The rows of `<run_dir>/episodes.jsonl` by line, built by `scan` (callable again to pick up new lines).

    `rows` holds every line read, in file order, superseded duplicates included (see `Row.superseded`);
    `scan` may run in a worker thread while another thread reads `rows`. Raises `StoreError` only when the file
    cannot be opened.
    """

    def __init__(self, run_dir: str | Path, *, default_task: str = "") -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / EPISODES_FILE
        self.default_task = default_task  # the task of rows whose meta names none (a run with one task)
        self.rows: list[Row] = []
        self.problems: list[tuple[int, str]] = []  # (line, message) of the first MAX_PROBLEMS unreadable lines
        self.unreadable = 0
        self.replaced = 0  # lines superseded by a later line with the same id
        self.parsed_whole = 0  # lines the fast path could not read (parsed in full instead)
        self.torn: int | None = None  # line number of a torn last line (left for the next scan)
        self.size = 0  # bytes of the file indexed so far
        self._pos = 0
        self._line = 0
        self._by_id: dict[str, int] = {}
        self._mm: mmap.mmap | None = None
        self._mapped = 0
        self._scanned = False
        self._lock = threading.Lock()
        self._intern: dict[str, str] = {}
        self._pool: _Pool | None = None
        self._submitted: dict[str, list[SubmittedJudgment]] = {}  # judgments.jsonl, by episode id
        self._submitted_size = -1
        self.submissions_error: str | None = None  # why judgments.jsonl could not be read (then it is ignored)

    # -- scanning -------------------------------------------------------------------------------------------

    def scan(self, max_lines: int | None = None) -> int:
        """Index up to `max_lines` more lines (all when None); returns how many were read. Stops before a torn
        last line, so a later call reads it once complete."""
        with self._lock:
            self._scanned = True
            mm = self._map()
            if mm is None:
                return 0
            end = self._mapped
            self._refresh_submissions(mm)
            pos, line, done = self._pos, self._line, 0
            find = mm.find
            self.torn = None
            while max_lines is None or done < max_lines:
                nl = find(b"\n", pos, end)
                if nl < 0:
                    if pos < end:
                        self.torn = line + 1
                    break
                line += 1
                if nl > pos:
                    row = self._fast(mm, pos, nl, line)
                    if row is None:
                        self.parsed_whole += 1
                        row = self._slow(mm, pos, nl, line)
                    if isinstance(row, Row):
                        if row.id in self._submitted:
                            row.status = self._judged_status(mm, row)
                        self._add(row)
                    elif nl + 1 == end:  # an unreadable *last* line: torn by a crash mid-write, or being written
                        self.torn = line
                        line -= 1
                        break
                    else:
                        self._problem(line, row)
                pos = nl + 1
                done += 1
            self._pos, self._line, self.size = pos, line, pos
            return done

    def _refresh_submissions(self, mm: mmap.mmap) -> None:
        """Re-read `judgments.jsonl` if it changed size, and give the rows it now judges their new status."""
        path = self.run_dir / JUDGMENTS_FILE
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size == self._submitted_size:
            return
        self._submitted_size = size
        try:
            fresh = read_submissions(self.run_dir) if size else {}
            self.submissions_error = None
        except (OSError, ValueError) as err:
            self.submissions_error = str(err)
            return
        changed = {k for k, v in fresh.items() if len(v) != len(self._submitted.get(k, ()))}
        self._submitted = fresh
        for episode_id in changed:
            at = self._by_id.get(episode_id)
            if at is not None:
                row = self.rows[at]
                row.status = self._judged_status(mm, row)

    def _judged_status(self, mm: mmap.mmap, row: Row) -> Status:
        """`row`'s status once the judgments given later are applied to its episode (parsed in full)."""
        try:
            ep = self._overlaid(Episode.model_validate_json(mm[row.offset : row.offset + row.length]))
        except ValueError:
            return row.status
        final = ep.final
        return status_of(
            correct=ep.correct,
            scorable=ep.scorable,
            error_type=ep.error_type,
            judged=bool(final and final.valid),
            pending=bool(final and final.pending),
        )

    def _overlaid(self, ep: Episode) -> Episode:
        subs = self._submitted.get(ep.id)
        if not subs:
            return ep
        return apply_submissions(ep, [sub.model_copy(deep=True) for sub in subs])  # the cache stays as read

    @property
    def complete(self) -> bool:
        """Whether `scan` has reached the end of the file as last mapped (a torn last line aside)."""
        return self._scanned and (self._pos >= self._mapped or self.torn is not None)

    def _map(self) -> mmap.mmap | None:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return None
        except OSError as err:
            raise StoreError(f"{self.path}: cannot read ({err})") from None
        if size == 0:
            return None
        if self._mm is None or size != self._mapped:
            if size < self._pos:
                raise StoreError(f"{self.path}: the file shrank while it was being read; reopen the run")
            try:
                with self.path.open("rb") as f:
                    mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except OSError as err:
                raise StoreError(f"{self.path}: cannot read ({err})") from None
            old, self._mm, self._mapped = self._mm, mm, size
            if old is not None:
                old.close()
        return self._mm

    def _fast(self, mm: mmap.mmap, start: int, end: int, line: int) -> Row | None:
        """The row of a line written by `Episode.model_dump_json`, or None (then the line is parsed whole).

        Each value is read where the fixed key order puts it. A look-alike nested deeper (inside the config or a
        turn) would put the real key after it: the finds for a second `choices` / `error_type` key reject that.
        """
        head = _HEAD.match(mm, start, end)
        if head is None:
            return None
        judge_at = mm.find(_JUDGE_AT, head.end(), end)
        judge = _JUDGE.match(mm, judge_at, end) if judge_at >= 0 else None
        if judge is None:
            return None
        at = mm.find(_TAIL_AT, judge.end(), end)
        tail = _TAIL.match(mm, at, end) if at >= 0 else None
        if tail is None or mm.find(_CHOICES, judge.end(), at) >= 0 or mm.find(_ERROR_TYPE, tail.end(), end) >= 0:
            return None
        found = _label_and_task(mm, tail.end(), end)
        if found is None:
            return None
        label, task = found
        correct = True if tail.group(1) == b"true" else False if tail.group(1) == b"false" else None
        gold = None if judge.group(2) == b"null" else int(judge.group(2))
        scorable = gold is not None or bool(judge.group(3))
        error_type = None if tail.group(4) == b"null" else _text(tail.group(5))
        judged = pending = False
        if correct is None and error_type is None:  # only then does the status depend on the final judgment
            final = _final_judgment(mm, judge.end(), at)
            if final is None:
                return None
            judged, pending = final
        protocol = _text(head.group(3))
        return self._row(
            line,
            start,
            end - start,
            _text(head.group(1)),
            _text(head.group(2)),
            protocol,
            label or protocol,
            _text(judge.group(1)),
            task,
            status_of(correct=correct, scorable=scorable, error_type=error_type, judged=judged, pending=pending),
            int(tail.group(2)),
            float(tail.group(3)),
            error_type,
        )

    def _slow(self, mm: mmap.mmap, start: int, end: int, line: int) -> Row | str:
        try:
            data = json.loads(mm[start:end])
        except ValueError as err:
            return f"not JSON ({err})"
        try:
            meta = data.get("meta") or {}
            label, task = meta.get("label"), meta.get("task")
            judgments = data.get("judgments") or []
            final = judgments[-1] if judgments else None
            judged = bool(final and final.get("valid", True))
            pending = bool(final and final.get("pending", False))
            protocol = str(data["protocol"])
            error_type = data.get("error_type")
            scorable = data.get("gold") is not None or bool(data.get("gold_answers"))
            status = status_of(
                correct=data.get("correct"), scorable=scorable, error_type=error_type, judged=judged, pending=pending
            )
            return self._row(
                line,
                start,
                end - start,
                str(data["id"]),
                str(data.get("question_id", "")),
                protocol,
                label if isinstance(label, str) and label else protocol,
                str(data.get("judge", "")),
                task if isinstance(task, str) else None,
                status,
                int(data.get("tokens", 0)),
                float(data.get("cost", 0.0)),
                error_type,
            )
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            return f"not an episode ({type(err).__name__}: {err})"

    def _row(
        self,
        line: int,
        offset: int,
        length: int,
        id: str,
        question_id: str,
        protocol: str,
        label: str,
        judge: str,
        task: Any,
        status: Status,
        tokens: int,
        cost: float,
        error_type: str | None,
    ) -> Row:
        intern = self._intern
        task = str(task) if task else self.default_task
        return Row(
            line,
            offset,
            length,
            id,
            question_id,
            intern.setdefault(protocol, protocol),
            intern.setdefault(label, label),
            intern.setdefault(judge, judge),
            intern.setdefault(task, task),
            status,
            tokens,
            cost,
            error_type,
        )

    def _add(self, row: Row) -> None:
        old = self._by_id.get(row.id)
        if old is not None:
            self.rows[old].superseded = True
            self.replaced += 1
        self._by_id[row.id] = len(self.rows)
        self.rows.append(row)

    def _problem(self, line: int, message: str) -> None:
        self.unreadable += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append((line, message))

    # -- reading one episode ----------------------------------------------------------------------------------

    def raw(self, row: Row) -> bytes:
        """The bytes of `row`'s line (without its newline)."""
        with self._lock:
            if self._mm is None:
                raise StoreError(f"{self.path}: not indexed yet")
            return self._mm[row.offset : row.offset + row.length]

    def episode(self, row: Row) -> Episode:
        """The full Episode of `row`, with the judgments given later applied (turns' pooled prompts not rebuilt:
        see `seen`); raises `StoreError`."""
        try:
            ep = Episode.model_validate_json(self.raw(row))
        except ValueError as err:
            raise StoreError(f"{self.path}:{row.line}: corrupt episode line ({str(err).splitlines()[0]})") from None
        return self._overlaid(ep)

    def seen(self, row: Row, episode: Episode, turn: int) -> list[ChatMessage] | None:
        """The messages turn `turn` of `row`'s episode saw: stored inline, or rebuilt from the pool (read lazily).
        None when the turn saw no prompt (a programmatic speaker). Raises `StoreError` on a broken reference."""
        stored = episode.turns[turn].seen
        if stored is not None:
            return stored
        raw = self.raw(row)
        at = raw.rfind(_POOL_AT)
        if at < 0:
            return None
        where = f"{self.path}:{row.line}"
        try:
            refs = json.loads(raw[at + len(_POOL_AT) - 1 : -1])
        except ValueError:
            raise StoreError(f"{where}: unreadable {SEEN_POOL}") from None
        if not isinstance(refs, list) or len(refs) != len(episode.turns):
            raise StoreError(f"{where}: {SEEN_POOL} does not match the episode's turns")
        if refs[turn] is None:
            return None
        if self._pool is None:
            self._pool = _Pool(self.run_dir / POOL_FILE)
        return pooled_messages(refs[turn], self._pool, where)

    def close(self) -> None:
        """Release the file mappings; safe to call twice."""
        with self._lock:
            if self._mm is not None:
                self._mm.close()
                self._mm = None
            if self._pool is not None:
                self._pool.close()
                self._pool = None


def _final_judgment(mm: mmap.mmap, start: int, at: int) -> tuple[bool, bool] | None:
    """(valid, pending) of the last judgment of the top-level `judgments` list that closes at `at`, or
    (False, False) when the list is empty; None when it cannot be read that way (then the line is parsed whole).

    The list is parsed in full: a judgment's own `valid` is followed by its parts (a swapped judge's two orders,
    a jury's jurors), which hold `valid` keys of their own. Its opening is the last `],"judgments":[` before
    `at`; a look-alike key nested inside a judgment would leave the slice unbalanced, and the parse fails."""
    opening = mm.rfind(_JUDGMENTS_AT, start, at)
    if opening < 0:
        return None
    try:
        judgments = json.loads(mm[opening + len(_JUDGMENTS_AT) - 1 : at + 1])
    except ValueError:
        return None
    if not isinstance(judgments, list):
        return None
    if not judgments:
        return False, False
    final = judgments[-1]
    if not isinstance(final, dict):
        return None
    return bool(final.get("valid", True)), bool(final.get("pending", False))


def _label_and_task(mm: mmap.mmap, start: int, end: int) -> tuple[str | None, str | None] | None:
    """The runner's `label` and `task` keys of the `meta` object from `start` to the end of the episode line (the
    runner adds them last), or None when the span cannot be read that cheaply."""
    stop = end - 1  # the episode's closing brace
    if mm[stop:end] != b"}":
        return None
    at = mm.rfind(_POOL_AT, start, end)
    if at >= 0:  # a top-level `seen_pool` is the last key, and its ids and role names hold no brace
        if mm.find(b"}", at, stop) >= 0:
            return None
        stop = at
    label_at = mm.rfind(b'"label":"', start, stop)
    task_at = mm.rfind(b'"task":"', start, stop)
    if label_at < 0 and task_at < 0:
        return None, None
    first = min(x for x in (label_at, task_at) if x >= 0) - 1
    found = _META_END.fullmatch(mm, first, stop)
    if found is not None:  # both keys, if there, close the object: they are `meta`'s own
        return (
            None if found.group(1) is None else _text(found.group(1)),
            None if found.group(2) is None else _text(found.group(2)),
        )
    try:
        meta = json.loads(mm[start:stop])
    except ValueError:
        return None
    if not isinstance(meta, dict):
        return None
    label, task = meta.get("label"), meta.get("task")
    return (label if isinstance(label, str) else None, task if isinstance(task, str) else None)


class _Pool:
    """`pool.jsonl` by paragraph id, line offsets found only as far as the highest id asked for."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mm: mmap.mmap | None = None
        self._starts = array("q", [0])
        self._end = 0
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return
        if size:
            with path.open("rb") as f:
                self._mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            self._end = size

    def __getitem__(self, pid: int) -> str:
        if not isinstance(pid, int) or pid < 0:
            raise IndexError(f"paragraph id {pid!r}")
        starts, mm = self._starts, self._mm
        while len(starts) <= pid + 1:
            nl = -1 if mm is None else mm.find(b"\n", starts[-1], self._end)
            if nl < 0:
                raise IndexError(f"paragraph {pid} is not in {self.path.name}")
            starts.append(nl + 1)
        assert mm is not None
        try:
            text = json.loads(mm[starts[pid] : starts[pid + 1] - 1])
        except ValueError:
            raise IndexError(f"{self.path.name}:{pid + 1} is not a JSON string") from None
        if not isinstance(text, str):
            raise IndexError(f"{self.path.name}:{pid + 1} is not a JSON string")
        return text

    def close(self) -> None:
        if self._mm is not None:
            self._mm.close()
            self._mm = None


__all__ = ["EpisodeIndex", "Row", "Status", "status_of"]
