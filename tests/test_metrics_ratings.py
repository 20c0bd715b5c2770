"""Bradley-Terry, Elo and win rates against closed forms, scipy's optimiser and scipy's Wilson interval."""

import math

import numpy as np
import pytest
from scipy import optimize, stats

from oversight.metrics import ELO_SCALE, bradley_terry, bradley_terry_ratings, to_elo, win_rate_by_side

CHAIN = [("x", "y", 1)] * 7 + [("y", "x", 1)] * 3 + [("y", "z", 1)] * 5 + [("z", "y", 1)] * 5


def test_two_player_mle_is_log_odds():
    theta = bradley_terry([("x", "y", 1)] * 7 + [("x", "y", 0)] * 3, prior=0)
    assert theta["x"] - theta["y"] == pytest.approx(math.log(7 / 3))
    assert theta["x"] + theta["y"] == pytest.approx(0.0)


def test_chain_mle_by_hand():
    theta = bradley_terry(CHAIN, prior=0)
    # x beat y 7-3 and y, z split 5-5, so theta_y = theta_z and theta_x - theta_y = ln(7/3).
    assert theta["x"] - theta["y"] == pytest.approx(math.log(7 / 3))
    assert theta["y"] == pytest.approx(theta["z"])
    assert sum(theta.values()) == pytest.approx(0.0, abs=1e-12)


def test_ties_count_half():
    theta = bradley_terry([("x", "y", 0.5)] * 4 + [("x", "y", 1.0)] * 2, prior=0)
    # x scored 4 of 6 points: ln(4 / 2)
    assert theta["x"] - theta["y"] == pytest.approx(math.log(2))


def _random_matches(seed=0, n=120):
    rng = np.random.default_rng(seed)
    players = ["p0", "p1", "p2", "p3"]
    strength = np.array([1.0, 0.3, 0.0, -1.2])
    out = []
    for _ in range(n):
        i, j = rng.choice(4, size=2, replace=False)
        win = rng.uniform() < 1 / (1 + math.exp(-(strength[i] - strength[j])))
        out.append((players[i], players[j], float(win)))
    return players, out


def test_mle_satisfies_score_equations():
    players, matches = _random_matches()
    theta = bradley_terry(matches, prior=0)
    for p in players:
        observed = expected = 0.0
        for a, b, s in matches:
            if p in (a, b):
                pa = 1 / (1 + math.exp(-(theta[a] - theta[b])))
                observed += s if p == a else 1 - s
                expected += pa if p == a else 1 - pa
        assert observed == pytest.approx(expected, abs=1e-8)


def test_penalised_fit_matches_scipy_optimiser():
    players, matches = _random_matches(seed=1, n=40)
    idx = {p: k for k, p in enumerate(players)}
    a = np.array([idx[m[0]] for m in matches])
    b = np.array([idx[m[1]] for m in matches])
    s = np.array([m[2] for m in matches])
    prior = 0.5

    def neg(theta):
        d = theta[a] - theta[b]
        return np.sum(s * np.logaddexp(0, -d) + (1 - s) * np.logaddexp(0, d)) + 0.5 * prior * theta @ theta

    ref = optimize.minimize(neg, np.zeros(4), method="BFGS", options={"gtol": 1e-10}).x
    ours = bradley_terry(matches, prior=prior)
    assert [ours[p] for p in players] == pytest.approx(ref.tolist(), abs=1e-5)


def test_perfect_separation_finite_with_prior_and_raises_without():
    theta = bradley_terry([("x", "y", 1)] * 3)
    assert math.isfinite(theta["x"]) and theta["x"] > theta["y"]
    with pytest.raises(ValueError, match="prior"):
        bradley_terry([("x", "y", 1)] * 3, prior=0)


def test_elo_scale():
    assert ELO_SCALE == pytest.approx(400 / math.log(10))
    assert to_elo(math.log(10)) == pytest.approx(1400.0)
    assert to_elo(0.0, anchor=1500) == 1500.0
    # A 400-point Elo gap means expected score 10/11 on the Elo curve and on Bradley-Terry.
    gap = to_elo(math.log(10)) - to_elo(0.0)
    assert 1 / (1 + 10 ** (-gap / 400)) == pytest.approx(10 / 11)


def test_ratings_with_bootstrap_intervals():
    ratings = bradley_terry_ratings(CHAIN, n_resamples=300, seed=2)
    assert [r.player for r in ratings][0] == "x"
    by = {r.player: r for r in ratings}
    assert by["x"].elo - by["y"].elo == pytest.approx(ELO_SCALE * math.log(7 / 3), rel=0.02)  # tiny prior
    assert (by["x"].games, by["x"].score, by["y"].games, by["y"].score) == (10, 7, 20, 8)
    for r in ratings:
        assert r.elo_lo <= r.elo <= r.elo_hi
        assert r.elo_hi - r.elo_lo > 10
    assert ratings == bradley_terry_ratings(CHAIN, n_resamples=300, seed=2)


def test_win_rate_by_side_matches_scipy_wilson():
    rates, undecided = win_rate_by_side(["A", "B", "A", None, "A", "A", "B"], ["A", "B"])
    assert undecided == 1
    a, b = rates
    assert (a.side, a.wins, a.n, a.rate) == ("A", 4, 6, pytest.approx(4 / 6))
    assert (b.wins, b.n) == (2, 6)
    ci = stats.binomtest(4, 6).proportion_ci(method="wilson")
    assert (a.lo, a.hi) == pytest.approx((ci.low, ci.high))
    with pytest.raises(ValueError):
        win_rate_by_side(["C"], ["A", "B"])
    empty, _ = win_rate_by_side([], ["A", "B"])
    assert math.isnan(empty[0].rate) and (empty[0].lo, empty[0].hi) == (0.0, 1.0)
