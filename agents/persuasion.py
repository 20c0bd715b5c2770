"""Persuasion-optimised arguers (Khan et al. 2024, "Debating with more persuasive LLMs leads to more truthful
answers"): best-of-N speeches ranked by a preference model, and critique-and-refine.

`PersuasiveArguer` wraps any `Arguer` (a debater or a consultant). For each speech it samples `best_of`
candidates, scores each with a preference model — a judge asked for the probability of the arguer's answer given
the transcript so far plus the candidate, as the judge would see it (quotes checked, word limit applied) — and
keeps the best (`agents.selection`). Then, `refine_rounds` times, a critic reads the speech and the arguer
rewrites it. Every candidate, its score, the choice and each critique and rewrite are recorded in the turn's
`meta["persuasion"]`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from agents.base import Arguer
from agents.llm import LLMAgent
from agents.selection import sample_and_select
from judges.base import Judge
from oversight.episode import Turn
from oversight.judge_view import preference_view
from oversight.quotes import QuoteConfig, escape, verify_quotes
from oversight.transcript import View, limit_words

#: the seed stride between candidates (any odd number keeps candidates' call seeds apart)
_SEED_STRIDE = 7919


class Critic(LLMAgent):
    """A model that critiques a draft speech for its speaker (prompts `agents/prompts/critic_*`); it reads what the
    speaker reads, the hidden context included."""

    prompt_names = ("critic_system", "critic_review")

    def __init__(self, *args: Any, critique_words: int = 80, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.critique_words = critique_words

    async def critique(self, view: View, draft: Turn) -> Turn:
        """A critique of `draft`, the speech `view.role` is about to give (a `kind="critique"` turn)."""
        view = dataclasses.replace(
            view, extra={**view.extra, "draft": escape(draft.content), "critique_words": self.critique_words}
        )
        return await self.call(view, "critic_system", "critic_review", kind="critique")


def rewrite_instruction(draft: Turn, critique: Turn) -> str:
    """The instruction an arguer gets to rewrite `draft` after `critique` (both agent texts escaped)."""
    return (
        "Your draft of this speech and a critique of it follow.\n\n"
        f"<draft>\n{escape(draft.content)}\n</draft>\n\n<critique>\n{escape(critique.content)}\n</critique>\n\n"
        "Write the improved speech in full, answering the critique. "
    )


class PersuasiveArguer:
    """`arguer` made more persuasive: best-of-`best_of` speeches ranked by `preference`, then `refine_rounds`
    rounds of critique (by `critic`) and rewrite. Only speeches (`argue`) are optimised; questions, answers and
    side choices are the arguer's own.

    `temperature` samples the candidates (LLM arguers; None keeps the arguer's own); candidate k's view has seed
    `seed + k*7919`, so candidate 0 is the speech the plain arguer would give. `quotes` checks quotes in
    candidates as the protocol will. Raises ValueError for `best_of < 1`, `refine_rounds < 0`, best-of without a
    preference model or refinement without a critic.
    """

    def __init__(
        self,
        arguer: Arguer,
        *,
        best_of: int = 1,
        preference: Judge | None = None,
        refine_rounds: int = 0,
        critic: Critic | None = None,
        temperature: float | None = None,
        quotes: QuoteConfig | None = None,
    ) -> None:
        if best_of < 1:
            raise ValueError(f"best_of: must be >= 1, got {best_of}")
        if refine_rounds < 0:
            raise ValueError(f"refine_rounds: must be >= 0, got {refine_rounds}")
        if best_of > 1 and preference is None:
            raise ValueError("best_of > 1 needs a preference model to rank the candidates")
        if refine_rounds and critic is None:
            raise ValueError("refine_rounds > 0 needs a critic")
        self.arguer = arguer
        self.sampler: Arguer = (
            arguer.with_temperature(temperature)  # type: ignore[assignment]
            if temperature is not None and isinstance(arguer, LLMAgent) and best_of > 1
            else arguer
        )
        self.best_of = best_of
        self.preference = preference
        self.refine_rounds = refine_rounds
        self.critic = critic
        self.quotes = quotes
        parts = [f"best_of={best_of}", f"refine={refine_rounds}"]
        if preference is not None:
            parts.append(f"preference={preference.identity}")
        if critic is not None:
            parts.append(f"critic={critic.identity}")
        self.identity = f"{arguer.identity}+persuasive({','.join(parts)})"

    def _settled(self, view: View, turn: Turn) -> Turn:
        """A copy of `turn` as the protocol will settle it (role, round, answer, word limit, quotes)."""
        t = turn.model_copy(update={"role": view.role, "round": view.round, "answer": view.answer, "quotes": []})
        limit_words(t, view.word_limit)
        return verify_quotes(t, view.raw_context, self.quotes)

    async def score(self, view: View, turn: Turn) -> float | None:
        """The preference model's probability of `view.answer` after `turn` (None: no preference model, no
        assigned answer, or an invalid verdict)."""
        if self.preference is None or view.answer is None:
            return None
        verdict = await self.preference.decide(preference_view(view, self._settled(view, turn)))
        j = verdict.judgment
        if not j.valid or not j.probabilities or view.answer >= len(j.probabilities):
            return None
        return j.probabilities[view.answer]

    async def argue(self, view: View) -> Turn:
        """The most persuasive speech found for `view.answer`, its search recorded in `meta["persuasion"]`."""

        async def make(k: int) -> Turn:
            return await (self.sampler if k else self.arguer).argue(
                view if k == 0 else dataclasses.replace(view, seed=view.seed + k * _SEED_STRIDE)
            )

        async def score(turn: Turn) -> float | None:
            return await self.score(view, turn)

        if self.best_of > 1:
            selection = await sample_and_select(self.best_of, make, score)
            chosen, turn = selection.chosen, selection.best
            candidates = [_candidate(c.item, c.score, k) for k, c in enumerate(selection.candidates)]
        else:
            turn = await make(0)
            chosen, candidates = 0, [_candidate(turn, None, 0)]
        refinements: list[dict[str, Any]] = []
        for _ in range(self.refine_rounds):
            assert self.critic is not None  # checked in __init__
            critique = await self.critic.critique(view, turn)
            rewrite_view = dataclasses.replace(
                view, extra={**view.extra, "instruction": rewrite_instruction(turn, critique)}
            )
            rewritten = await self.arguer.argue(rewrite_view)
            refinements.append(
                {
                    "critique": critique.content,
                    "content": rewritten.content,
                    "score": await self.score(view, rewritten),
                    "tokens": _tokens(critique) + _tokens(rewritten),
                }
            )
            turn = rewritten
        turn.meta["persuasion"] = {
            "best_of": self.best_of,
            "preference": None if self.preference is None else self.preference.identity,
            "critic": None if self.critic is None else self.critic.identity,
            "candidates": candidates,
            "chosen": chosen,
            "refinements": refinements,
        }
        return turn

    async def ask(self, view: View) -> Turn:
        return await self.arguer.ask(view)

    async def answer(self, view: View) -> Turn:
        return await self.arguer.answer(view)

    async def choose(self, view: View) -> Turn:
        return await self.arguer.choose(view)


def _candidate(turn: Turn, score: float | None, k: int) -> dict[str, Any]:
    return {"content": turn.content, "score": score, "seed_offset": k * _SEED_STRIDE, "tokens": _tokens(turn)}


def _tokens(turn: Turn) -> int:
    return turn.usage.input_tokens + turn.usage.output_tokens


__all__ = ["Critic", "PersuasiveArguer", "rewrite_instruction"]
