"""Amplify(H, M) for the algorithmic tasks: the overseer H decomposes each query with primitive steps and asks
the current student M for sub-answers. Sub-questions asked by all concurrent decompositions in one scheduling
round go to the student as one batch, so a network student answers thousands of them in a few forward passes."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import Any

from agents.algorithmic.tasks import AlgorithmicTask, Answer, Args, Instance, Query
from oversight.ida.interfaces import Student


class _SubAnswerBatcher:
    """Queues `(instance, args)` groups from many coroutines and answers them together with one student call per
    round: the flush is scheduled behind every coroutine already runnable, so they all get to ask first."""

    def __init__(self, student: Student) -> None:
        self._student = student
        self._pending: list[tuple[list[Query], asyncio.Future[list[Answer]]]] = []
        self._flushing = False
        self._tasks: set[asyncio.Task[None]] = set()  # held so a running flush is never garbage-collected
        self.rounds = 0

    async def ask(self, queries: list[Query]) -> list[Answer]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Answer]] = loop.create_future()
        self._pending.append((queries, future))
        if not self._flushing:
            self._flushing = True
            loop.call_soon(self._start_flush)
        return await future

    def _start_flush(self) -> None:
        task = asyncio.ensure_future(self._flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush(self) -> None:
        batch, self._pending, self._flushing = self._pending, [], False
        flat = [q for group, _ in batch for q in group]
        self.rounds += 1
        try:
            answers = await self._student.answer(flat)
            if len(answers) != len(flat):
                raise RuntimeError(f"student {self._student.identity} gave {len(answers)} answers to {len(flat)}")
        except Exception as err:  # every waiting decomposition learns of the failure
            for _, future in batch:
                if not future.done():
                    future.set_exception(err)
            return
        start = 0
        for group, future in batch:
            future.set_result(answers[start : start + len(group)])
            start += len(group)


class AlgorithmicOverseer:
    """The amplifier: `amplify(queries, student)` runs the task's decomposition H on each query, asking `student`
    for sub-answers, and returns H's answer per query (None where a sub-answer was unusable).

    `depth` > 1 answers sub-questions by amplifying again instead of asking the student (depth levels of H before
    the student is consulted; at the bottom of the recursion H answers leaves from the oracle). `counts()` gives
    running totals: `overseer_calls` (decompositions run), `oracle_calls` (primitive steps), `student_calls`
    (sub-answers asked of the student), `student_batches`, `invalid_subquestions`, `unusable`.
    """

    def __init__(self, task: AlgorithmicTask, *, depth: int = 1) -> None:
        if depth < 1:
            raise ValueError(f"depth: must be >= 1, got {depth}")
        self.task = task
        self.depth = depth
        self._decompose = task.decomposition()
        self._public = task.public()
        self._counts: Counter[str] = Counter()

    def counts(self) -> dict[str, int]:
        keys = ("overseer_calls", "oracle_calls", "student_calls", "student_batches", "invalid_subquestions")
        return {k: self._counts[k] for k in (*keys, "unusable")}

    async def amplify(self, queries: Sequence[Query], student: Student) -> list[Answer]:
        """H's answer to each query, asking `student` (or, with depth > 1, H again) for sub-answers."""
        batcher = _SubAnswerBatcher(student)
        try:
            answers = await asyncio.gather(*(self._answer(q, self.depth, batcher) for q in queries))
        finally:
            self._counts["student_batches"] += batcher.rounds
        self._counts["unusable"] += sum(a is None for a in answers)
        return list(answers)

    async def _answer(self, query: Query, depth: int, batcher: _SubAnswerBatcher) -> Answer:
        inst = query.instance
        steps = self.task.steps_for(inst)

        async def ask(sub: list[Args]) -> list[Answer]:
            return await self._ask(inst, sub, depth, batcher)

        self._counts["overseer_calls"] += 1
        try:
            return await self._decompose(query.args, self._public, steps, ask)
        finally:
            self._counts["oracle_calls"] += steps.calls

    async def _ask(self, inst: Instance, sub: list[Args], depth: int, batcher: _SubAnswerBatcher) -> list[Any]:
        ok = [self.task.valid(a) for a in sub]
        self._counts["invalid_subquestions"] += ok.count(False)
        queries = [Query(inst, a) for a, good in zip(sub, ok, strict=True) if good]
        if depth > 1:
            got = list(await asyncio.gather(*(self._answer(q, depth - 1, batcher) for q in queries)))
        else:
            self._counts["student_calls"] += len(queries)
            got = await batcher.ask(queries) if queries else []
        it = iter(got)
        return [next(it) if good else None for good in ok]
