"""The IDA loop: for k = 1..K, amplify M_{k-1} into targets, distil M_k from them, and score M_k on held-out
queries against ground truth, next to a baseline trained on ground-truth labels of the same queries."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from oversight.ida.interfaces import Amplifier, DistillationError, Distiller, Example, Student
from oversight.ida.labels import GroundTruth


@dataclass
class Baseline:
    """The supervised comparison: `distiller` trains `student` (same architecture and start as IDA's M_0) on
    ground-truth labels of exactly the queries IDA amplified, iteration by iteration."""

    distiller: Distiller[Any]
    student: Student


class IterationRecord(BaseModel):
    """Scores after iteration `iteration` (0: the untrained M_0) and the work that iteration cost."""

    iteration: int
    ida_accuracy: float
    baseline_accuracy: float | None = None
    #: fraction of this iteration's amplified targets that were correct (audit labels, never trained on)
    target_accuracy: float | None = None
    examples: int = 0  # training examples distilled this iteration (amplified targets that were usable)
    unusable_targets: int = 0  # queries the overseer could not answer (a sub-answer was unusable)
    overseer: dict[str, int] = Field(default_factory=dict)  # the amplifier's counts for this iteration
    #: wall seconds of amplify, distil, eval (the IDA arm) and baseline (its training and scoring)
    seconds: dict[str, float] = Field(default_factory=dict)
    #: the same phases in CPU seconds of this process (what they cost without other load on the machine)
    cpu_seconds: dict[str, float] = Field(default_factory=dict)


class IDAResult(BaseModel):
    """A whole run: one record per iteration plus totals. `labels["ida_train"]` is the number of ground-truth
    labels the IDA student was trained on (zero by construction: the amplifier never holds `GroundTruth`)."""

    task: str = ""
    student: str = ""
    iterations: list[IterationRecord]
    labels: dict[str, int]
    overseer: dict[str, int]
    seconds: float
    _students: dict[str, Any] = PrivateAttr(default_factory=dict)
    _history: dict[str, list[Any]] = PrivateAttr(default_factory=dict)

    @property
    def final(self) -> IterationRecord:
        return self.iterations[-1]

    @property
    def students(self) -> dict[str, Any]:
        """The final students of this run, `"ida"` and (with a baseline) `"baseline"`; not serialised."""
        return self._students

    @property
    def history(self) -> dict[str, list[Any]]:
        """M_0..M_K of each arm (`"ida"`, `"baseline"`), when the run was asked to keep them; not serialised."""
        return self._history


def _accuracy(answers: Sequence[Any], labels: Sequence[Any]) -> float:
    return sum(a == b for a, b in zip(answers, labels, strict=True)) / max(1, len(labels))


async def _distil(distiller: Distiller[Any], examples: list[Example], student: Student, k: int) -> Student:
    name = getattr(distiller, "name", type(distiller).__name__)
    try:
        return await distiller.distil(examples, student, k)
    except Exception as err:  # any failure inside a distiller surfaces as one located error
        raise DistillationError(
            f"distiller {name!r} failed at iteration {k} on {len(examples)} examples: {type(err).__name__}: {err}"
        ) from err


class _Clock:
    """Times phases of one record in wall and process CPU seconds."""

    def __init__(self, rec: IterationRecord, phase: str) -> None:
        self.rec, self.phase = rec, phase

    def __enter__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *exc: object) -> None:
        self.rec.seconds[self.phase] = time.perf_counter() - self.wall
        self.rec.cpu_seconds[self.phase] = time.process_time() - self.cpu


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {key: value - before.get(key, 0) for key, value in after.items()}


async def run_ida(
    amplifier: Amplifier,
    distiller: Distiller[Any],
    student: Student,
    *,
    train_queries: Callable[[int], Sequence[Any]],
    eval_queries: Sequence[Any],
    truth: GroundTruth,
    iterations: int,
    baseline: Baseline | None = None,
    audit: bool = True,
    task: str = "",
    on_iteration: Callable[[IterationRecord], None] | None = None,
    keep_students: bool = False,
) -> IDAResult:
    """Run `iterations` rounds of amplify -> distil -> evaluate starting from `student` (M_0).

    `train_queries(k)` gives the queries amplified in iteration k; `eval_queries` are held out and scored against
    `truth`. With `audit`, each iteration's targets are also checked against `truth` for the report (counted as
    audit labels; the student never sees them). `keep_students` keeps every iteration's students
    (`IDAResult.history`). Returns an `IDAResult` with records for M_0..M_K.
    Raises ValueError for `iterations < 1` or no eval queries, and `DistillationError` when a distiller fails.
    """
    if iterations < 1:
        raise ValueError(f"iterations: must be >= 1, got {iterations}")
    if not eval_queries:
        raise ValueError("eval_queries: need at least one held-out query")
    start = time.perf_counter()
    # Differences, not totals: `truth` may be shared; a cheating amplifier that asked it for train labels shows.
    ida_train_before, audit_before = truth.used["train"], truth.used["audit"]
    eval_labels = truth.labels(eval_queries, "eval")
    b_student = baseline.student if baseline else None

    async def score(s: Student) -> float:
        return _accuracy(await s.answer(eval_queries), eval_labels)

    first = IterationRecord(iteration=0, ida_accuracy=0.0)
    with _Clock(first, "eval"):
        first.ida_accuracy = await score(student)
    if b_student is not None:
        with _Clock(first, "baseline"):
            first.baseline_accuracy = await score(b_student)
    records = [first]
    history: dict[str, list[Any]] = {"ida": [student]} | ({"baseline": [b_student]} if b_student is not None else {})
    if on_iteration:
        on_iteration(first)
    baseline_labels = 0
    for k in range(1, iterations + 1):
        rec = IterationRecord(iteration=k, ida_accuracy=0.0)
        queries = list(train_queries(k))
        before = amplifier.counts()
        with _Clock(rec, "amplify"):
            targets = await amplifier.amplify(queries, student)
        rec.overseer = _delta(amplifier.counts(), before)
        examples = [Example(q, y, "amplified") for q, y in zip(queries, targets, strict=True) if y is not None]
        rec.examples, rec.unusable_targets = len(examples), len(queries) - len(examples)
        if audit:
            rec.target_accuracy = _accuracy(targets, truth.labels(queries, "audit"))
        with _Clock(rec, "distil"):
            student = await _distil(distiller, examples, student, k)
        if baseline is not None and b_student is not None:
            with _Clock(rec, "baseline"):  # its training and its scoring
                gold = truth.labels(queries, "train")
                baseline_labels += len(gold)
                supervised = [Example(q, y, "ground-truth") for q, y in zip(queries, gold, strict=True)]
                b_student = await _distil(baseline.distiller, supervised, b_student, k)
                rec.baseline_accuracy = await score(b_student)
        with _Clock(rec, "eval"):
            rec.ida_accuracy = await score(student)
        records.append(rec)
        if keep_students:
            history["ida"].append(student)
            if b_student is not None:
                history["baseline"].append(b_student)
        if on_iteration:
            on_iteration(rec)
    ida_train = truth.used["train"] - ida_train_before - baseline_labels
    result = IDAResult(
        task=task,
        student=student.identity,
        iterations=records,
        labels={
            "ida_train": ida_train,
            "baseline_train": baseline_labels,
            "eval": len(eval_labels),
            "audit": truth.used["audit"] - audit_before,
        },
        overseer=amplifier.counts(),
        seconds=time.perf_counter() - start,
    )
    result._students = {"ida": student} | ({"baseline": b_student} if b_student is not None else {})
    if keep_students:
        result._history = history
    return result
