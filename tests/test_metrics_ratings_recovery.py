"""Elo fits for the oversight scaling curve: `bradley_terry` + `to_elo` recover the ratings of simulated players,
including the bipartite case the curve needs (overseers only ever play the overseen, as in Engels et al. 2025)."""

from __future__ import annotations

import numpy as np
import pytest

from oversight.metrics import bradley_terry, bradley_terry_ratings, to_elo


def _simulate(
    elo: dict[str, float], pairs: list[tuple[str, str]], games: int, seed: int
) -> list[tuple[str, str, float]]:
    """`games` outcomes per pair, the first player winning with the Elo probability 1 / (1 + 10^(-gap / 400))."""
    rng = np.random.default_rng(seed)
    matches = []
    for a, b in pairs:
        p = 1.0 / (1.0 + 10 ** (-(elo[a] - elo[b]) / 400))
        matches += [(a, b, float(w)) for w in rng.random(games) < p]
    return matches


def _relative(ratings: dict[str, float], ref: str) -> dict[str, float]:
    return {p: r - ratings[ref] for p, r in ratings.items()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_round_robin_recovers_known_elo(seed):
    truth = {"a": 1400.0, "b": 1200.0, "c": 1000.0, "d": 900.0, "e": 700.0}
    names = list(truth)
    pairs = [(x, y) for i, x in enumerate(names) for y in names[i + 1 :]]
    matches = _simulate(truth, pairs, games=400, seed=seed)
    fitted = {p: float(to_elo(t)) for p, t in bradley_terry(matches, prior=0).items()}
    got, want = _relative(fitted, "c"), _relative(truth, "c")
    for p in names:
        assert got[p] == pytest.approx(want[p], abs=45), (p, got[p], want[p])
    assert sorted(names, key=lambda p: -fitted[p]) == names


def test_bipartite_overseer_vs_overseen_recovers_both_sides():
    # judges (overseers) only meet debaters (overseen); a win is the judge picking the truth
    judges = {"judge/k4": 900.0, "judge/k6": 1100.0, "judge/k6-wide": 1250.0}
    debaters = {"debater/random": 800.0, "debater/greedy": 1050.0, "debater/mcts-64": 1300.0}
    truth = {**judges, **debaters}
    pairs = [(j, d) for j in judges for d in debaters]
    matches = _simulate(truth, pairs, games=600, seed=7)
    fitted = {p: float(to_elo(t)) for p, t in bradley_terry(matches, prior=0).items()}
    got, want = _relative(fitted, "judge/k6"), _relative(truth, "judge/k6")
    for p in truth:
        assert got[p] == pytest.approx(want[p], abs=50), (p, got[p], want[p])
    # the bootstrap intervals cover the truth (shifted to the same anchor) for most players
    ratings = {r.player: r for r in bradley_terry_ratings(matches, n_resamples=200, seed=0, prior=0.0)}
    shift = ratings["judge/k6"].elo - truth["judge/k6"]
    covered = sum(ratings[p].elo_lo - 15 <= truth[p] + shift <= ratings[p].elo_hi + 15 for p in truth)
    assert covered >= 5


def test_more_games_shrink_the_error():
    truth = {"x": 1200.0, "y": 1000.0}
    errors = []
    for games in (50, 5000):
        est = [
            float(to_elo(t["x"]) - to_elo(t["y"]))
            for t in (bradley_terry(_simulate(truth, [("x", "y")], games, s), prior=0) for s in range(20))
        ]
        errors.append(float(np.sqrt(np.mean((np.array(est) - 200.0) ** 2))))
    assert errors[1] < errors[0] / 4  # error ~ 1 / sqrt(games): 100x the games, about a tenth of the error
