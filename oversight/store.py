"""The run store: `runs/<experiment>/<run-id>/` with `spec.json`, `episodes.jsonl`, `pool.jsonl`, `summary.json`.

`episodes.jsonl` is append-only, one JSON object per finished episode, flushed per line. A crash can leave a
torn last line (no trailing newline, or unparseable); readers drop it, and `EpisodeWriter` cuts it off before
appending so a resumed run never glues a new line onto half an old one.

Message pooling: the prompts a turn saw (`Turn.seen`) repeat the transcript so far, so storing them inline grows
an episode with the square of its rounds. The writer splits each message at blank lines into paragraphs, writes
each distinct paragraph once per run to `pool.jsonl` (one JSON string per line; the line number is its id) and
stores a turn's `seen` as `[[role, [paragraph ids]], ...]` under the episode line's `seen_pool`. Readers rebuild
the very same messages. Pool lines are written before the episode line that refers to them, so a crash never
leaves a reference to a missing paragraph. Runs written before pooling (inline `seen`) read as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oversight.episode import Episode
from oversight.judgments_log import apply_submissions, read_submissions
from oversight.types import ChatMessage, trusted

if TYPE_CHECKING:
    import pandas

log = logging.getLogger(__name__)

SPEC_FILE = "spec.json"
EPISODES_FILE = "episodes.jsonl"
POOL_FILE = "pool.jsonl"
SUMMARY_FILE = "summary.json"

#: key of the pooled `seen` of every turn in a stored episode line (absent when no turn saw a prompt)
SEEN_POOL = "seen_pool"
_PARAGRAPH = "\n\n"
#: `json.dumps(text, ensure_ascii=False)` for a str, without building an encoder per call (half its cost)
_json_text = json.encoder.encode_basestring
#: how many distinct paragraphs the writer remembers for de-duplication (older ones may be stored again)
MESSAGE_MEMO_SIZE = 64  # messages whose paragraph ids are remembered whole
POOL_INDEX_SIZE = 65_536


class StoreError(Exception):
    """A run directory is missing, or holds a corrupt file (the message names the file and line)."""


def write_json(path: Path, data: Any) -> None:
    """Write `data` as indented JSON atomically (temp file + rename), so readers never see half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in `path`; raises `StoreError` if missing or corrupt."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise StoreError(f"{path}: not found") from None
    except json.JSONDecodeError as err:
        raise StoreError(f"{path}: corrupt JSON ({err})") from None


def good_prefix_length(path: Path) -> int:
    """Byte length of `episodes.jsonl` up to and including its last complete, parseable line.

    Only the last line can be torn by a crash (each line is one `write`), so only the last line is examined.
    """
    if not path.exists():
        return 0
    size = path.stat().st_size
    if size == 0:
        return 0
    with path.open("rb") as f:
        f.seek(size - 1)
        complete = f.read(1) == b"\n"
        start = _rfind_newline(f, size - 1 if complete else size) + 1
        if not complete:
            return start
        f.seek(start)
        last = f.read(size - start)
    try:
        json.loads(last)
    except ValueError:
        return start
    return size


def _rfind_newline(f: Any, end: int, chunk: int = 1 << 16) -> int:
    """Offset of the last newline before byte `end`, or -1; reads backwards in chunks."""
    pos = end
    while pos > 0:
        step = min(chunk, pos)
        f.seek(pos - step)
        block = f.read(step)
        i = block.rfind(b"\n")
        if i >= 0:
            return pos - step + i
        pos -= step
    return -1


def iter_episodes(run_dir: str | Path, *, seen: bool = True) -> Iterator[Episode]:
    """Stream the episodes of a run, one per id, dropping a torn last line; raises `StoreError` on other damage.

    When an id occurs on several lines the last one wins: `oversight resume` appends a new record for an episode
    it re-ran after an error (append-only, so a crash never loses the old one), and a run written by two processes
    at once (before run directories were locked) holds duplicates. Duplicates of finished episodes are logged as a
    warning (`oversight.store`). `seen=False` skips rebuilding each turn's `seen` messages from the pool (cheaper,
    for counting and summaries; turns then have `seen=None` unless the run stored them inline). Judgments given
    after an episode was stored (`judgments.jsonl`, see `oversight.judgments_log`) replace its pending ones.
    """
    path = Path(run_dir) / EPISODES_FILE
    if not path.exists():
        return
    try:
        submitted = read_submissions(run_dir)
    except ValueError as err:
        raise StoreError(str(err)) from None
    limit = good_prefix_length(path)
    superseded = superseded_lines(path, limit)
    last_superseded = max(superseded, default=0)
    replaced_finished = 0
    pool: list[str] | None = None
    with path.open("rb") as f:
        lineno = 0
        offset = 0
        for raw in f:
            lineno += 1
            offset += len(raw)
            if offset > limit:
                return  # a torn last line (or one appended after this read began)
            if not raw.strip():
                continue
            if lineno in superseded:
                replaced_finished += _is_finished(raw)
                if lineno == last_superseded and replaced_finished:
                    _warn_duplicates(path, replaced_finished)
                continue
            try:
                ep = Episode.model_validate_json(raw)
            except ValueError as err:
                raise StoreError(f"{path}:{lineno}: corrupt episode line ({str(err).splitlines()[0]})") from None
            if seen and SEEN_POOL.encode() in raw:  # cheap test first; the parse below decides
                refs = json.loads(raw).get(SEEN_POOL)
                if refs is not None:
                    if pool is None:
                        pool = read_pool(run_dir)
                    _unpool(ep, refs, pool, f"{path}:{lineno}")
            if submitted and ep.id in submitted:
                apply_submissions(ep, submitted[ep.id])
            yield ep


