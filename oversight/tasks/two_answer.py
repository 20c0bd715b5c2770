"""Two-answer form for debate and consultancy: the correct answer against one distractor.

From a multiple-choice question the distractor is a random wrong choice (seeded), a given index, or the wrong
choice a model finds most plausible. Free-form numeric questions (GSM8K, generated arithmetic) get a plausible
wrong number: an intermediate result of the worked solution when there is one, else a near miss. Free-form text
questions (SQuAD, NarrativeQA) get the answer of another question about the same passage (else the same
article, else any other question). The order of the two
is randomised with the seed; `meta["two_answer"]` keeps the mapping back to the original question.
"""

from __future__ import annotations

import asyncio
import random
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, Literal

from oversight.tasks.taskset import TaskSet
from oversight.types import ChatMessage, GenerateConfig, Question

DistractorRule = Literal["random", "given", "model", "numeric", "same-passage", "same-article", "other-question"]


def two_answer(
    q: Question,
    seed: int = 0,
    *,
    distractor: int | None = None,
    pool: Sequence[Question] | AnswerPool = (),
    rule: DistractorRule | None = None,
    keep_id: bool = False,
) -> Question:
    """`q` with exactly two choices, the correct one and a distractor, in a seeded random order.

    `distractor` picks the wrong choice of a multiple-choice question by index (else a seeded random one);
    `pool` supplies other questions whose answers can serve as distractors for free-form text questions.
    Returns a new Question with id `<q.id>/2ans-s<seed>` (`q.id` itself with `keep_id`); raises ValueError when no
    distractor can be found.
    """
    rng = random.Random(f"{seed}:{q.id}")
    original: list[int] | None = None
    if q.choices:
        assert q.answer is not None
        if len(q.choices) < 2:
            raise ValueError(f"{q.id}: needs at least 2 choices")
        wrong = [i for i in range(len(q.choices)) if i != q.answer]
        if distractor is None:
            distractor, rule = rng.choice(wrong), rule or "random"
        elif distractor not in wrong:
            raise ValueError(f"{q.id}: distractor {distractor} is not a wrong choice (wrong: {wrong})")
        correct, wrong_text, original = q.choices[q.answer], q.choices[distractor], [q.answer, distractor]
        rule = rule or "given"
    elif "numeric" in q.meta:
        correct = q.meta["answers"][0] if q.meta.get("answers") else _fmt(q.meta["numeric"])
        wrong_text, rule = _fmt(plausible_wrong_number(q, rng)), "numeric"
    elif q.meta.get("answers"):
        correct = q.meta["answers"][0]
        answers = pool if isinstance(pool, AnswerPool) else AnswerPool(pool)
        wrong_text, rule = answers.pick(q, rng)
    else:
        raise ValueError(f"{q.id}: no choices, numeric answer or answers to build a two-answer form from")
    flip = rng.random() < 0.5
    choices = [wrong_text, correct] if flip else [correct, wrong_text]
    info: dict[str, Any] = {
        "from": q.id,
        "correct": correct,
        "distractor": wrong_text,
        "rule": rule,
        "seed": seed,
        "original_choices": ([original[1], original[0]] if flip else original) if original else None,
    }
    return q.model_copy(
        update={
            "id": q.id if keep_id else f"{q.id}/2ans-s{seed}",
            "choices": choices,
            "answer": 1 if flip else 0,
            "meta": {**q.meta, "two_answer": info},
        }
    )


def to_two_answer(tasks: TaskSet, seed: int = 0) -> TaskSet:
    """Every question of `tasks` in two-answer form (random distractors; same-passage answers for free-form
    text). Questions for which no distractor exists are dropped and counted in `skipped`."""
    out, problems = [], []
    pool = AnswerPool(tasks.questions)
    for q in tasks.questions:
        try:
            out.append(two_answer(q, seed, pool=pool))
        except ValueError as err:
            problems.append(str(err))
    return replace(
        tasks,
        questions=out,
        options={**tasks.options, "two_answer": {"seed": seed, "distractor": "random"}},
        skipped=tasks.skipped + len(problems),
        problems=[*tasks.problems, *problems],
    )


async def most_plausible_distractor(q: Question, model: Any, config: GenerateConfig | None = None) -> int:
    """The index of the wrong choice of `q` that `model` rates most likely correct.

    The model sees the question with only the wrong choices, lettered, and names one letter; with logprobs the
    letter of highest probability wins, else the first letter in its reply, else the first wrong choice.
    """
    wrong = [i for i in range(len(q.choices)) if i != q.answer]
    if len(wrong) == 1:
        return wrong[0]
    letters = string.ascii_uppercase[: len(wrong)]
    listing = "\n".join(f"{letter}. {q.choices[i]}" for letter, i in zip(letters, wrong, strict=True))
    prompt = f"{q.text}\n\n{listing}\n\nWhich option is most likely correct? Reply with its letter only."
    cfg = config or GenerateConfig(max_tokens=4, logprobs=True, top_logprobs=10)
    out = await model.generate([ChatMessage(role="user", content=prompt)], cfg)
    best: tuple[float, str] | None = None
    for position in out.logprobs or []:
        for alt in [position, *position.top]:
            letter = alt.token.strip().upper()
            if letter in letters and len(letter) == 1 and (best is None or alt.logprob > best[0]):
                best = (alt.logprob, letter)
        if best:
            break
    if best is None:
        found = re.search(rf"\b([{letters}])\b", out.text.upper())
        best = (0.0, found.group(1)) if found else (0.0, letters[0])
    return wrong[letters.index(best[1])]


