"""Oversight as a game between an overseer and the overseen, rated on one Elo scale (Engels et al. 2025, "Scaling
Laws for Scalable Oversight": a Guard oversees a Houdini; P(Guard wins) = 1 / (1 + 10^((E_Houdini - E_Guard) / 400))).

Each game is an `OversightOutcome`: which guard (a judge) oversaw which houdini (the agent that argued a side,
the dishonest one when there is one) and whether oversight succeeded (the judge was right). `oversight_ratings`
fits every guard's and houdini's Elo jointly by Bradley-Terry (`oversight.metrics.ratings`), with bootstrap
intervals; `pair_rows` sets each (guard, houdini) pair's success rate (Wilson interval) beside its Elo gap and
the success the fit predicts; `strength_slope` is how fast a role's Elo grows with a strength knob (Engels et
al.'s domain-Elo slope).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from oversight.metrics.binomial import wilson_interval
from oversight.metrics.ratings import DEFAULT_PRIOR, Rating, bradley_terry_ratings

_GUARD, _HOUDINI = "guard:", "houdini:"


@dataclass(frozen=True, slots=True)
class OversightOutcome:
    """One oversight game: `guard` oversaw `houdini`; `success` when the guard got it right."""

    guard: str
    houdini: str
    success: bool


@dataclass(frozen=True)
class OversightRatings:
    """Guard and houdini ratings on one Elo scale (a player may appear in both roles under the same name)."""

    guards: dict[str, Rating]
    houdinis: dict[str, Rating]

    def gap(self, guard: str, houdini: str) -> float:
        """E_houdini - E_guard: positive when the overseen is the stronger."""
        return self.houdinis[houdini].elo - self.guards[guard].elo


def success_probability(gap: float | np.ndarray) -> float | np.ndarray:
    """P(oversight succeeds) at an Elo gap E_houdini - E_guard: 1 / (1 + 10^(gap / 400))."""
    return 1.0 / (1.0 + np.power(10.0, np.asarray(gap, dtype=float) / 400.0))


def oversight_ratings(
    outcomes: Sequence[OversightOutcome],
    n_resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    prior: float = DEFAULT_PRIOR,
) -> OversightRatings:
    """Every guard's and houdini's Elo, fitted jointly (a success is a guard's win over the houdini), with percentile
    bootstrap intervals over games. Ratings are centred on 1000 over all players.

    Raises ValueError for no outcomes (or as `bradley_terry_ratings` does)."""
    if not outcomes:
        raise ValueError("no oversight outcomes to rate")
    matches = [(_GUARD + o.guard, _HOUDINI + o.houdini, 1.0 if o.success else 0.0) for o in outcomes]
    ratings = bradley_terry_ratings(matches, n_resamples, confidence, seed, prior)
    guards = {r.player[len(_GUARD) :]: r for r in ratings if r.player.startswith(_GUARD)}
    houdinis = {r.player[len(_HOUDINI) :]: r for r in ratings if r.player.startswith(_HOUDINI)}
    return OversightRatings(guards, houdinis)


def pair_rows(
    outcomes: Sequence[OversightOutcome], ratings: OversightRatings, confidence: float = 0.95
) -> list[dict[str, Any]]:
    """One row per (guard, houdini) pair, in first-appearance order: games, successes, success rate with its Wilson
    interval, both Elos, the gap (houdini - guard) and the success the fit predicts at that gap."""
    tally: dict[tuple[str, str], list[int]] = {}
    for o in outcomes:
        t = tally.setdefault((o.guard, o.houdini), [0, 0])
        t[0] += 1
        t[1] += int(o.success)
    rows = []
    for (guard, houdini), (n, wins) in tally.items():
        lo, hi = wilson_interval(wins, n, confidence)
        gap = ratings.gap(guard, houdini)
        rows.append(
            {
                "guard": guard,
                "houdini": houdini,
                "n": n,
                "successes": wins,
                "success": wins / n,
                "lo": lo,
                "hi": hi,
                "guard_elo": ratings.guards[guard].elo,
                "houdini_elo": ratings.houdinis[houdini].elo,
                "gap": gap,
                "predicted": float(success_probability(gap)),
            }
        )
    return rows


def strength_slope(ratings: Mapping[str, Rating], strength: Mapping[str, float]) -> float:
    """Least-squares slope of Elo against `strength` (e.g. log2 of a rollout budget) over the players given a
    strength; nan with fewer than two distinct strengths."""
    xs = [float(strength[p]) for p in ratings if p in strength]
    ys = [ratings[p].elo for p in ratings if p in strength]
    if len(set(xs)) < 2:
        return math.nan
    return float(np.polyfit(xs, ys, 1)[0])


__all__ = [
    "OversightOutcome",
    "OversightRatings",
    "oversight_ratings",
    "pair_rows",
    "strength_slope",
    "success_probability",
]
