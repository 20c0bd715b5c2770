"""Debater ratings from judge decisions: Bradley-Terry strengths, Elo points and win rates by side.

A match is `(a, b, score)`: players a and b met and a scored `score` (1 a won, 0 b won, 0.5 a tie). Bradley-Terry
says P(a beats b) = sigmoid(theta_a - theta_b) with theta a natural-log strength. Elo is the same model on a
different scale: elo = anchor + theta * 400 / ln(10), so 400 Elo points mean 10:1 odds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from oversight.metrics.binomial import wilson_interval
from oversight.metrics.paired import percentile_interval

#: Elo points per unit of natural-log strength.
ELO_SCALE = 400.0 / math.log(10.0)
#: Default Gaussian prior precision on theta (sd = 10 nats): negligible with data, finite under perfect separation.
DEFAULT_PRIOR = 0.01

Match = tuple[str, str, float]


def _encode(matches: Sequence[Match], players: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    index = {p: k for k, p in enumerate(players)}
    a = np.array([index[m[0]] for m in matches], dtype=int)
    b = np.array([index[m[1]] for m in matches], dtype=int)
    s = np.array([float(m[2]) for m in matches], dtype=float)
    return a, b, s


def _check_matches(matches: Sequence[Match]) -> list[str]:
    players: dict[str, None] = {}
    for m in matches:
        if len(m) != 3:
            raise ValueError(f"a match is (a, b, score), got {m!r}")
        a, b, s = m
        if a == b:
            raise ValueError(f"a player cannot play itself: {m!r}")
        if not 0.0 <= float(s) <= 1.0:
            raise ValueError(f"match score must be in [0, 1], got {m!r}")
        players.setdefault(a)
        players.setdefault(b)
    return list(players)


def _objective(theta: np.ndarray, a: np.ndarray, b: np.ndarray, s: np.ndarray, prior: float) -> float:
    d = theta[a] - theta[b]
    # log sigmoid(d) = -logaddexp(0, -d), stable for large |d|
    ll = -(s * np.logaddexp(0.0, -d) + (1.0 - s) * np.logaddexp(0.0, d)).sum()
    return float(ll - 0.5 * prior * theta @ theta)


def _fit(
    a: np.ndarray,
    b: np.ndarray,
    s: np.ndarray,
    n_players: int,
    prior: float,
    start: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> np.ndarray:
    """Maximise the penalised Bradley-Terry log-likelihood by damped Newton steps; returns theta."""
    theta = np.zeros(n_players) if start is None else start.copy()
    value = _objective(theta, a, b, s, prior)
    last_step = math.inf
    for _ in range(max_iter):
        d = theta[a] - theta[b]
        p = 1.0 / (1.0 + np.exp(-d))
        r = s - p
        grad = np.bincount(a, r, n_players) - np.bincount(b, r, n_players) - prior * theta
        w = p * (1.0 - p)
        hess = np.zeros((n_players, n_players))
        np.add.at(hess, (a, a), -w)
        np.add.at(hess, (b, b), -w)
        np.add.at(hess, (a, b), w)
        np.add.at(hess, (b, a), w)
        hess -= prior * np.eye(n_players)
        # lstsq: with prior == 0 the Hessian is singular along theta + c; the minimum-norm step ignores that.
        step = np.linalg.lstsq(hess, -grad, rcond=None)[0]
        if prior == 0:
            # Rounding leaves the Hessian's zero eigenvalue (along theta + c) slightly non-zero, so near the optimum
            # lstsq returns steps of order 0.01 along it and the fit never looked converged; the direction is moot.
            step -= step.mean()
        t = 1.0
        while True:  # halve the step until the objective does not drop (it is concave, so this ends)
            candidate = theta + t * step
            new_value = _objective(candidate, a, b, s, prior)
            if new_value >= value - 1e-12 or t < 1e-8:
                break
            t /= 2
        theta, improvement, value = candidate, new_value - value, new_value
        last_step = float(np.max(np.abs(t * step)))
        if last_step < tol or abs(improvement) < tol * 1e-3:
            break
    if prior == 0:
        theta -= theta.mean()
        # Without a prior, perfect separation sends some theta to infinity: Newton then keeps taking steps of
        # order one while the likelihood stops improving, instead of converging quadratically.
        if not np.all(np.isfinite(theta)) or last_step > 1e-4:
            raise ValueError("Bradley-Terry MLE does not exist (perfect separation?); use a prior > 0")
    return theta


def bradley_terry(matches: Sequence[Match], prior: float = DEFAULT_PRIOR) -> dict[str, float]:
    """Bradley-Terry log-strengths (natural log) by maximum penalised likelihood.

    The penalty is a Gaussian prior of precision `prior` on each theta, which keeps ratings finite when a player
    won (or lost) every game; it also centres them (they sum to zero). With `prior=0` this is the plain MLE,
    centred to mean zero, and exists only when the comparison graph is strongly connected.

    Returns {player: theta} in first-appearance order; raises ValueError on malformed matches, a negative prior,
    or (prior 0) a non-converging fit.
    """
    if prior < 0:
        raise ValueError(f"prior must be >= 0, got {prior}")
    players = _check_matches(matches)
    if not players:
        return {}
    a, b, s = _encode(matches, players)
    theta = _fit(a, b, s, len(players), prior)
    return dict(zip(players, (float(t) for t in theta), strict=True))


def to_elo(theta: float | np.ndarray, anchor: float = 1000.0) -> float | np.ndarray:
    """Elo points from a natural-log Bradley-Terry strength: anchor + theta * 400 / ln(10)."""
    return anchor + theta * ELO_SCALE


@dataclass(frozen=True)
class Rating:
    """One player's rating: theta (nats), Elo, a percentile bootstrap interval of Elo, and its record."""

    player: str
    theta: float
    elo: float
    elo_lo: float
    elo_hi: float
    games: float  # matches played
    score: float  # points won (wins + half of ties)