async def to_two_answer_by_model(tasks: TaskSet, model: Any, seed: int = 0, *, concurrency: int = 8) -> TaskSet:
    """Like `to_two_answer`, but each multiple-choice question keeps the distractor `model` finds most plausible
    (free-form questions fall back to the rules of `two_answer`)."""
    gate = asyncio.Semaphore(concurrency)
    pool = AnswerPool(tasks.questions)

    async def one(q: Question) -> Question:
        if len(q.choices) < 3:
            return two_answer(q, seed, pool=pool)
        async with gate:
            index = await most_plausible_distractor(q, model)
        return two_answer(q, seed, distractor=index, rule="model")

    questions = await asyncio.gather(*(one(q) for q in tasks.questions))
    name = getattr(model, "name", str(model))
    return replace(
        tasks, questions=list(questions), options={**tasks.options, "two_answer": {"seed": seed, "distractor": name}}
    )


# -- numeric and text distractors ---------------------------------------------------------------------------------

_CALC = re.compile(r"<<[^=<>]*=\s*(-?[\d.,]+)\s*>>")


def plausible_wrong_number(q: Question, rng: random.Random) -> int | float:
    """A wrong number a solver could plausibly reach: a listed candidate (`meta["wrong_candidates"]`), an
    intermediate result of the worked solution (`meta["solution"]`, GSM8K's `<<a*b=c>>` marks), else a near
    miss of the gold value (off by one, by a tenth, doubled or halved)."""
    gold = q.meta["numeric"]
    candidates: list[int | float] = list(q.meta.get("wrong_candidates", []))
    if not candidates and q.meta.get("solution"):
        for raw in _CALC.findall(q.meta["solution"]):
            try:
                value = float(raw.rstrip(".").replace(",", ""))
            except ValueError:
                continue
            candidates.append(int(value) if value.is_integer() else value)
    candidates = [c for c in dict.fromkeys(candidates) if c != gold and (gold < 0 or c >= 0)]
    if candidates:
        return rng.choice(candidates)
    step = max(1, round(abs(gold) * 0.1)) if isinstance(gold, int) else max(0.1, abs(gold) * 0.1)
    near = [gold + 1, gold - 1, gold + step, gold - step, gold * 2]
    if isinstance(gold, int) and gold % 2 == 0:
        near.append(gold // 2)
    near = [x for x in dict.fromkeys(near) if x != gold and (gold < 0 or x >= 0)]
    return rng.choice(near)


def _fmt(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value) if isinstance(value, int) else f"{value:g}"


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


class AnswerPool:
    """The first answers of free-form questions, indexed by passage and by article, for distractor lookup."""

    def __init__(self, questions: Iterable[Question]) -> None:
        self.entries: list[tuple[str, str, str]] = []  # (question id, answer, normalised answer)
        self.by_key: dict[tuple[str, str], list[int]] = {}
        for q in questions:
            if not q.meta.get("answers") or q.choices:
                continue
            answer = q.meta["answers"][0]
            index = len(self.entries)
            self.entries.append((q.id, answer, _norm(answer)))
            for key in _KEYS:
                if q.meta.get(key):
                    self.by_key.setdefault((key, str(q.meta[key])), []).append(index)

    def pick(self, q: Question, rng: random.Random) -> tuple[str, DistractorRule]:
        """An answer of another question that differs from every gold answer of `q`: from the same passage if
        possible, else the same article, else any. Raises ValueError when there is none."""
        gold = {_norm(a) for a in q.meta["answers"]}

        def usable(indices: Iterable[int]) -> list[str]:
            return sorted(
                {a for i in indices for qid, a, n in [self.entries[i]] if qid != q.id and n and n not in gold}
            )

        for key, rule in zip(_KEYS, ("same-passage", "same-article"), strict=True):
            if q.meta.get(key):
                found = usable(self.by_key.get((key, str(q.meta[key])), []))
                if found:
                    return rng.choice(found), rule
        for _ in range(50):  # any other question: sample rather than scan the whole pool
            if not self.entries:
                break
            qid, answer, norm = self.entries[rng.randrange(len(self.entries))]
            if qid != q.id and norm and norm not in gold:
                return answer, "other-question"
        raise ValueError(f"{q.id}: free-form question with no other answer in the pool to serve as a distractor")


_KEYS = ("context_id", "title")
