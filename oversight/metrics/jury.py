"""How a jury's verdicts become one: the aggregation rule (`JuryRule`) and `aggregate_votes`, which applies it.

Rules, over the valid jurors' probability vectors v_1..v_n (indexed like the question's choices):

* `majority`: each juror votes for its most probable answer; the answer with most votes wins; the probabilities
  are the vote shares.
* `mean`: the mean probability vector; its most probable answer wins.
* `welfare`: per answer a, the α-fair welfare w_α(v_1[a], ..., v_n[a]) (`oversight.metrics.welfare`); the answer
  with the highest welfare wins; the probabilities are the welfare values normalised to sum to 1.
* `thresholded`: as `welfare`, over endorsements 1{v_i[a] > τ}.

Ties are broken by a coin seeded with the episode (recorded as `tie`). Jurors whose verdict is invalid are left
out (counted); a jury with no valid juror gives no decision.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from oversight.episode import Judgment, JuryStats, Provenance
from oversight.hashing import stable_hash
from oversight.metrics.agreement import pairwise_agreement, vote_entropy
from oversight.metrics.welfare import alpha_fair_welfare, thresholded_welfare

Aggregate = Literal["majority", "mean", "welfare", "thresholded"]
AGGREGATES: tuple[str, ...] = ("majority", "mean", "welfare", "thresholded")


class JuryRule(BaseModel):
    """The aggregation rule of a jury: `aggregate` (majority, mean, welfare, thresholded), α for the welfare rules
    (0 utilitarian, 1 geometric mean, `inf` the minimum), τ for the thresholded one, and whether disagreement is
    reported as signal or averaged away as noise (recorded in provenance; the decision is the same)."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")

    aggregate: Aggregate = "mean"
    alpha: float = Field(default=1.0, ge=0.0)
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    disagreement: Literal["signal", "noise"] = "noise"

    def describe(self) -> str:
        """The rule as written in provenance, e.g. `welfare(alpha=1)` or `thresholded(alpha=0, tau=0.5)`."""
        if self.aggregate == "welfare":
            return f"welfare(alpha={_num(self.alpha)})"
        if self.aggregate == "thresholded":
            return f"thresholded(alpha={_num(self.alpha)}, tau={_num(self.threshold)})"
        return "majority vote" if self.aggregate == "majority" else "mean probability"


def _num(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:g}"


@dataclass(slots=True)
class JuryDecision:
    """What a rule made of the votes: probabilities and choice (None: no valid juror), the welfare per answer
    (welfare rules), the vote counts per answer, disagreement, and whether a coin broke a tie."""

    probabilities: list[float] | None
    choice: int | None
    votes: list[int]
    valid: int
    entropy: float | None = None
    agreement: float | None = None
    welfare: list[float] | None = None
    tie: bool = False
    tied: list[int] = field(default_factory=list)


def aggregate_votes(
    rule: JuryRule, votes: Sequence[Sequence[float] | None], n_choices: int, seed: str = ""
) -> JuryDecision:
    """Apply `rule` to the jurors' probability vectors (None: that juror gave no valid verdict). `seed` seeds the
    tie-break coin. Raises ValueError for a vector of the wrong length."""
    valid = [list(v) for v in votes if v is not None]
    for v in valid:
        if len(v) != n_choices:
            raise ValueError(f"a juror's probabilities have {len(v)} entries for {n_choices} choices")
    picks = [_argmax(v) for v in valid]
    counts = [picks.count(i) for i in range(n_choices)]
    decision = JuryDecision(None, None, counts, len(valid))
    if not valid:
        return decision
    decision.entropy = vote_entropy(counts)
    decision.agreement = pairwise_agreement(picks)
    if rule.aggregate == "majority":
        scores = [float(c) for c in counts]
    elif rule.aggregate == "mean":
        scores = [sum(v[i] for v in valid) / len(valid) for i in range(n_choices)]
    else:
        column = [[max(0.0, v[i]) for v in valid] for i in range(n_choices)]
        if rule.aggregate == "welfare":
            scores = [alpha_fair_welfare(c, rule.alpha) for c in column]
        else:
            scores = [thresholded_welfare(c, rule.alpha, rule.threshold) for c in column]
        decision.welfare = scores
    total = sum(scores)
    decision.probabilities = [s / total for s in scores] if total > 0 else [1.0 / n_choices] * n_choices
    top = max(scores)
    tied = [i for i, s in enumerate(scores) if math.isclose(s, top, rel_tol=1e-12, abs_tol=1e-12)]
    decision.tied = tied
    decision.tie = len(tied) > 1
    decision.choice = tied[0] if len(tied) == 1 else random.Random(f"jury|{seed}").choice(tied)
    return decision


