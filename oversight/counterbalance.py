"""Counterbalancing: which side a consultant argues, which answer is shown first, who speaks first."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from oversight.types import Question

#: Set by the experiment runner: the question's rank in a seeded shuffle of its task, per seed. With it, each
#: counterbalanced factor is split exactly (half/half over every 2, 4, 8 consecutive ranks), not just on average.
BALANCE_RANK = "balance_rank"


def balance_bits(question: Question, seed: int) -> int:
    """Counterbalancing bits for (question, seed): bit 0 picks which side a consultant argues, bit 1 which answer
    is shown first, bit 2 who speaks first. From the runner's `meta["balance_rank"]` when present (exact balance
    across a run), else pseudo-random from (question id, seed) (balanced only on average). Reproducible on resume.
    """
    digest = hashlib.sha256(f"{question.id}\0{seed}".encode()).digest()
    bits = int.from_bytes(digest[:8], "big")
    rank = question.meta.get(BALANCE_RANK)
    return bits if rank is None else (bits & ~7) | (int(rank) & 7)


def balance_ranks(question_ids: Sequence[str], seed: int) -> dict[str, int]:
    """Each id's rank in a shuffle of `question_ids` seeded by `seed` (the runner's `BALANCE_RANK`)."""
    key = {qid: hashlib.sha256(f"{qid}\0{seed}".encode()).digest() for qid in question_ids}
    return {qid: r for r, qid in enumerate(sorted(question_ids, key=key.__getitem__))}