def superseded_lines(path: Path, limit: int | None = None) -> set[int]:
    """Line numbers (1-based) of episode lines a later line with the same id replaces, in the first `limit` bytes.

    Memory stays compact for very large runs: per line, an 8-byte hash of its id, its byte offset and its line
    number in arrays, sorted once; only lines whose hash repeats are read again (by offset) to compare full ids.
    """
    limit = good_prefix_length(path) if limit is None else limit
    keys: array[int] = array("Q")
    offsets: array[int] = array("Q")
    lines: array[int] = array("I")
    with path.open("rb") as f:
        offset = 0
        for lineno, raw in enumerate(_lines_within(f, limit), 1):
            eid = _line_id(raw)
            if eid is not None:
                keys.append(_key_of(eid))
                offsets.append(offset)
                lines.append(lineno)
            offset += len(raw)
    if len(keys) < 2:
        return set()
    import numpy as np

    arr = np.frombuffer(keys, dtype=np.uint64)
    order = np.argsort(arr, kind="stable")
    ordered = arr[order]
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return set()
    repeated = np.zeros(len(arr), dtype=bool)
    repeated[1:] |= same
    repeated[:-1] |= same
    del ordered, same
    last: dict[bytes, int] = {}
    out: set[int] = set()
    with path.open("rb") as f:
        for i in np.sort(order[repeated]):  # the lines whose key repeats, in file order
            f.seek(offsets[i])
            eid = _line_id(f.readline())
            earlier = last.get(eid)  # type: ignore[arg-type]
            if earlier is not None:
                out.add(earlier)
            last[eid] = lines[i]  # type: ignore[index]
    return out


def _lines_within(f: Any, limit: int) -> Iterator[bytes]:
    offset = 0
    for raw in f:
        offset += len(raw)
        if offset > limit:
            return
        yield raw


_ID_PREFIX = b'{"id":"'


def _line_id(raw: bytes) -> bytes | None:
    """The episode id of a stored line (None for blank lines); our writer puts `id` first, others are parsed."""
    if raw.startswith(_ID_PREFIX):
        end = raw.find(b'"', len(_ID_PREFIX))
        if end > 0 and b"\\" not in raw[len(_ID_PREFIX) : end]:
            return raw[len(_ID_PREFIX) : end]
    if not raw.strip():
        return None
    try:
        value = json.loads(raw).get("id")
    except (ValueError, AttributeError):
        return None  # a corrupt line: reported when it is read
    return str(value).encode() if value is not None else None


def _key_of(eid: bytes) -> int:
    # A hash of the whole id, not a prefix of it: ids that differ only at the end must not share keys.
    return int.from_bytes(hashlib.blake2b(eid, digest_size=8).digest(), "big")


def _is_finished(raw: bytes) -> bool:
    try:
        return json.loads(raw).get("error") is None
    except (ValueError, AttributeError):
        return False


def _warn_duplicates(path: Path, n: int) -> None:
    log.warning(
        "%s: %s finished episode(s) recorded more than once (two processes wrote this run?); the last record of "
        "each id is read",
        path,
        f"{n:,}",
    )


def read_pool(run_dir: str | Path) -> list[str]:
    """The paragraphs of a run's message pool, by id (complete lines only); raises `StoreError` if corrupt."""
    path = Path(run_dir) / POOL_FILE
    if not path.exists():
        return []
    limit = good_prefix_length(path)
    with path.open("rb") as f:
        data = f.read(limit)
    out: list[str] = []
    for lineno, raw in enumerate(data.split(b"\n")[:-1] if data else [], 1):
        try:
            out.append(json.loads(raw))
        except ValueError as err:
            raise StoreError(f"{path}:{lineno}: corrupt pool line ({err})") from None
    return out