def jury_decision(rule: JuryRule, parts: Sequence[Judgment], n_choices: int, seed: str = "") -> tuple[
    JuryDecision, JuryStats
]:
    """`aggregate_votes` over jurors' judgments (invalid ones left out, pending ones counted) and the `JuryStats`
    recorded with the jury's judgment. The caller decides what a pending juror means for the whole jury."""
    votes = [p.probabilities if p.valid and not p.pending and p.probabilities else None for p in parts]
    d = aggregate_votes(rule, votes, n_choices, seed)
    stats = JuryStats(
        rule=rule.describe(),
        aggregate=rule.aggregate,
        alpha=rule.alpha if rule.aggregate in ("welfare", "thresholded") else None,
        threshold=rule.threshold if rule.aggregate == "thresholded" else None,
        jurors=len(parts),
        valid=d.valid,
        pending=sum(1 for p in parts if p.pending),
        votes=d.votes,
        entropy=d.entropy,
        agreement=d.agreement,
        welfare=d.welfare,
        tie=d.tie,
        seed=seed,
    )
    return d, stats


def jury_judgment(identity: str, rule: JuryRule, parts: list[Judgment], order: Sequence[int], seed: str) -> Judgment:
    """The jury `identity`'s judgment of its jurors' `parts` under `rule`, for answers shown in `order`: pending
    while any juror is, invalid when no juror is valid. `seed` seeds the tie-break coin."""
    decision, stats = jury_decision(rule, parts, len(order), seed)
    pending = stats.pending > 0
    if pending:
        rationale = "waiting for pending jurors"
    else:
        rationale = f"votes per answer {stats.votes}" + ("; tie broken by a seeded coin" if decision.tie else "")
    return Judgment(
        judge=identity,
        probabilities=None if pending else decision.probabilities,
        choice=None if pending else decision.choice,
        valid=not pending and decision.choice is not None,
        pending=pending,
        method="jury",
        rationale=rationale,
        attempts=sum(p.attempts for p in parts),
        provenance=Provenance(
            judge=identity,
            aggregation=rule.describe(),
            order_shown=list(order),
            disagreement=rule.disagreement,
            rubric="jury rule",
            rubric_hash=stable_hash(rule.model_dump(mode="json")),
            rubric_author="spec",
        ),
        parts=parts,
        jury=stats,
    )


def rule_of(stats: JuryStats, disagreement: str | None = None) -> JuryRule:
    """The `JuryRule` a jury's recorded stats were made with."""
    return JuryRule(
        aggregate=stats.aggregate,  # type: ignore[arg-type]
        alpha=stats.alpha if stats.alpha is not None else 1.0,
        threshold=stats.threshold if stats.threshold is not None else 0.5,
        disagreement=disagreement if disagreement in ("signal", "noise") else "noise",  # type: ignore[arg-type]
    )


def _argmax(v: Sequence[float]) -> int:
    return max(range(len(v)), key=lambda i: (v[i], -i))


__all__ = [
    "AGGREGATES",
    "Aggregate",
    "JuryDecision",
    "JuryRule",
    "aggregate_votes",
    "jury_decision",
    "jury_judgment",
    "rule_of",
]
