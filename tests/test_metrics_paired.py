"""Paired tests against scipy and hand-computed values."""

import math

import numpy as np
import pytest
from scipy import stats

from oversight.metrics import mcnemar_exact, paired_bootstrap_diff, paired_permutation_test
from oversight.metrics.paired import binomial_two_sided_half

A = [1, 1, 0, 1, 0, 1, 1, 1, 0, 1, 1, 0]
B = [0, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0]


def _mean_diff(x, y, axis=-1):
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def test_mcnemar_by_hand():
    r = mcnemar_exact(A, B)
    assert (r.a_only, r.b_only, r.n, r.discordant) == (5, 1, 12, 6)
    # 2 * P(X <= 1 | n=6, p=1/2) = 2 * (1 + 6) / 64
    assert r.p_value == pytest.approx(14 / 64)


def test_mcnemar_statsmodels_style_values():
    # statsmodels' mcnemar(exact=True) is min(1, 2 * binom.cdf(min(b, c), b + c, 0.5)).
    assert binomial_two_sided_half(0, 7) == pytest.approx(2 / 128)
    assert binomial_two_sided_half(3, 6) == 1.0
    assert binomial_two_sided_half(3, 3) == pytest.approx(0.25)
    assert binomial_two_sided_half(2, 4) == 1.0
    assert binomial_two_sided_half(0, 0) == 1.0
    assert binomial_two_sided_half(1, 10) == pytest.approx(2 * 11 / 1024)


@pytest.mark.parametrize(("b", "c"), [(0, 0), (3, 3), (10, 2), (0, 7), (25, 12), (100, 70), (1, 400)])
def test_mcnemar_matches_scipy_binomtest(b, c):
    a_correct = [1] * b + [0] * c + [1] * 5 + [0] * 4
    b_correct = [0] * b + [1] * c + [1] * 5 + [0] * 4
    r = mcnemar_exact(a_correct, b_correct)
    expected = stats.binomtest(b, b + c, 0.5).pvalue if b + c else 1.0
    assert r.p_value == pytest.approx(expected, rel=1e-9)
    assert r.n == b + c + 9


def test_mcnemar_rejects_bad_input():
    with pytest.raises(ValueError):
        mcnemar_exact([1, 0], [1])
    with pytest.raises(ValueError):
        mcnemar_exact([1, 0.5], [1, 0])


def test_exact_permutation_equals_mcnemar_on_binary_data():
    r = paired_permutation_test(A, B)
    assert r.exact and r.n_resamples == 2**6
    assert r.statistic == pytest.approx(4 / 12)
    assert r.p_value == pytest.approx(mcnemar_exact(A, B).p_value)


def test_exact_permutation_matches_scipy_on_real_scores():
    rng = np.random.default_rng(0)
    x = rng.normal(0.3, 1.0, size=10)
    y = rng.normal(0.0, 1.0, size=10)
    ours = paired_permutation_test(x, y, n_resamples=2**10)
    ref = stats.permutation_test((x, y), _mean_diff, permutation_type="samples", vectorized=True)
    assert ours.exact
    assert ours.p_value == pytest.approx(ref.pvalue)


def test_random_permutation_is_seeded_close_to_exact_and_never_zero():
    rng = np.random.default_rng(1)
    x = rng.normal(0.4, 1.0, size=16)
    y = rng.normal(0.0, 1.0, size=16)
    exact = paired_permutation_test(x, y, n_resamples=2**16).p_value
    mc = paired_permutation_test(x, y, n_resamples=20_000, seed=5)
    assert not mc.exact
    assert mc.p_value == paired_permutation_test(x, y, n_resamples=20_000, seed=5).p_value
    assert mc.p_value == pytest.approx(exact, abs=0.01)
    far = paired_permutation_test(np.ones(40), np.zeros(40), n_resamples=999)
    assert far.p_value == pytest.approx(1 / 1000)


def test_permutation_no_difference():
    r = paired_permutation_test([1, 0, 1], [1, 0, 1])
    assert r.p_value == 1.0 and r.statistic == 0.0


def test_bootstrap_estimate_and_seed():
    r = paired_bootstrap_diff(A, B, seed=3)
    assert r.estimate == pytest.approx(4 / 12)
    assert r.n == 12
    assert r.lo <= r.estimate <= r.hi
    assert r == paired_bootstrap_diff(A, B, seed=3)


def test_bootstrap_matches_scipy_percentile_interval():
    rng = np.random.default_rng(2)
    x = (rng.uniform(size=80) < 0.7).astype(float)
    y = np.where(rng.uniform(size=80) < 0.8, x, 1 - x)
    ours = paired_bootstrap_diff(x, y, n_resamples=20_000, seed=0)
    ref = stats.bootstrap(
        (x, y), _mean_diff, paired=True, vectorized=True, method="percentile", n_resamples=20_000, random_state=0
    ).confidence_interval
    # Different random streams: agree to within Monte Carlo error plus one step of the 1/80 grid.
    assert ours.lo == pytest.approx(ref.low, abs=0.02)
    assert ours.hi == pytest.approx(ref.high, abs=0.02)


def test_bootstrap_is_paired():
    # Identical columns: every resample has difference 0. An unpaired bootstrap would spread.
    x = [1, 0, 1, 1, 0, 0, 1]
    r = paired_bootstrap_diff(x, x)
    assert (r.estimate, r.lo, r.hi) == (0.0, 0.0, 0.0)
    shifted = paired_bootstrap_diff([v + 0.25 for v in x], x)
    assert (shifted.lo, shifted.hi) == pytest.approx((0.25, 0.25))


def test_bootstrap_empty_and_bad_args():
    r = paired_bootstrap_diff([], [])
    assert r.n == 0 and math.isnan(r.estimate)
    with pytest.raises(ValueError):
        paired_bootstrap_diff([1], [1], confidence=1.0)
    with pytest.raises(ValueError):
        paired_bootstrap_diff([1, math.nan], [1, 0])
