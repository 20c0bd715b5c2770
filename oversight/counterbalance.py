"""Counterbalancing: which side a consultant argues, which answer is shown first, who speaks first.

Each factor reads one bit of a `Balance`. The runner builds it from the question's rank in a seeded shuffle of
its task (per seed), so each factor splits exactly half/half over every 2, 4, 8 consecutive ranks; a protocol
called directly without one gets a pseudo-random `Balance` from (question id, seed), balanced only on average.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from oversight.types import Question

#: Policies a protocol config may name for the answer shown first / the first speaker.
OrderPolicy = Literal["balanced", "correct_first", "correct_second"]
SpeakerPolicy = Literal["balanced", "a", "b"]
SidePolicy = Literal["balanced", "correct", "incorrect"]

_SIDE, _ORDER, _SPEAKER = 1, 2, 4  # the bit each factor reads


@dataclass(frozen=True, slots=True)
class Balance:
    """The counterbalancing bits of one (question, seed). Bit 0: the side a consultant argues; bit 1: which answer
    is shown first; bit 2: who speaks first. Reproducible on resume."""

    bits: int

    @classmethod
    def of(cls, question_id: str, seed: int, rank: int | None = None) -> Balance:
        """From the runner's `rank` when given (exact balance across a run), else from a hash of (id, seed)."""
        digest = hashlib.sha256(f"{question_id}\0{seed}".encode()).digest()
        bits = int.from_bytes(digest[:8], "big")
        return cls(bits if rank is None else (bits & ~7) | (int(rank) & 7))

    @property
    def argues_correct(self) -> bool:
        """A balanced consultant argues the correct answer."""
        return not self.bits & _SIDE

    @property
    def correct_first(self) -> bool:
        """Balanced answer order shows the correct answer first."""
        return not self.bits & _ORDER

    @property
    def second_speaks_first(self) -> bool:
        """Balanced speaking order lets the second-listed speaker open."""
        return bool(self.bits & _SPEAKER)


def balance_ranks(question_ids: Sequence[str], seed: int) -> dict[str, int]:
    """Each id's rank in a shuffle of `question_ids` seeded by `seed` (what the runner builds `Balance`s from)."""
    key = {qid: hashlib.sha256(f"{qid}\0{seed}".encode()).digest() for qid in question_ids}
    return {qid: r for r, qid in enumerate(sorted(question_ids, key=key.__getitem__))}


def answer_order(question: Question, policy: OrderPolicy, balance: Balance) -> tuple[int, ...]:
    """The order two choices are shown in: the correct one first or second as `policy` says ("balanced": by the
    balance). Without a gold answer the two positions are swapped by the balance instead (no side is correct).
    Questions with other than two choices are shown as given."""
    if len(question.choices) != 2:
        return tuple(range(len(question.choices)))
    gold = question.answer
    if gold is None:
        return (1, 0) if balance.bits & _ORDER else (0, 1)
    correct_first = policy == "correct_first" or (policy == "balanced" and balance.correct_first)
    return (gold, 1 - gold) if correct_first else (1 - gold, gold)


def speaking_order(speakers: tuple[str, str], policy: SpeakerPolicy, balance: Balance) -> tuple[str, str]:
    """`speakers` (A, B) in speaking order: "a"/"b" put that one first, "balanced" follows the balance."""
    a, b = speakers
    second_first = policy == "b" or (policy == "balanced" and balance.second_speaks_first)
    return (b, a) if second_first else (a, b)


def assigned_side(question: Question, policy: SidePolicy, balance: Balance) -> int:
    """The choice a lone arguer (a consultant) is assigned among two. Without a gold answer: position 0 or 1 by
    the balance."""
    gold = question.answer
    if gold is None:
        return int(bool(balance.bits & _SIDE))
    correct = policy == "correct" or (policy == "balanced" and balance.argues_correct)
    return gold if correct else 1 - gold
