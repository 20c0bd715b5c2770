"""Performance gap recovered against hand values and scipy's paired bootstrap."""

import math

import numpy as np
import pytest
from scipy import stats

from oversight.metrics import performance_gap_recovered

PROTOCOL = [1, 1, 0, 1, 0, 1]
NAIVE = [0, 1, 0, 0, 0, 1]
EXPERT = [1, 1, 1, 1, 0, 1]


def test_pgr_by_hand():
    r = performance_gap_recovered(PROTOCOL, NAIVE, EXPERT)
    assert (r.protocol, r.naive, r.expert) == pytest.approx((4 / 6, 2 / 6, 5 / 6))
    assert r.estimate == pytest.approx((4 / 6 - 2 / 6) / (5 / 6 - 2 / 6))  # = 2/3
    assert r.gap == pytest.approx(0.5)
    assert r.n == 6 and r.reason is None
    assert r.lo <= r.estimate <= r.hi


def test_pgr_resamples_questions_jointly():
    # If the protocol matches the expert on every question, every joint resample recovers the whole gap.
    r = performance_gap_recovered(EXPERT, NAIVE, EXPERT)
    assert (r.estimate, r.lo, r.hi) == pytest.approx((1.0, 1.0, 1.0))
    r = performance_gap_recovered(NAIVE, NAIVE, EXPERT)
    assert (r.estimate, r.lo, r.hi) == pytest.approx((0.0, 0.0, 0.0))


def test_pgr_undefined_when_expert_equals_naive():
    r = performance_gap_recovered([1, 0, 1], [1, 0, 0], [0, 1, 0])
    assert math.isnan(r.estimate) and math.isnan(r.lo) and math.isnan(r.hi)
    assert "equal" in r.reason
    empty = performance_gap_recovered([], [], [])
    assert math.isnan(empty.estimate) and empty.reason == "no shared questions"


def test_pgr_notes_expert_below_naive():
    r = performance_gap_recovered([1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0])
    assert r.estimate == pytest.approx((0.25 - 0.5) / (0.0 - 0.5))
    assert "below" in r.note


def test_pgr_counts_undefined_resamples():
    r = performance_gap_recovered(PROTOCOL, NAIVE, EXPERT, n_resamples=2000)
    assert 0 < r.n_undefined < 2000  # with 6 questions some resamples have no expert-naive gap
    assert str(r.n_undefined) in r.note


def test_pgr_interval_matches_scipy_paired_bootstrap():
    rng = np.random.default_rng(4)
    n = 150
    naive = (rng.uniform(size=n) < 0.4).astype(float)
    expert = np.maximum(naive, rng.uniform(size=n) < 0.8)
    protocol = np.where(rng.uniform(size=n) < 0.6, expert, naive)
    ours = performance_gap_recovered(protocol, naive, expert, n_resamples=20_000, seed=1)
    assert ours.n_undefined == 0

    def pgr(p, lo, hi, axis=-1):
        return (p.mean(axis) - lo.mean(axis)) / (hi.mean(axis) - lo.mean(axis))

    ref = stats.bootstrap(
        (protocol, naive, expert),
        pgr,
        paired=True,
        vectorized=True,
        method="percentile",
        n_resamples=20_000,
        random_state=1,
    ).confidence_interval
    assert ours.estimate == pytest.approx(pgr(protocol, naive, expert))
    assert ours.lo == pytest.approx(ref.low, abs=0.02)
    assert ours.hi == pytest.approx(ref.high, abs=0.02)


def test_pgr_rejects_misaligned():
    with pytest.raises(ValueError):
        performance_gap_recovered([1, 0], [1, 0], [1])
