"""Proper scoring rules and calibration of a judge's stated probabilities.

Two input shapes are accepted where it makes sense:

* binary: `probabilities` is 1-D, the probability of an event, and `outcomes` is 0/1 (did it happen);
* multi-class: `probabilities` is 2-D, shape (n, k), one row per item, and `outcomes` holds the index of the
  true class of each item.

Empty inputs give NaN (a table cell with no data), malformed ones raise `ValueError`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Probabilities are clipped into [EPS, 1 - EPS] before taking logs, so a confident mistake costs ln(EPS), not -inf.
EPS = 1e-12


def _probabilities(probabilities: Any) -> np.ndarray:
    p = np.asarray(probabilities, dtype=float)
    if p.ndim not in (1, 2):
        raise ValueError(f"probabilities must be 1-D (binary) or 2-D (n, k), got shape {p.shape}")
    if p.size and (np.isnan(p).any() or (p < 0).any() or (p > 1).any()):
        raise ValueError("probabilities must lie in [0, 1]")
    return p


def _binary_outcomes(outcomes: Any, n: int) -> np.ndarray:
    y = np.asarray(outcomes, dtype=float)
    if y.shape != (n,):
        raise ValueError(f"need {n} outcomes, got shape {y.shape}")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("binary outcomes must be 0/1 (or bool)")
    return y


def _class_outcomes(outcomes: Any, n: int, k: int) -> np.ndarray:
    y = np.asarray(outcomes)
    if y.shape != (n,):
        raise ValueError(f"need {n} outcomes, got shape {y.shape}")
    if n and (not np.issubdtype(y.dtype, np.integer) or (y < 0).any() or (y >= k).any()):
        raise ValueError(f"multi-class outcomes must be integer class indices in [0, {k})")
    return y.astype(int)


def brier_score(probabilities: Any, outcomes: Any) -> float:
    """Mean Brier score (lower is better).

    Binary (1-D): mean of (p - y)^2, in [0, 1]. Multi-class (2-D): Brier's original definition, the mean over
    items of sum_k (p_k - [k == y])^2, in [0, 2]. For k == 2 the multi-class value is twice the binary one.

    Returns NaN for no items; raises ValueError on mismatched shapes or probabilities outside [0, 1].
    """
    p = _probabilities(probabilities)
    n = p.shape[0]
    if p.ndim == 1:
        y = _binary_outcomes(outcomes, n)
        return float(np.mean((p - y) ** 2)) if n else math.nan
    y = _class_outcomes(outcomes, n, p.shape[1])
    if not n:
        return math.nan
    onehot = np.zeros_like(p)
    onehot[np.arange(n), y] = 1.0
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))


def log_score(probabilities: Any, outcomes: Any, eps: float = EPS) -> float:
    """Mean natural-log probability given to what actually happened (higher is better; 0 is perfect; <= 0).

    Binary (1-D): mean of ln p where y = 1 and ln(1 - p) where y = 0. Multi-class (2-D): mean of ln p[y].
    Probabilities are clipped into [eps, 1 - eps] first. The log loss (cross-entropy) is the negative of this.

    Returns NaN for no items; raises ValueError on mismatched shapes or probabilities outside [0, 1].
    """
    p = _probabilities(probabilities)
    n = p.shape[0]
    if p.ndim == 1:
        y = _binary_outcomes(outcomes, n)
        p_true = np.where(y == 1.0, p, 1.0 - p)
    else:
        y = _class_outcomes(outcomes, n, p.shape[1])
        p_true = p[np.arange(n), y]
    if not n:
        return math.nan
    return float(np.mean(np.log(np.clip(p_true, eps, 1.0 - eps))))


def top_label(probabilities: Any, outcomes: Any) -> tuple[np.ndarray, np.ndarray]:
    """The (confidence, correct) pairs of top-label calibration from (n, k) probabilities and true indices.

    Confidence is the largest probability of each row and `correct` says whether its argmax (first on ties) is
    the true class. Returns two 1-D arrays of length n (float, bool); raises ValueError on malformed input.
    """
    p = _probabilities(probabilities)
    if p.ndim != 2:
        raise ValueError("top_label needs 2-D (n, k) probabilities")
    y = _class_outcomes(outcomes, p.shape[0], p.shape[1])
    if not p.shape[0]:
        return np.zeros(0), np.zeros(0, dtype=bool)
    return p.max(axis=1), p.argmax(axis=1) == y


@dataclass(frozen=True)
class CalibrationBins:
    """A reliability diagram's data: per equal-width bin, its edges, item count, mean confidence and accuracy.

    Empty bins have count 0 and NaN confidence/accuracy (plot only `count > 0`).
    """

    edges: np.ndarray  # length n_bins + 1, from 0 to 1
    count: np.ndarray  # items per bin
    confidence: np.ndarray  # mean stated probability per bin
    accuracy: np.ndarray  # observed frequency of the outcome per bin

    @property
    def centers(self) -> np.ndarray:
        return (self.edges[:-1] + self.edges[1:]) / 2


def _bin_index(confidences: np.ndarray, n_bins: int) -> np.ndarray:
    # Bins are (i/M, (i+1)/M], with 0 going into the first bin (Guo et al. 2017, "On Calibration of Modern Neural
    # Networks"). Edges are computed as i/M, which rounds to the same double as a literal like 0.3, so a stated
    # 0.3 lands in (0.2, 0.3]; ceil(0.3 * 10) would give 4 and misplace it.
    inner = np.arange(1, n_bins) / n_bins
    return np.searchsorted(inner, confidences, side="left")


def calibration_curve(confidences: Any, outcomes: Any, n_bins: int = 10) -> CalibrationBins:
    """Bin stated probabilities into `n_bins` equal-width bins over [0, 1] and average each bin.

    `confidences` are probabilities of a binary event (e.g. the top-label confidence from `top_label`, or the
    probability of answer A) and `outcomes` are 0/1 (correct, or A was right). Bin i holds (i/M, (i+1)/M].

    Returns a `CalibrationBins`; raises ValueError on mismatched shapes, values outside [0, 1] or n_bins < 1.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    c = _probabilities(confidences)
    if c.ndim != 1:
        raise ValueError("calibration_curve needs 1-D confidences (use top_label for (n, k) probabilities)")
    y = _binary_outcomes(outcomes, c.shape[0])
    idx = _bin_index(c, n_bins)
    count = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(idx, weights=c, minlength=n_bins) / count
        accuracy = np.bincount(idx, weights=y, minlength=n_bins) / count
    return CalibrationBins(np.arange(n_bins + 1) / n_bins, count, confidence, accuracy)


def expected_calibration_error(confidences: Any, outcomes: Any, n_bins: int = 10) -> float:
    """Expected calibration error: sum over bins of (n_b / n) * |accuracy_b - confidence_b|, in [0, 1].

    Uses the equal-width bins of `calibration_curve` (10 by default); for top-label ECE pass the output of
    `top_label`. Returns NaN for no items; raises ValueError like `calibration_curve`.
    """
    bins = calibration_curve(confidences, outcomes, n_bins)
    n = int(bins.count.sum())
    if not n:
        return math.nan
    filled = bins.count > 0
    gaps = np.abs(bins.accuracy[filled] - bins.confidence[filled])
    return float(np.sum(bins.count[filled] / n * gaps))


def mean_confidence(confidences: Sequence[float] | np.ndarray) -> float:
    """The mean of stated confidences (e.g. top-label probabilities); NaN when there are none.

    Raises ValueError on values outside [0, 1].
    """
    c = _probabilities(confidences)
    return float(np.mean(c)) if c.size else math.nan
