"""Paired comparisons of two conditions scored on the same items (e.g. two protocols on shared questions).

Inputs are two equally long arrays aligned by item: `a[i]` and `b[i]` score the same question. Correctness may be
bool or 0/1; the bootstrap and permutation functions also accept real-valued scores (e.g. per-item Brier).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

#: Resample at most this many bootstrap index rows at once, so memory stays bounded for large item counts.
_CHUNK_CELLS = 4_000_000


def _paired(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"need two 1-D arrays of equal length, got shapes {x.shape} and {y.shape}")
    if np.isnan(x).any() or np.isnan(y).any():
        raise ValueError("paired scores must not contain NaN (drop unscored items from both sides first)")
    return x, y


def _binary_pair(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    x, y = _paired(a, b)
    if not (np.isin(x, (0.0, 1.0)).all() and np.isin(y, (0.0, 1.0)).all()):
        raise ValueError("McNemar's test needs 0/1 (or bool) outcomes")
    return x.astype(bool), y.astype(bool)


@dataclass(frozen=True)
class McNemarResult:
    """Exact McNemar test. `a_only`: items only A got right; `b_only`: only B; `n`: shared items."""

    a_only: int
    b_only: int
    n: int
    p_value: float

    @property
    def discordant(self) -> int:
        return self.a_only + self.b_only


def binomial_two_sided_half(k: int, n: int) -> float:
    """Two-sided exact p-value of k successes in n trials with success probability 1/2.

    For the symmetric binomial every "as or less likely" rule agrees: p = min(1, 2 * P(X <= min(k, n - k))).
    Computed with exact integer arithmetic. Returns 1.0 for n == 0; raises ValueError unless 0 <= k <= n.
    """
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 1.0
    m = min(k, n - k)
    tail = sum(math.comb(n, i) for i in range(m + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2**n)))


def mcnemar_exact(a_correct: Any, b_correct: Any) -> McNemarResult:
    """Exact (binomial) McNemar test of whether A and B have the same accuracy on the same items.

    Only discordant pairs carry information: under the null each is equally likely to favour A or B, so the
    count favouring A is Binomial(a_only + b_only, 1/2) and the p-value is its two-sided exact tail.

    Returns a `McNemarResult` (p = 1 with no discordant pairs); raises ValueError on unequal lengths or
    non-binary values.
    """
    x, y = _binary_pair(a_correct, b_correct)
    a_only = int(np.sum(x & ~y))
    b_only = int(np.sum(~x & y))
    return McNemarResult(a_only, b_only, int(x.size), binomial_two_sided_half(a_only, a_only + b_only))


@dataclass(frozen=True)
class BootstrapInterval:
    """A point estimate with a percentile bootstrap interval over `n` resampled items."""

    estimate: float
    lo: float
    hi: float
    n: int
    n_resamples: int
    confidence: float


def _check_resampling(n_resamples: int, confidence: float) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def bootstrap_means(values: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Means of `n_resamples` with-replacement resamples of the rows of `values` (shape (n,) or (n, m)).

    Resampling rows keeps the columns of an item together, which is what makes a bootstrap paired. Returns an
    array of shape (n_resamples,) or (n_resamples, m).
    """
    n = values.shape[0]
    out = np.empty((n_resamples,) + values.shape[1:])
    rows = max(1, _CHUNK_CELLS // max(1, n))
    for start in range(0, n_resamples, rows):
        stop = min(n_resamples, start + rows)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = values[idx].mean(axis=1)
    return out


def percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    """The central `confidence` percentile interval of bootstrap replicates (NaN replicates ignored).

    Returns (nan, nan) when no replicate is finite.
    """
    finite = replicates[np.isfinite(replicates)]
    if not finite.size:
        return (math.nan, math.nan)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(finite, [alpha, 1 - alpha])
    return (float(lo), float(hi))


def paired_bootstrap_diff(
    a: Any, b: Any, n_resamples: int = 10_000, confidence: float = 0.95, seed: int = 0
) -> BootstrapInterval:
    """Percentile bootstrap interval of mean(a) - mean(b), resampling items (pairs) with replacement.

    Seeded, so the same inputs give the same interval. Returns a `BootstrapInterval` (all NaN for no items);
    raises ValueError on unequal lengths, NaN scores, n_resamples < 1 or confidence outside (0, 1).
    """
    _check_resampling(n_resamples, confidence)
    x, y = _paired(a, b)
    n = int(x.size)
    if not n:
        return BootstrapInterval(math.nan, math.nan, math.nan, 0, n_resamples, confidence)
    diff = x - y
    replicates = bootstrap_means(diff, n_resamples, np.random.default_rng(seed))
    lo, hi = percentile_interval(replicates, confidence)
    return BootstrapInterval(float(diff.mean()), lo, hi, n, n_resamples, confidence)


@dataclass(frozen=True)
class PermutationResult:
    """A paired permutation test of mean(a) - mean(b) = 0. `exact` when all sign flips were enumerated."""

    statistic: float  # observed mean difference
    p_value: float
    n: int
    n_resamples: int  # sign patterns evaluated (2**n_discordant when exact)
    exact: bool


def paired_permutation_test(a: Any, b: Any, n_resamples: int = 10_000, seed: int = 0) -> PermutationResult:
    """Two-sided paired permutation (sign-flip) test of mean(a) - mean(b) = 0.

    Under the null the labels within each pair are exchangeable, so each difference d_i keeps its size and gets a
    random sign. Pairs with d_i = 0 are unaffected. When 2**(nonzero pairs) <= n_resamples every sign pattern is
    enumerated and the p-value is exact: the share of patterns whose |mean| is at least the observed |mean|.
    Otherwise `n_resamples` random patterns are drawn (seeded) and p = (1 + hits) / (1 + n_resamples), which is
    never zero. On 0/1 data the exact version equals the exact McNemar test.

    Returns a `PermutationResult` (p = 1 for no items); raises ValueError on unequal lengths or NaN scores.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    x, y = _paired(a, b)
    n = int(x.size)
    if not n:
        return PermutationResult(math.nan, 1.0, 0, 0, True)
    diff = x - y
    observed = float(diff.mean())
    d = diff[diff != 0]
    # Compare with a relative tolerance so float round-off does not decide ties with the observed value.
    threshold = abs(observed) * n * (1 - 1e-9) - 1e-12
    m = int(d.size)
    if m == 0:
        return PermutationResult(observed, 1.0, n, 1, True)
    if m <= 62 and 2**m <= n_resamples:
        patterns = (np.arange(2**m)[:, None] >> np.arange(m)) & 1
        sums = np.abs((1 - 2 * patterns) @ d)
        return PermutationResult(observed, float(np.mean(sums >= threshold)), n, 2**m, True)
    rng = np.random.default_rng(seed)
    hits = 0
    rows = max(1, _CHUNK_CELLS // m)
    for start in range(0, n_resamples, rows):
        stop = min(n_resamples, start + rows)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(stop - start, m))
        hits += int(np.sum(np.abs(signs @ d) >= threshold))
    return PermutationResult(observed, (1 + hits) / (1 + n_resamples), n, n_resamples, False)
