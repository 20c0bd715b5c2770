"""LLM debater: argues its assigned answer, cross-examines, answers cross-examination, picks a side when open."""

from __future__ import annotations

from agents.llm import LLMAgent
from oversight.episode import Turn
from oversight.transcript import View


class Debater(LLMAgent):
    """A model arguing the answer in `view.answer` against another debater (prompts `agents/prompts/debater_*`)."""

    prompt_names = ("debater_system", "debater_argue", "debater_ask", "debater_answer", "debater_choose")

    async def argue(self, view: View) -> Turn:
        """A speech for `view.answer`."""
        return await self.call(view, "debater_system", "debater_argue", kind="speech")

    async def ask(self, view: View) -> Turn:
        """A cross-examination question for the other debater."""
        return await self.call(view, "debater_system", "debater_ask", kind="question")

    async def answer(self, view: View) -> Turn:
        """An answer to the question in the view's last turn."""
        return await self.call(view, "debater_system", "debater_answer", kind="answer")

    async def choose(self, view: View) -> Turn:
        """Open debate: the side this debater takes (turn.answer, None if unparseable)."""
        return await self.choose_side(view, "debater_system", "debater_choose")