def _unpool(ep: Episode, refs: Any, pool: list[str], where: str) -> None:
    if not isinstance(refs, list) or len(refs) != len(ep.turns):
        raise StoreError(f"{where}: {SEEN_POOL} does not match the episode's turns")
    for turn, messages in zip(ep.turns, refs, strict=True):
        if messages is not None:
            turn.seen = pooled_messages(messages, pool, where)


def pooled_messages(refs: Any, pool: Sequence[str], where: str) -> list[ChatMessage]:
    """The messages one turn saw, rebuilt from its entry of an episode line's `seen_pool` (`[[role, [paragraph
    ids]], ...]`) and a run's pool (anything indexable by paragraph id). Raises `StoreError` naming `where` when
    the refs are malformed or name paragraphs the pool does not hold."""
    try:
        return [trusted(ChatMessage, role=role, content=_PARAGRAPH.join(pool[i] for i in ids)) for role, ids in refs]
    except (IndexError, TypeError, ValueError) as err:
        raise StoreError(f"{where}: {SEEN_POOL} refers to paragraphs the pool does not hold ({err})") from None


def finished_ids(run_dir: str | Path) -> dict[str, tuple[int, float]]:
    """id -> (tokens, cost) of every episode already in the run, the last record of each id (cheap: no full
    validation)."""
    path = Path(run_dir) / EPISODES_FILE
    out: dict[str, tuple[int, float]] = {}
    if not path.exists():
        return out
    limit = good_prefix_length(path)
    with path.open("rb") as f:
        data = f.read(limit)
    for lineno, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
            out[row["id"]] = (int(row.get("tokens", 0)), float(row.get("cost", 0.0)))
        except (ValueError, KeyError, TypeError) as err:
            raise StoreError(f"{path}:{lineno}: corrupt episode line ({err})") from None
    return out


class EpisodeWriter:
    """Appends episodes to `episodes.jsonl` (one line each, flushed per line) and their prompts' paragraphs to
    `pool.jsonl`. Cuts a torn tail of either file on open. `pool=False` stores `seen` inline (as before pooling).
    """

    def __init__(self, run_dir: str | Path, *, pool: bool = True) -> None:
        run_dir = Path(run_dir)
        self.path = run_dir / EPISODES_FILE
        self.pool_path = run_dir / POOL_FILE
        _cut_torn_tail(self.path)
        self._f = self.path.open("ab", buffering=0)
        self._pool: Any = None
        self._next_id = 0
        self._index: dict[bytes, int] = {}
        self._memo: dict[str, list[int]] = {}  # message text -> its paragraph ids (bounded, oldest out)
        if pool:
            _cut_torn_tail(self.pool_path)
            if self.pool_path.exists():
                with self.pool_path.open("rb") as f:
                    self._next_id = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
            self._pool = self.pool_path.open("ab", buffering=0)
        self.written = 0

    def write(self, episode: Episode) -> None:
        """Append one episode as a single line (one `write` syscall, so a crash tears at most this line), after
        the pool paragraphs it refers to."""
        if self._pool is None or not any(t.seen for t in episode.turns):
            self._f.write(episode.model_dump_json().encode() + b"\n")
            self.written += 1
            return
        new: list[bytes] = []
        # paragraph text -> its index key, for this episode's prompts: its passage's paragraphs and earlier turns
        # recur in each of them (kept no longer, so a run's memory does not grow with it)
        digests: dict[str, bytes] = {}
        refs = [
            None if not t.seen else [[m.role, self._ids(m.content, new, digests)] for m in t.seen]
            for t in episode.turns
        ]
        if new:
            self._pool.write(b"".join(new))
        saved = [t.seen for t in episode.turns]
        try:
            for t in episode.turns:
                t.__dict__["seen"] = None  # dumped without it; restored below
            line = episode.model_dump_json().encode()
        finally:
            for t, s in zip(episode.turns, saved, strict=True):
                t.__dict__["seen"] = s
        tail = b',"' + SEEN_POOL.encode() + b'":' + json.dumps(refs, separators=(",", ":")).encode() + b"}\n"
        self._f.write(line[:-1] + tail)
        self.written += 1

    def _ids(self, content: str, new: list[bytes], digests: dict[str, bytes]) -> list[int]:
        # A message sent many times (a role's system prompt) is split and hashed once: its paragraphs' ids stay
        # valid for the file's life (the pool only grows), so the memo never points at a missing line.
        known = self._memo.get(content)
        if known is not None:
            return known
        ids = self._split_ids(content, new, digests)
        if len(self._memo) >= MESSAGE_MEMO_SIZE:
            del self._memo[next(iter(self._memo))]
        self._memo[content] = ids
        return ids

    def _split_ids(self, content: str, new: list[bytes], digests: dict[str, bytes]) -> list[int]:
        ids = []
        index = self._index
        for para in content.split(_PARAGRAPH):
            # The key is still looked up in the index (not the id remembered with the text): what the index has
            # forgotten is stored again exactly as before.
            key = digests.get(para)
            if key is None:
                key = digests[para] = hashlib.blake2b(para.encode(), digest_size=16).digest()
            pid = index.get(key)
            if pid is None:
                pid = index[key] = self._next_id
                self._next_id += 1
                new.append(_json_text(para).encode() + b"\n")
                if len(index) > POOL_INDEX_SIZE:  # bounded memory: forget the oldest (it may be stored again)
                    del index[next(iter(index))]
            ids.append(pid)
        return ids

    def close(self) -> None:
        """Close the files; safe to call twice."""
        for f in (self._f, self._pool):
            if f is not None and not f.closed:
                f.close()

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cut_torn_tail(path: Path) -> None:
    keep = good_prefix_length(path)
    if path.exists() and keep < path.stat().st_size:
        with path.open("r+b") as f:
            f.truncate(keep)


