"""The run store: `runs/<experiment>/<run-id>/` with `spec.json`, `episodes.jsonl` and `summary.json`.

`episodes.jsonl` is append-only, one JSON object per finished episode, flushed per line. A crash can leave a
torn last line (no trailing newline, or unparseable); readers drop it, and `EpisodeWriter` cuts it off before
appending so a resumed run never glues a new line onto half an old one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oversight.episode import Episode

if TYPE_CHECKING:
    import pandas

SPEC_FILE = "spec.json"
EPISODES_FILE = "episodes.jsonl"
SUMMARY_FILE = "summary.json"


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


def iter_episodes(run_dir: str | Path) -> Iterator[Episode]:
    """Stream the finished episodes of a run, dropping a torn last line; raises `StoreError` on other damage."""
    path = Path(run_dir) / EPISODES_FILE
    if not path.exists():
        return
    with path.open("rb") as f:
        lineno = 0
        for raw in f:
            lineno += 1
            if not raw.endswith(b"\n"):
                return  # torn last line
            if not raw.strip():
                continue
            try:
                yield Episode.model_validate_json(raw)
            except ValueError as err:
                if not f.read(1):  # the last line: torn by a crash mid-write
                    return
                raise StoreError(f"{path}:{lineno}: corrupt episode line ({str(err).splitlines()[0]})") from None


def finished_ids(run_dir: str | Path) -> dict[str, tuple[int, float]]:
    """id -> (tokens, cost) of every episode already in the run (cheap: no full validation)."""
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
    """Appends episodes to `episodes.jsonl`, one line each, flushed per line. Cuts a torn tail on open."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / EPISODES_FILE
        keep = good_prefix_length(self.path)
        if self.path.exists() and keep < self.path.stat().st_size:
            with self.path.open("r+b") as f:
                f.truncate(keep)
        self._f = self.path.open("ab", buffering=0)
        self.written = 0

    def write(self, episode: Episode) -> None:
        """Append one episode as a single line (one `write` syscall, so a crash tears at most this line)."""
        self._f.write(episode.model_dump_json().encode() + b"\n")
        self.written += 1

    def close(self) -> None:
        """Close the file; safe to call twice."""
        if not self._f.closed:
            self._f.close()

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Run:
    """A run read back from disk: its resolved spec, summary (None if it never finished) and episodes."""

    path: Path
    spec: dict[str, Any]
    summary: dict[str, Any] | None
    episodes: list[Episode] = field(default_factory=list)

    @property
    def df(self) -> pandas.DataFrame:
        """One row per episode (ids, protocol/label, judge, seed, gold, choice, valid, correct, usage, error)."""
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

    rows = []
    for ep in episodes:
        final = ep.final
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
                "valid": bool(final and final.valid),
                "correct": ep.correct,
                "turns": len(ep.turns),
                "tokens": ep.tokens,
                "cost": ep.cost,
                "duration": ep.timings.get("duration"),
                "error_type": ep.error_type,
                "error": ep.error,
                **{f"model.{role}": model for role, model in ep.roles.items()},
            }
        )
    return pd.DataFrame(rows)
