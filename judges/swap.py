"""Position-swap debiasing: a judge that decides twice, the second time with the answer order (and the A/B speaker
labels) swapped, and averages the two verdicts' probabilities in the original order.

A judge that backs whatever is shown first puts its weight on a different answer in each order, so the average
cancels that pull; a judge that reads the arguments puts it on the same answer in both. Both verdicts are kept
(`Judgment.parts`), and `Judgment.position` records how far the order moved the judge.
"""

from __future__ import annotations

import asyncio
import math
import random

from judges.base import Judge
from oversight.episode import Judgment, PositionCheck, Turn
from oversight.hashing import stable_hash
from oversight.judge_view import swapped_view
from oversight.transcript import Verdict, View


class SwapJudge:
    """`inner` deciding from `view` and from `swapped_view(view)`; the final probabilities are the mean of both
    (in the original indexing). When one verdict is invalid the other stands alone (`position.used` says which);
    when both are, the judgment is invalid. A tie after averaging is broken by a coin seeded with the view."""

    def __init__(self, inner: Judge) -> None:
        self.inner = inner
        self.identity = f"{inner.identity}+swap"
        self.name = self.identity

    async def decide(self, view: View) -> Verdict:
        """The averaged judgment; its `parts` are the verdicts in the original and the swapped order."""
        swapped = swapped_view(view)
        first, second = await asyncio.gather(self.inner.decide(view), self.inner.decide(swapped))
        turns: list[Turn] = []
        for k, verdict in enumerate((first, second)):
            for t in verdict.turns:
                t.meta["swap"] = k  # 0: the order the protocol chose, 1: the swapped one
                turns.append(t)
        return Verdict(combine_orders(self.identity, view, first.judgment, second.judgment), turns)

    async def ask(self, view: View) -> Turn:
        """The inner judge's question (questions are asked once, in the protocol's order)."""
        return await self.inner.ask(view)


def combine_orders(identity: str, view: View, first: Judgment, second: Judgment) -> Judgment:
    """The judgment of `identity` from a verdict in `view.order` and one in the reversed order."""
    n = len(view.order)
    orders = [list(view.order), list(reversed(view.order))]
    usable = [j.valid and j.probabilities is not None and len(j.probabilities) == n for j in (first, second)]
    p_first: list[float | None] = []
    picked: list[bool | None] = []
    for j, ok, order in zip((first, second), usable, orders, strict=True):
        p_first.append(j.probabilities[order[0]] if ok and j.probabilities else None)
        picked.append(j.choice == order[0] if ok else None)
    known = [p for p in p_first if p is not None]
    bias = sum(known) / len(known) - 1.0 / n if known else None
    used = {(True, True): "both", (True, False): "first", (False, True): "second", (False, False): "none"}[
        (usable[0], usable[1])
    ]
    check = PositionCheck(orders=orders, p_first=p_first, picked_first=picked, bias=bias, used=used)
    prov = first.provenance.model_copy(
        update={"judge": identity, "aggregation": "mean of both answer orders", "order_shown": list(view.order)}
    )
    if used == "none":
        return Judgment(
            judge=identity,
            valid=False,
            method="swap",
            rationale="no valid verdict in either order",
            attempts=first.attempts + second.attempts,
            provenance=prov,
            parts=[first, second],
            position=check,
        )
    chosen = [j.probabilities for j, ok in zip((first, second), usable, strict=True) if ok and j.probabilities]
    probs = [sum(p[i] for p in chosen) / len(chosen) for i in range(n)]
    top = max(probs)
    tied = [i for i, p in enumerate(probs) if math.isclose(p, top, rel_tol=1e-9, abs_tol=1e-12)]
    if len(tied) > 1:
        check.tie = True
        choice = random.Random(f"swap|{view.seed}|{stable_hash(view.raw_question)}").choice(tied)
    else:
        choice = tied[0]
    rationale = f"mean of {used} order(s)" + (f"; tie between {tied} broken by a seeded coin" if check.tie else "")
    return Judgment(
        judge=identity,
        probabilities=probs,
        choice=choice,
        valid=True,
        method="swap",
        rationale=rationale,
        attempts=first.attempts + second.attempts,
        provenance=prov,
        parts=[first, second],
        position=check,
    )


__all__ = ["SwapJudge", "combine_orders"]
