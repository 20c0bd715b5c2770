"""Programmatic judges for cheap studies and tests."""

from __future__ import annotations

from oversight.episode import Judgment, Provenance, Turn
from oversight.transcript import Verdict, View, make_turn


class QuoteCountJudge:
    """Believes whichever answer is backed by more verified quotes: p(i) proportional to 1 + verified quotes in
    turns arguing i (Laplace smoothing); ties go to the answer shown first. Asks a fixed question."""

    identity = "program/quote-count"

    async def decide(self, view: View) -> Verdict:
        """The judgment from verified-quote counts in the visible turns."""
        counts = dict.fromkeys(view.order, 1.0)
        for t in view.turns:
            if t.answer in counts:
                counts[t.answer] += sum(1 for q in t.quotes if q.verified)
        total = sum(counts.values())
        probs = [counts.get(i, 0.0) / total for i in range(len(view.order))]
        choice = max(view.order, key=lambda i: (probs[i], -view.order.index(i)))
        judgment = Judgment(
            judge=self.identity,
            probabilities=probs,
            choice=choice,
            method="program",
            provenance=Provenance(judge=self.identity, order_shown=list(view.order)),
        )
        return Verdict(judgment)

    async def ask(self, view: View) -> Turn:
        """A fixed question to the participants."""
        return make_turn(view.role, "Quote the sentence that settles it.", kind="question", round=view.round)
