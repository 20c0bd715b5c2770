"""Multi-agent debate (Du et al.) agents: answer, then revise after reading the other agents' answers.

`MADAgent` answers multiple-choice questions with a letter. `FreeFormMADAgent` answers questions without choices
("Answer: ..." on its last line). `DuMADAgent` follows Du et al.'s arithmetic script (`math/gen_math.py`): each
agent is one chat that keeps its own history, the other agents' latest answers arrive as a user message, and the
answer is the last number of the reply as kept under the word limit. Free-form agents put the answer they state
in `turn.meta["answer_text"]`; the protocol compares answers (numbers by value).
"""

from __future__ import annotations

import re

from agents.llm import LLMAgent, call_seed, parse_answer_letter
from oversight.episode import Turn
from oversight.quotes import escape
from oversight.tasks.answers import final_answer
from oversight.transcript import View, limit_words, model_turn
from oversight.types import ChatMessage, trusted

#: a number: digits not glued to letters; a minus sign counts unless it follows a digit ("0-3" is "3")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")


def last_number(text: str) -> str | None:
    """The last number written in `text`, as a canonical string ("318", "-12", "2.5"), or None when it has none.

    Like Du et al.'s parser it reads the reply's last number; unlike theirs (the last space-separated word that
    parses as a float, after turning every comma into a full stop) it also finds numbers glued to punctuation
    ("=318", "**318**", "318,"). A comma ends a number ("1,5" is 5, theirs read 1.5); every answer of their
    problems lies between -841 and 899, so no thousands separator is ever needed.
    """
    found = _NUMBER.findall(text)
    return number_text(float(found[-1])) if found else None


def number_text(value: float) -> str:
    """`value` written canonically: integers without a decimal point (318.0 -> "318"), others as Python prints
    them."""
    return str(int(value)) if value.is_integer() else repr(value)


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


class FreeFormMADAgent(LLMAgent):
    """A model answering a question without choices: `turn.meta["answer_text"]` is what follows its last
    "Answer:" (else its last line; None for an empty reply)."""

    prompt_names = ("mad_open_system", "mad_open_answer", "mad_open_revise")

    async def respond(self, view: View) -> Turn:
        """The first answer (round 0) or a revision after the previous round's answers in the view."""
        template = "mad_open_answer" if view.round == 0 else "mad_open_revise"
        turn = await self.call(view, "mad_open_system", template, kind="speech")
        turn.meta["answer_text"] = final_answer(turn.content) or None
        return turn


class DuMADAgent(LLMAgent):
    """Du et al.'s arithmetic agent: one chat per agent, no system prompt. Round 0 asks the question; each later
    round appends the other agents' answers of the round before (or, alone, a request to check its answer) to the
    agent's own history. `turn.meta["answer_text"]` is the last number (`last_number`) of the reply as kept: cut
    at `view.word_limit` words, as the protocol cuts it, so the answer is one the others and the record can see.

    The view must hold every earlier turn of the episode (the protocol's `style = "du"` does that); the agent's
    own turns become its assistant messages, the others' enter escaped.
    """

    prompt_names = ("mad_du_answer", "mad_du_revise", "mad_du_opinion", "mad_du_reflect", "mad_du_length")

    def messages(self, view: View) -> list[ChatMessage]:
        """The chat this agent sends at `view.round`: its history, then this round's request."""
        length = self.prompts.render("mad_du_length", word_limit=view.word_limit) if view.word_limit else ""
        own = {t.round: t.content for t in view.turns if t.role == view.role}
        messages: list[ChatMessage] = []
        for rnd in range(view.round + 1):
            if rnd == 0:
                text = self.prompts.render("mad_du_answer", question=view.question, length=length)
            else:
                others = [t for t in view.turns if t.round == rnd - 1 and t.role != view.role]
                if others:
                    opinions = "".join(self.prompts.render("mad_du_opinion", answer=escape(t.content)) for t in others)
                    text = self.prompts.render("mad_du_revise", opinions=opinions, length=length)
                else:  # alone: Du et al.'s agent is asked to check itself
                    text = self.prompts.render("mad_du_reflect", length=length)
            messages.append(trusted(ChatMessage, role="user", content=text))
            if rnd < view.round:
                if rnd not in own:
                    raise ValueError(f"{view.role}: its round-{rnd + 1} answer is not in the view")
                messages.append(trusted(ChatMessage, role="assistant", content=own[rnd]))
        return messages

    async def respond(self, view: View) -> Turn:
        """This round's reply, cut at the word limit; its last number is the answer."""
        messages = self.messages(view)
        template = "mad_du_answer" if view.round == 0 else "mad_du_revise"
        config = self._config.model_copy(update={"seed": call_seed(view, template)})
        out = await self.model.generate(messages, config)
        turn = limit_words(model_turn(view.role, out, messages, kind="speech", round=view.round), view.word_limit)
        turn.meta["answer_text"] = last_number(turn.content)
        return turn