def bradley_terry_ratings(
    matches: Sequence[Match],
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    prior: float = DEFAULT_PRIOR,
    anchor: float = 1000.0,
) -> list[Rating]:
    """Bradley-Terry ratings on the Elo scale with percentile bootstrap intervals, best first.

    The bootstrap resamples matches with replacement (seeded) and refits; a player missing from a resample is
    left out of that resample's replicates for it. Returns one `Rating` per player; raises ValueError like
    `bradley_terry`, or on n_resamples < 1 or confidence outside (0, 1).
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if prior < 0:
        raise ValueError(f"prior must be >= 0, got {prior}")
    players = _check_matches(matches)
    if not players:
        return []
    n_players = len(players)
    a, b, s = _encode(matches, players)
    theta = _fit(a, b, s, n_players, prior)
    rng = np.random.default_rng(seed)
    replicates = np.full((n_resamples, n_players), np.nan)
    m = len(matches)
    fit_prior = prior if prior > 0 else DEFAULT_PRIOR  # a resample can separate perfectly even if the data does not
    for r in range(n_resamples):
        idx = rng.integers(0, m, size=m)
        present = np.zeros(n_players, dtype=bool)
        present[a[idx]] = True
        present[b[idx]] = True
        fitted = _fit(a[idx], b[idx], s[idx], n_players, fit_prior, start=theta)
        replicates[r, present] = fitted[present]
    games = np.bincount(a, minlength=n_players) + np.bincount(b, minlength=n_players)
    score = np.bincount(a, s, n_players) + np.bincount(b, 1.0 - s, n_players)
    out = []
    for k, player in enumerate(players):
        lo, hi = percentile_interval(replicates[:, k], confidence)
        out.append(
            Rating(
                player,
                float(theta[k]),
                float(to_elo(float(theta[k]), anchor)),
                float(to_elo(lo, anchor)),
                float(to_elo(hi, anchor)),
                float(games[k]),
                float(score[k]),
            )
        )
    return sorted(out, key=lambda r: -r.theta)


@dataclass(frozen=True)
class WinRate:
    """Wins of one side out of the decided games it played, with a Wilson interval."""

    side: str
    wins: int
    n: int
    rate: float
    lo: float
    hi: float


def win_rate_by_side(
    winners: Iterable[str | None], sides: Sequence[str], confidence: float = 0.95
) -> tuple[list[WinRate], int]:
    """Win rate of each side (e.g. "A"/"B" speaking position, or "correct"/"incorrect") over contested games.

    Every game is contested by all `sides`; `winners` gives the winning side of each game, or None when the game
    was undecided (invalid judgment), which is left out. Returns (one `WinRate` per side in `sides` order, number
    of undecided games); raises ValueError on a winner not in `sides`.
    """
    known = set(sides)
    counts = dict.fromkeys(sides, 0)
    undecided = 0
    for w in winners:
        if w is None:
            undecided += 1
        elif w not in known:
            raise ValueError(f"winner {w!r} is not one of the sides {list(sides)}")
        else:
            counts[w] += 1
    n = sum(counts.values())
    rates = []
    for side in sides:
        lo, hi = wilson_interval(counts[side], n, confidence)
        rates.append(WinRate(side, counts[side], n, counts[side] / n if n else math.nan, lo, hi))
    return rates, undecided
