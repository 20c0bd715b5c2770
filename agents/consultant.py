"""LLM consultant: argues its assigned answer to the judge, answering the judge's questions; picks a side when open."""

from __future__ import annotations

from agents.llm import LLMAgent
from oversight.episode import Turn
from oversight.transcript import View


class Consultant(LLMAgent):
    """A model arguing the answer in `view.answer` alone (prompts `agents/prompts/consultant_*`)."""

    prompt_names = ("consultant_system", "consultant_argue", "consultant_choose")

    async def argue(self, view: View) -> Turn:
        """A speech for `view.answer` (answering the judge's latest question, if any)."""
        return await self.call(view, "consultant_system", "consultant_argue", kind="speech")

    async def ask(self, view: View) -> Turn:
        """Consultants do not cross-examine; protocols never call this."""
        raise NotImplementedError("a consultant has nobody to cross-examine")

    async def answer(self, view: View) -> Turn:
        """An answer to a question: a speech that addresses it."""
        return await self.argue(view)

    async def choose(self, view: View) -> Turn:
        """Open consultancy: the side this consultant takes (turn.answer, None if unparseable)."""
        return await self.choose_side(view, "consultant_system", "consultant_choose")
