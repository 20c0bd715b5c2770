"""`TaskSet`: the questions of one loaded or generated task plus the provenance an experiment records."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from oversight.hashing import file_sha256
from oversight.types import Question


@dataclass(frozen=True)
class FileRecord:
    """One file a task was read from: its path (relative to its package when it came from one) and content hash."""

    file: str
    sha256: str
    bytes: int

    @classmethod
    def of(cls, path: str | Path, *, relative_to: str | Path | None = None) -> FileRecord:
        p = Path(path)
        name = str(p.relative_to(relative_to)) if relative_to is not None else str(p)
        return cls(file=name, sha256=file_sha256(p), bytes=p.stat().st_size)


@dataclass
class TaskSet:
    """The questions of a task and where they came from. Iterable and indexable like a list of `Question`.

    `skipped` counts rows dropped by `skip_bad=True`; `problems` holds their located messages.
    """

    name: str
    questions: list[Question]
    split: str | None = None
    licence: str | None = None
    package: str | None = None
    version: str | None = None
    files: list[FileRecord] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    sampled: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.questions)

    def __iter__(self) -> Iterator[Question]:
        return iter(self.questions)

    def __getitem__(self, index: int) -> Question:
        return self.questions[index]

    def by_id(self) -> dict[str, Question]:
        """Questions keyed by their stable id."""
        return {q.id: q for q in self.questions}

    def sample(self, n: int | None, seed: int = 0) -> TaskSet:
        """`n` questions drawn without replacement with `seed`, in their original order; all when `n` is None
        or not smaller than the set."""
        if n is None or n >= len(self.questions):
            return self
        sampled = {"n": n, "seed": seed, "of": len(self.questions)}
        return replace(self, questions=subsample(self.questions, n, seed), sampled=sampled)

    def questions_sha256(self) -> str:
        """Hash of what the questions ask and what counts as correct (ids, text, choices, answer, context)."""
        h = hashlib.sha256()
        for q in self.questions:
            row = [q.id, q.text, q.choices, q.answer, q.context, q.meta.get("answers")]
            h.update(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode())
            h.update(b"\n")
        return h.hexdigest()

    def provenance(self) -> dict[str, Any]:
        """A JSON-ready record for `spec.json`: task, split, licence, package + version, every file read with
        its sha256, the options given, sampling, skipped rows and a hash of the resulting questions."""
        return {
            "task": self.name,
            "split": self.split,
            "licence": self.licence,
            "package": self.package,
            "version": self.version,
            "files": [{"file": f.file, "sha256": f.sha256, "bytes": f.bytes} for f in self.files],
            "options": _jsonable(self.options),
            "sampled": self.sampled,
            "skipped": self.skipped,
            "n_questions": len(self.questions),
            "questions_sha256": self.questions_sha256(),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def subsample(questions: list[Question], n: int | None, seed: int) -> list[Question]:
    """`n` of `questions` drawn without replacement with `seed`, in their original order (all when `n` is None
    or not smaller); raises ValueError for a negative `n`."""
    if n is None or n >= len(questions):
        return questions
    if n < 0:
        raise ValueError(f"n: must be >= 0, got {n}")
    picked = sorted(random.Random(seed).sample(range(len(questions)), n))
    return [questions[i] for i in picked]