@dataclass
class Run:
    """A run read back from disk: its resolved spec, summary (None if it never finished) and episodes."""

    path: Path
    spec: dict[str, Any]
    summary: dict[str, Any] | None
    episodes: list[Episode] = field(default_factory=list)

    @property
    def df(self) -> pandas.DataFrame:
        """One row per episode (ids, protocol/label, judge, seed, gold, choice, valid, correct, usage, retries,
        error, quote coverage overall and per role, model per role)."""
        return episodes_dataframe(self.episodes)


def load_run(path: str | Path) -> Run:
    """Read a run directory (or an experiment directory: its newest run). Raises `StoreError` if not a run."""
    run_dir = resolve_run_dir(path)
    spec = read_json(run_dir / SPEC_FILE)
    summary_path = run_dir / SUMMARY_FILE
    summary = read_json(summary_path) if summary_path.exists() else None
    return Run(run_dir, spec, summary, list(iter_episodes(run_dir)))


def resolve_run_dir(path: str | Path) -> Path:
    """`path` if it is a run directory, else the newest run directory inside it; raises `StoreError`."""
    path = Path(path)
    if (path / SPEC_FILE).is_file():
        return path
    if path.is_dir():
        runs = sorted(p.parent for p in path.glob(f"*/{SPEC_FILE}"))
        if runs:
            return max(runs, key=lambda p: ((p / SPEC_FILE).stat().st_mtime, p.name))
    raise StoreError(f"{path}: not a run directory (no {SPEC_FILE})")


def list_runs(root: str | Path) -> list[Path]:
    """Every run directory under `root` (`root/<experiment>/<run-id>/` or `root/<run-id>/`), oldest first."""
    root = Path(root)
    found = {p.parent for pattern in (f"*/{SPEC_FILE}", f"*/*/{SPEC_FILE}") for p in root.glob(pattern)}
    if (root / SPEC_FILE).is_file():
        found.add(root)
    return sorted(found, key=lambda p: ((p / SPEC_FILE).stat().st_mtime, str(p)))


def episodes_dataframe(episodes: list[Episode]) -> pandas.DataFrame:
    """A pandas DataFrame with one row per episode; raises ImportError if pandas is not installed."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("Run.df needs pandas: pip install pandas") from None

    from oversight.quotes import coverage_by_role

    rows = []
    for ep in episodes:
        final = ep.final
        coverage = coverage_by_role(ep.turns)
        checked = [v for t in ep.turns if isinstance(v := t.meta.get("quote_coverage"), int | float)]
        rows.append(
            {
                "id": ep.id,
                "experiment": ep.experiment,
                "question_id": ep.question_id,
                "protocol": ep.protocol,
                "label": ep.meta.get("label", ep.protocol),
                "judge": ep.judge,
                "seed": ep.seed,
                "gold": ep.gold,
                "choice": final.choice if final else None,
                "answer": final.answer if final else None,
                "valid": bool(final and final.valid),
                "correct": ep.correct,
                "turns": len(ep.turns),
                "tokens": ep.tokens,
                "cost": ep.cost,
                "retries": ep.retries,
                "duration": ep.timings.get("duration"),
                "error_type": ep.error_type,
                "error": ep.error,
                # share of speech words inside verified quotes: mean over the episode's checked turns, and per role
                "quote_coverage": round(sum(checked) / len(checked), 4) if checked else None,
                **{f"quote_coverage.{role}": value for role, value in coverage.items()},
                **{f"model.{role}": model for role, model in ep.roles.items()},
            }
        )
    return pd.DataFrame(rows)


__all__ = [
    "EpisodeWriter",
    "Run",
    "StoreError",
    "iter_episodes",
    "list_runs",
    "load_run",
    "pooled_messages",
    "read_pool",
    "resolve_run_dir",
]
