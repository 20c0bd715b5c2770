"""Multi-agent debate (Du et al.) agent: answers, then revises after reading the other agents' answers."""

from __future__ import annotations

from agents.llm import LLMAgent, parse_answer_letter
from oversight.episode import Turn
from oversight.transcript import View


class MADAgent(LLMAgent):
    """A model answering a multiple-choice question; `turn.answer` is its final "Answer: X" (None if missing)."""

    prompt_names = ("mad_system", "mad_answer", "mad_revise")

    async def respond(self, view: View) -> Turn:
        """The first answer (round 0) or a revision after the previous round's answers in the view."""
        template = "mad_answer" if view.round == 0 else "mad_revise"
        turn = await self.call(view, "mad_system", template, kind="speech")
        letter = parse_answer_letter(turn.content, view.letters, last=True)
        turn.answer = None if letter is None else view.choice_of(letter)
        return turn
