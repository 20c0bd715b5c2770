"""Solvers and combiners of a decomposition tree: LLM ones (prompts `solver_system`, `solver_answer`,
`solver_combine`), and a programmatic one that answers gold steps, wrong with a seeded probability (for studies
of which wrong steps a judge catches, with no model in the answering roles)."""

from __future__ import annotations

import random
from typing import Any

from agents.decomposer import TreeFields, index_gold, node_seed
from agents.llm import LLMAgent
from oversight.episode import Turn
from oversight.quotes import escape
from oversight.tasks.answers import answers_match, numbers_in
from oversight.tasks.steps import GoldStep
from oversight.transcript import LETTERS, View, make_turn
from oversight.tree import ROOT


class LLMSolver(TreeFields, LLMAgent):
    """Answers a question directly: a leaf of the tree, or any node the decomposer left whole."""

    prompt_names = ("solver_system", "solver_answer")

    def fields(self, view: View) -> dict[str, Any]:
        return {**super().fields(view), **self.tree_fields(view)}

    async def solve(self, view: View) -> Turn:
        """The model's answer (the turn's content ends with "Answer: ...")."""
        return await self.call(view, "solver_system", "solver_answer", kind="answer", seed=node_seed(view, "solve"))


class LLMCombiner(TreeFields, LLMAgent):
    """Answers a question from its subquestions' answers (the view's `result` turns)."""

    prompt_names = ("solver_system", "solver_combine")

    def fields(self, view: View) -> dict[str, Any]:
        return {**super().fields(view), **self.tree_fields(view)}

    async def combine(self, view: View) -> Turn:
        """The model's combined answer (the turn's content ends with "Answer: ...")."""
        seed = node_seed(view, "combine")
        return await self.call(view, "solver_system", "solver_combine", kind="combination", seed=seed)


class GoldSolver:
    """Answers every node of a gold decomposition with its gold answer, except that with probability
    `error_rate` (seeded per question, seed and node) it gives a plausible wrong one: a nearby number, the other
    answer shown, the opposite of yes/no, or another step's answer that does not match this one's. Also a
    `Combiner` (same rule)."""

    def __init__(self, root: GoldStep, *, error_rate: float = 0.0, question_id: str = "", seed: int = 0) -> None:
        if not 0.0 <= error_rate <= 1.0:
            raise ValueError(f"error_rate must be in [0, 1], got {error_rate}")
        self.steps = index_gold(root)
        self.error_rate = error_rate
        self.question_id = question_id
        self.seed = seed
        self.identity = f"program/gold-solver(error_rate={error_rate:g})"

    async def solve(self, view: View) -> Turn:
        """The gold (or seeded wrong) answer of `view.extra["node"]`; raises KeyError for an unknown node."""
        node = view.extra.get("node", ROOT)
        step = self.steps.get(node)
        if step is None:
            raise KeyError(f"node {node!r} is not in the gold decomposition")
        rng = random.Random(f"{self.seed}:{self.question_id}:{node}")
        wrong = rng.random() < self.error_rate
        answer = self._wrong(step.answer, view, rng) if wrong else step.answer
        if view.choices:  # the root's answers are shown: name one by its letter
            target = escape(answer)
            letter = next((LETTERS[k] for k, c in enumerate(view.choices) if c == target), None)
            answer = letter or answer
        return make_turn(view.role, f"Answer: {answer}", kind="answer", round=view.round, meta={"injected": wrong})

    async def combine(self, view: View) -> Turn:
        """As `solve`: the node's gold (or seeded wrong) answer."""
        turn = await self.solve(view)
        turn.kind = "combination"
        return turn

    def _wrong(self, gold: str, view: View, rng: random.Random) -> str:
        if view.choices:
            others = [c for c in view.choices if c != escape(gold)]
            if others:
                return rng.choice(others)
        low = gold.strip().lower()
        if low in ("yes", "no"):
            return {"yes": "No", "no": "Yes"}[low]
        numbers = numbers_in(gold)
        if len(numbers) == 1 and gold.strip().lstrip("-").replace(",", "").replace(".", "", 1).isdigit():
            value = numbers[0]
            delta = rng.choice([-2, -1, 1, 2]) if abs(value) < 20 else round(value * rng.choice([-0.1, 0.1]))
            wrong = value + (delta or 1)
            return str(int(wrong)) if float(wrong).is_integer() else f"{wrong:g}"
        others = sorted({s.answer for s in self.steps.values() if not answers_match(s.answer, gold)})
        return rng.choice(others) if others else "I do not know"


__all__ = ["GoldSolver", "LLMCombiner", "LLMSolver"]
