"""Helpers every protocol shares: the two-answer form, deterministic counterbalancing, role bookkeeping."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oversight.counterbalance import balance_bits
from oversight.episode import Turn
from oversight.models.base import Model
from oversight.quotes import QuoteConfig, verify_quotes
from oversight.tasks.two_answer import two_answer
from oversight.transcript import limit_words
from oversight.types import Question


def two_choices(question: Question, seed: int) -> tuple[Question, dict[str, Any] | None]:
    """`question` reduced to exactly two choices (the correct one and a seeded distractor), keeping its id.

    Returns the question unchanged (and None) when it already has two choices; otherwise the reduced question
    and the mapping back to the original choices. Free-form questions with a distractor rule (e.g. numeric
    answers) get one from the tasks layer. Raises ValueError when no two-answer form exists.
    """
    if len(question.choices) == 2:
        return question, None
    reduced = two_answer(question, seed)
    return reduced.model_copy(update={"id": question.id}), reduced.meta.get("two_answer")


def choice_order(question: Question, order: str, seed: int) -> tuple[int, ...]:
    """The order the choices are shown in. Two choices: the correct one first or second as `order` says
    ("correct_first", "correct_second", or "balanced": by the question's counterbalancing bit); more: as given."""
    if len(question.choices) != 2:
        return tuple(range(len(question.choices)))
    correct_first = order == "correct_first" or (order == "balanced" and not balance_bits(question, seed) & 2)
    gold = question.answer if question.answer is not None else 0
    return (gold, 1 - gold) if correct_first else (1 - gold, gold)


def speech_max_tokens(word_limit: int | None) -> int:
    """The token cap of an agent's speech under `word_limit`."""
    # ~1.5 tokens per English word, with headroom: the word limit, not the token cap, should bind.
    return 2 * (word_limit or 300) + 32


def model_names(models_by_role: Mapping[str, Model]) -> dict[str, str]:
    """role -> model name, as recorded in the Episode."""
    return {role: m.name for role, m in models_by_role.items()}


def settle(
    turn: Turn,
    *,
    role: str,
    round: int,
    answer: int | None,
    word_limit: int | None,
    context: str | None,
    quotes: QuoteConfig | None = None,
) -> Turn:
    """The protocol's word on a turn an agent produced (in place): the speaker's role, round and assigned answer
    are the protocol's (an agent cannot speak as someone else), the word limit is enforced (truncation recorded),
    and quotes are verified against the context (statuses the agent attached are discarded)."""
    turn.role = role
    turn.round = round
    turn.answer = answer
    limit_words(turn, word_limit)
    return verify_quotes(turn, context, quotes)


def identities(**agents: object) -> dict[str, str]:
    """role -> identity (model + prompt hash, or program name) of each agent or judge, for Episode.meta."""
    return {role: str(getattr(a, "identity", type(a).__name__)) for role, a in agents.items()}
