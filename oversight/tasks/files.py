"""Researchers' own task files: JSONL, CSV and Parquet rows mapped onto `Question` by a `FieldMap`.

Every row is validated; a bad row raises `TaskFileError` located as `file:line: field: problem` (for Parquet
the "line" is the 1-based row number), or with `skip_bad=True` it is skipped and counted in `TaskSet.skipped`.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from dataclasses import fields as dc_fields
from pathlib import Path
from typing import Any, Literal

from oversight.tasks.taskset import FileRecord, TaskSet
from oversight.types import Question, Source

log = logging.getLogger(__name__)

AnswerFormat = Literal["auto", "index", "index1", "letter", "text"]
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class TaskFileError(ValueError):
    """A row of a task file is malformed. `str(err)` is `file:line: field: problem`."""

    def __init__(self, file: str, line: int, field: str, problem: str) -> None:
        super().__init__(f"{file}:{line}: {field}: {problem}")
        self.file, self.line, self.field, self.problem = file, line, field, problem


@dataclass(frozen=True)
class FieldMap:
    """Which column of a row holds each part of a question.

    `choices` is one column holding a list (in CSV: a JSON list, or values separated by `|`), a tuple of
    columns holding one choice each (e.g. `("A", "B", "C", "D")`), or None for free-form questions whose
    `answer` is then the gold text (kept in `meta["answers"]`). `answer_format` says how to read the answer:
    `index` (0-based), `index1` (1-based), `letter` (A, B, ...), `text` (equal to one choice), or `auto`:
    a JSON integer is a 0-based index; a string equal to exactly one choice is that choice, else a single
    letter, else a 0-based integer. `context` and `id` columns are optional in each row; columns not mapped
    are kept in `meta`.
    """

    text: str = "question"
    choices: str | tuple[str, ...] | None = "choices"
    answer: str = "answer"
    context: str | None = "context"
    id: str | None = "id"
    answer_format: AnswerFormat = "auto"

    @classmethod
    def of(cls, value: FieldMap | Mapping[str, Any] | None) -> FieldMap:
        """A FieldMap from itself, None (the defaults) or a dict of overrides; raises ValueError on unknown keys."""
        if value is None:
            return cls()
        if isinstance(value, FieldMap):
            return value
        known = {f.name for f in dc_fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"fields: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        data = dict(value)
        if isinstance(data.get("choices"), list):
            data["choices"] = tuple(data["choices"])
        return cls(**data)

    def mapped(self) -> set[str]:
        names = {self.text, self.answer, self.context, self.id}
        if isinstance(self.choices, tuple):
            names.update(self.choices)
        else:
            names.add(self.choices)
        names.discard(None)
        return names  # type: ignore[return-value]


#: the columns of a JSONL written from our own `Question` model (`Question.model_dump_json()` per line)
QUESTION_ROWS = FieldMap(text="text")


def _peek_own_form(
    rows: Iterator[tuple[int, dict[str, Any] | _RowError]],
) -> tuple[Iterator[tuple[int, dict[str, Any] | _RowError]], bool]:
    first = next(rows, None)
    if first is None:
        return iter(()), False
    row = first[1]
    own = isinstance(row, dict) and "text" in row and "question" not in row
    return itertools.chain([first], rows), own


class _RowError(Exception):
    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem


def load_file(
    path: str | Path,
    *,
    fields: FieldMap | Mapping[str, Any] | None = None,
    format: Literal["jsonl", "csv", "parquet"] | None = None,
    skip_bad: bool = False,
    name: str | None = None,
    split: str | None = None,
    licence: str | None = None,
) -> TaskSet:
    """Read a JSONL (optionally .gz), CSV or Parquet file of questions into a TaskSet.

    Returns every valid row as a `Question` (id: the row's id column when present, else `<name>:<line>`).
    Raises TaskFileError at the first bad row, or with `skip_bad=True` skips bad rows and reports how many in
    `TaskSet.skipped` (their messages in `TaskSet.problems`). Raises FileNotFoundError for a missing file.
    """
    if not isinstance(skip_bad, bool):
        raise ValueError(f"skip_bad: must be true or false, got {skip_bad!r}")
    p = Path(path)
    shown = str(path)
    fmt = format or _format_of(p)
    task_name = name or p.name.split(".")[0]
    record = FileRecord.of(p)
    source = Source(dataset=task_name, split=split, licence=licence, file=shown, sha256=record.sha256)
    rows = {"jsonl": _jsonl_rows, "csv": _csv_rows, "parquet": _parquet_rows}[fmt](p)
    questions: list[Question] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    line = 0
    try:
        if fields is None:  # rows of our own `Question` form (a "text" column, no "question" one) map themselves
            rows, own = _peek_own_form(rows)  # reads the first row: inside the UTF-8 check below
            fmap = QUESTION_ROWS if own else FieldMap()
        else:
            fmap = FieldMap.of(fields)
        for line, row in rows:
            try:
                if isinstance(row, _RowError):
                    raise row
                q = _question(row, fmap, task_name, line, source)
                if q.id in seen:
                    raise _RowError(fmap.id or "id", f"duplicate id {q.id!r} (first on line {seen[q.id]})")
            except _RowError as err:
                if not skip_bad:
                    raise TaskFileError(shown, line, err.field, err.problem) from None
                problems.append(f"{shown}:{line}: {err.field}: {err.problem}")
                continue
            seen[q.id] = line
            questions.append(q)
    except _NotUtf8 as err:  # never skippable: the rest of the file cannot be read
        raise TaskFileError(shown, err.line, "file", f"not UTF-8 text ({err.reason} at byte {err.column})") from None
    except (OSError, EOFError, csv.Error) as err:  # a damaged .gz, an unreadable file, a CSV the reader rejects
        raise TaskFileError(shown, line + 1, "file", f"cannot be read ({type(err).__name__}: {err})") from None
    if problems:
        log.warning("%s: skipped %d bad row(s); first: %s", shown, len(problems), problems[0])
    return TaskSet(
        name=task_name,
        questions=questions,
        split=split,
        licence=licence,
        files=[record],
        options={"fields": {f.name: getattr(fmap, f.name) for f in dc_fields(fmap)}, "format": fmt},
        skipped=len(problems),
        problems=problems,
    )


def _format_of(p: Path) -> Literal["jsonl", "csv", "parquet"]:
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if last in (".csv", ".tsv"):
        return "csv"
    if last in (".parquet", ".pq"):
        return "parquet"
    raise ValueError(f"{p}: cannot tell the format from the name; pass format='jsonl', 'csv' or 'parquet'")


class _NotUtf8(Exception):
    def __init__(self, line: int, column: int, reason: str) -> None:
        self.line, self.column, self.reason = line, column, reason


def _text_lines(p: Path) -> Iterator[str]:
    """The file's lines decoded one by one (line endings kept), so a bad byte is reported on its own line."""
    opener = gzip.open if p.suffix.lower() == ".gz" else open
    with opener(p, "rb") as fh:
        for line, raw in enumerate(fh, start=1):
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise _NotUtf8(line, err.start + 1, err.reason) from None


def _jsonl_rows(p: Path) -> Iterator[tuple[int, dict[str, Any] | _RowError]]:
    for line, raw in enumerate(_text_lines(p), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw.rstrip("\r\n"))
        except json.JSONDecodeError as err:
            yield line, _RowError("row", f"invalid JSON ({err.msg} at column {err.colno})")
            continue
        yield line, row if isinstance(row, dict) else _RowError("row", "must be a JSON object")


def _csv_rows(p: Path) -> Iterator[tuple[int, dict[str, Any] | _RowError]]:
    delimiter = "\t" if ".tsv" in [s.lower() for s in p.suffixes] else ","
    reader = csv.reader(_text_lines(p), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        return
    start = reader.line_num + 1
    for values in reader:
        line, start = start, reader.line_num + 1
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            yield line, _RowError("row", f"has {len(values)} values but the header has {len(header)} columns")
            continue
        yield line, dict(zip(header, values, strict=True))


def _parquet_rows(p: Path) -> Iterator[tuple[int, dict[str, Any] | _RowError]]:
    import pyarrow.parquet as pq

    table = pq.read_table(p)
    yield from enumerate(table.to_pylist(), start=1)


def _question(row: dict[str, Any], fm: FieldMap, task: str, line: int, source: Source) -> Question:
    text = _required_str(row, fm.text)
    own = fm is QUESTION_ROWS
    meta = {k: v for k, v in row.items() if k not in fm.mapped()}
    if own:  # free-form rows of our own form: no choices, the gold texts in meta.answers
        nested = meta.get("meta")
        if row.get("choices") == [] and row.get("answer") is None and isinstance(nested, dict):
            row = {**row, "choices": None, "answer": nested.get("answers")}
    choices = None if own and row.get("choices") is None else _choices(row, fm.choices)
    if fm.answer not in row or row[fm.answer] is None or row[fm.answer] == "":
        raise _RowError(fm.answer, "missing")
    raw_answer = row[fm.answer]
    if fm is QUESTION_ROWS:  # our own rows carry their meta (and source) as objects
        nested = meta.pop("meta", None) or {}
        if not isinstance(nested, dict):
            raise _RowError("meta", f"must be an object, got {type(nested).__name__}")
        meta = {**nested, **meta}
        own_source = meta.pop("source", None)
        if own_source is not None:
            try:
                source = Source.model_validate(own_source)
            except ValueError as err:
                raise _RowError("source", str(err).splitlines()[-1].strip()) from None
    if choices is None:
        if isinstance(raw_answer, list):
            answers = [str(a) for a in raw_answer if str(a).strip()]
        else:
            answers = [str(raw_answer)]
        if not answers:
            raise _RowError(fm.answer, "must hold at least one non-empty answer")
        meta["answers"] = answers
        answer: int | None = None
        choices = []
    else:
        answer = _answer_index(raw_answer, choices, fm.answer_format, fm.answer)
    context = row.get(fm.context) if fm.context else None
    if context is not None and not isinstance(context, str):
        raise _RowError(fm.context or "context", f"must be a string, got {type(context).__name__}")
    qid = row.get(fm.id) if fm.id else None
    if qid is None or qid == "":
        qid = f"{task}:{line}"
    elif isinstance(qid, bool) or not isinstance(qid, str | int):
        raise _RowError(fm.id or "id", f"must be a string or an integer, got {type(qid).__name__}")
    return Question(id=str(qid), text=text, choices=choices, answer=answer, context=context, source=source, meta=meta)


def _required_str(row: dict[str, Any], key: str) -> str:
    if key not in row or row[key] is None:
        raise _RowError(key, "missing")
    value = row[key]
    if not isinstance(value, str):
        raise _RowError(key, f"must be a string, got {type(value).__name__}")
    if not value.strip():
        raise _RowError(key, "is empty")
    return value


def _choices(row: dict[str, Any], spec: str | tuple[str, ...] | None) -> list[str] | None:
    if spec is None:
        return None
    if isinstance(spec, tuple):
        values = []
        for key in spec:
            if key not in row or row[key] is None:
                raise _RowError(key, "missing")
            values.append(row[key])
        label = ",".join(spec)
    else:
        label = spec
        if spec not in row or row[spec] is None:
            raise _RowError(spec, "missing")
        values = row[spec]
        if isinstance(values, str):
            values = _split_choices(values, spec)
    if not isinstance(values, list | tuple):
        raise _RowError(label, f"must be a list of strings, got {type(values).__name__}")
    out: list[str] = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise _RowError(label, f"choice {i} must be a string, got {type(v).__name__}")
        s = str(v)
        if not s.strip():
            raise _RowError(label, f"choice {i} is empty")
        out.append(s)
    if len(out) < 2:
        raise _RowError(label, f"needs at least 2 choices, got {len(out)}")
    repeated = sorted({c for c in out if out.count(c) > 1})
    if repeated:
        raise _RowError(label, f"choices must be distinct (repeated: {', '.join(map(repr, repeated))})")
    return out


def _split_choices(value: str, key: str) -> list[Any]:
    stripped = value.strip()
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
        except json.JSONDecodeError as err:
            raise _RowError(key, f"invalid JSON list ({err.msg} at column {err.colno})") from None
        return parsed
    return [part.strip() for part in value.split("|")]


def _answer_index(raw: Any, choices: list[str], fmt: AnswerFormat, key: str) -> int:
    n = len(choices)

    def in_range(i: int, shown: Any) -> int:
        if not 0 <= i < n:
            raise _RowError(key, f"{shown!r} is out of range for {n} choices")
        return i

    if isinstance(raw, bool):
        raise _RowError(key, "must be an index, a letter or the text of a choice, got a boolean")
    if fmt in ("index", "index1"):
        try:
            i = int(raw)
        except (TypeError, ValueError):
            raise _RowError(key, f"{raw!r} is not an integer index") from None
        return in_range(i - 1 if fmt == "index1" else i, raw)
    if fmt == "letter":
        s = str(raw).strip().upper()
        if len(s) != 1 or s not in _LETTERS:
            raise _RowError(key, f"{raw!r} is not a letter")
        return in_range(_LETTERS.index(s), raw)
    if fmt == "text":
        if str(raw) not in choices:
            raise _RowError(key, f"{raw!r} is not one of the choices")
        return choices.index(str(raw))
    # auto
    if isinstance(raw, int):
        return in_range(raw, raw)
    if isinstance(raw, float) and raw.is_integer():
        return in_range(int(raw), raw)
    s = str(raw).strip()
    matches = [i for i, c in enumerate(choices) if c.strip() == s]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise _RowError(key, f"{raw!r} matches {len(matches)} choices")
    if len(s) == 1 and s.upper() in _LETTERS:
        return in_range(_LETTERS.index(s.upper()), raw)
    if s.lstrip("-").isdigit():
        return in_range(int(s), raw)
    raise _RowError(key, f"{raw!r} is not an index, a letter or the text of a choice")
