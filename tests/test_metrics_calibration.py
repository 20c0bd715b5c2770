"""Calibration and scoring rules against hand-computed values."""

import math

import numpy as np
import pytest

from oversight.metrics import (
    brier_score,
    calibration_curve,
    expected_calibration_error,
    log_score,
    mean_confidence,
    top_label,
)

P_BIN = [0.9, 0.2, 0.6, 0.5]
Y_BIN = [1, 0, 0, 1]


def test_brier_binary_by_hand():
    # (0.1^2 + 0.2^2 + 0.6^2 + 0.5^2) / 4 = (0.01 + 0.04 + 0.36 + 0.25) / 4
    assert brier_score(P_BIN, Y_BIN) == pytest.approx(0.165)
    assert brier_score(P_BIN, [True, False, False, True]) == pytest.approx(0.165)


def test_brier_multiclass_by_hand():
    p = [[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]
    # row 0: 0.3^2 + 0.2^2 + 0.1^2 = 0.14; row 1: 0.1^2 + 0.7^2 + 0.6^2 = 0.86
    assert brier_score(p, [0, 1]) == pytest.approx(0.5)


def test_brier_two_class_is_twice_binary():
    p = np.array(P_BIN)
    two = np.stack([1 - p, p], axis=1)
    assert brier_score(two, Y_BIN) == pytest.approx(2 * brier_score(p, Y_BIN))


def test_log_score_natural_log_by_hand():
    expected = (math.log(0.9) + math.log(0.8) + math.log(0.4) + math.log(0.5)) / 4
    assert log_score(P_BIN, Y_BIN) == pytest.approx(expected)
    assert log_score(P_BIN, Y_BIN) == pytest.approx(-0.48448549, abs=1e-8)
    p = [[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]
    assert log_score(p, [0, 2]) == pytest.approx((math.log(0.7) + math.log(0.6)) / 2)


def test_log_score_clips_confident_mistakes():
    assert log_score([1.0], [0]) == pytest.approx(math.log(1e-12))
    assert log_score([1.0, 0.0], [1, 0]) == pytest.approx(math.log1p(-1e-12))
    assert math.isfinite(log_score([[0.0, 1.0]], [0]))


def test_ece_by_hand():
    conf = [0.95, 0.85, 0.85, 0.55, 0.55, 0.55, 0.55]
    correct = [1, 1, 0, 1, 0, 1, 1]
    # bins (0.9,1]: gap |1 - .95| = .05 (1 item); (0.8,0.9]: |.5 - .85| = .35 (2); (0.5,0.6]: |.75 - .55| = .2 (4)
    assert expected_calibration_error(conf, correct) == pytest.approx((0.05 + 2 * 0.35 + 4 * 0.2) / 7)


def test_ece_zero_when_perfectly_calibrated_and_one_when_maximally_wrong():
    conf = [0.75] * 4 + [1.0] * 3
    correct = [1, 1, 1, 0, 1, 1, 1]
    assert expected_calibration_error(conf, correct) == pytest.approx(0.0)
    assert expected_calibration_error([1.0, 1.0], [0, 0]) == pytest.approx(1.0)


def test_calibration_curve_bins_are_right_closed():
    bins = calibration_curve([0.0, 0.1, 0.3, 0.30001, 1.0], [0, 1, 1, 0, 1])
    assert bins.edges.tolist() == pytest.approx([i / 10 for i in range(11)])
    assert bins.count.tolist() == [2, 0, 1, 1, 0, 0, 0, 0, 0, 1]
    assert bins.confidence[0] == pytest.approx(0.05)
    assert bins.accuracy[0] == pytest.approx(0.5)
    assert math.isnan(bins.accuracy[1])
    assert bins.accuracy[2] == 1.0 and bins.accuracy[3] == 0.0
    assert bins.centers[0] == pytest.approx(0.05)


def test_calibration_curve_matches_hand_loop():
    rng = np.random.default_rng(3)
    c = rng.uniform(size=200)
    y = rng.uniform(size=200) < c
    bins = calibration_curve(c, y, n_bins=5)
    for i in range(5):
        lo, hi = i / 5, (i + 1) / 5
        mask = (c > lo) & (c <= hi) if i else (c <= hi)
        assert bins.count[i] == mask.sum()
        assert bins.confidence[i] == pytest.approx(c[mask].mean())
        assert bins.accuracy[i] == pytest.approx(y[mask].mean())


def test_top_label_and_mean_confidence():
    p = [[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.5, 0.0]]
    conf, correct = top_label(p, [0, 1, 1])
    assert conf.tolist() == [0.7, 0.6, 0.5]
    assert correct.tolist() == [True, False, False]  # ties go to the first index
    assert mean_confidence(conf) == pytest.approx(0.6)


def test_empty_inputs_give_nan():
    assert math.isnan(brier_score([], []))
    assert math.isnan(log_score([], []))
    assert math.isnan(expected_calibration_error([], []))
    assert math.isnan(mean_confidence([]))


@pytest.mark.parametrize(
    ("probs", "outcomes"),
    [([0.5, 1.2], [0, 1]), ([0.5], [0, 1]), ([0.5, 0.5], [0, 2]), ([[0.5, 0.5]], [2]), ([[0.5, 0.5]], [0.5])],
)
def test_malformed_inputs_raise(probs, outcomes):
    with pytest.raises(ValueError):
        brier_score(probs, outcomes)
