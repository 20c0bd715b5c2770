"""The step judge of process and outcome supervision: any `judges.Judge`, asked a yes/no question about one step.

The step (its question and proposed answer) and the results it used are shown as turns, so their text is escaped
like any agent's; the question put to the judge is our template (`agents/prompts/step_check.txt`) with the choices
"Yes" / "No" in a seeded order per step (a judge's position bias cannot pass for acceptance).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from agents.llm import PROMPTS_DIR
from judges.base import Judge
from oversight.episode import Judgment, Turn
from oversight.prompts import PromptSet
from oversight.transcript import Transcript, make_turn
from oversight.types import Question

#: the two answers a step judge chooses between; index 0 accepts the step
CHECK_CHOICES = ["Yes, it is correct", "No, it is wrong"]


@dataclass(frozen=True, slots=True)
class StepInput:
    """A result a step could use: its label (e.g. "Step 2.1"), question and answer."""

    label: str
    question: str
    answer: str


@dataclass(slots=True)
class StepVerdict:
    """A judge's check of one step: accepted (None: no valid judgment), P(correct), the judgment and its turns."""

    accepted: bool | None
    p_correct: float | None
    judgment: Judgment
    order: tuple[int, ...]
    turns: list[Turn] = field(default_factory=list)


def result_turns(inputs: Sequence[StepInput]) -> tuple[list[Turn], dict[str, str]]:
    """One `result` turn per input ("Question: ...\\nAnswer: ..."), and role -> label names for a transcript."""
    turns, names = [], {}
    for i, r in enumerate(inputs):
        role = f"result_{i + 1}"
        names[role] = r.label
        turns.append(make_turn(role, f"Question: {r.question}\nAnswer: {r.answer}", kind="result"))
    return turns, names


class StepJudge:
    """Wraps a `Judge` to check steps. `identity` is the judge's plus the hash of the step-check prompt."""

    def __init__(self, judge: Judge, *, prompts: Mapping[str, str] | None = None) -> None:
        self.judge = judge
        self.prompts = PromptSet.load(PROMPTS_DIR, ("step_check",), prompts)
        self.identity = f"{judge.identity}+step#{self.prompts.hash}"

    async def check(
        self,
        question: str,
        answer: str,
        inputs: Sequence[StepInput] = (),
        *,
        key: str,
        seed: int = 0,
        label: str = "Checked step",
    ) -> StepVerdict:
        """The judge's verdict on `answer` to `question`, given the results `inputs` it used. `key` names the step
        (it seeds the choice order and ids the check question). Judge errors propagate."""
        note = "The turns before it are results that step could use. " if inputs else ""
        text = self.prompts.render("step_check", inputs_note=note)
        order = (1, 0) if zlib.crc32(f"{seed}|{key}".encode()) & 1 else (0, 1)
        turns, names = result_turns(inputs)
        names["checked_step"] = label
        check = Question.model_construct(
            id=f"check/{key}", text=text, choices=list(CHECK_CHOICES), answer=None, context=None, source=None, meta={}
        )
        t = Transcript(check, seed=seed, order=order, names=names)
        t.add(*turns, make_turn("checked_step", f"Question: {question}\nProposed answer: {answer}", kind="step"))
        verdict = await self.judge.decide(t.view_for("judge", task="decide"))
        j = verdict.judgment
        valid = j.valid and j.choice is not None
        p = j.probabilities[0] if valid and j.probabilities else None
        return StepVerdict(j.choice == 0 if valid else None, p, j, order, list(verdict.turns))


__all__ = ["CHECK_CHOICES", "StepInput", "StepJudge", "StepVerdict", "result_turns"]
