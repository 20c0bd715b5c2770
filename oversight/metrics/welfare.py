"""α-fair welfare of a jury (Sorensen et al. 2024, A Roadmap to Pluralistic Alignment, sec. 4; Moulin 2004).

For juror utilities j_1..j_n >= 0 (here: each juror's probability that an answer is correct),

    w_α = ((1/n) Σ j_i^(1-α))^(1/(1-α))    for α >= 0, α != 1
    w_1 = (Π j_i)^(1/n)                     (the limit α -> 1: the geometric mean)
    w_∞ = min_i j_i                          (the limit α -> ∞: the worst-off juror)

α = 0 is the utilitarian mean; larger α weighs the least satisfied jurors more. The thresholded form replaces
each utility by 1{j_i > τ} (the juror endorses the answer), so it is the endorsing share raised to 1/(1-α) for
α < 1, and unanimity (1 when every juror endorses, else 0) for α >= 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def _check(utilities: Sequence[float], alpha: float) -> None:
    if not utilities:
        raise ValueError("welfare of an empty jury is undefined")
    if alpha < 0 or math.isnan(alpha):
        raise ValueError(f"alpha: must be >= 0, got {alpha}")
    if any(u < 0 or math.isnan(u) for u in utilities):
        raise ValueError(f"utilities must be >= 0, got {list(utilities)}")


def alpha_fair_welfare(utilities: Sequence[float], alpha: float) -> float:
    """w_α of `utilities` (see the module docstring); `alpha=math.inf` gives the minimum.

    A zero utility makes w_α zero for α >= 1 (the limit of the formula). Raises ValueError for an empty jury,
    α < 0 or a negative utility.
    """
    _check(utilities, alpha)
    n = len(utilities)
    if math.isinf(alpha):
        return float(min(utilities))
    if alpha == 1.0:
        if any(u == 0 for u in utilities):
            return 0.0
        return math.exp(sum(math.log(u) for u in utilities) / n)
    power = 1.0 - alpha
    if any(u == 0 for u in utilities):
        if power < 0:
            return 0.0  # 0^(negative) is +inf inside the mean, and inf^(negative) is 0
        return (sum(u**power for u in utilities) / n) ** (1.0 / power)
    # In logs: w = exp(log(mean(exp(power * log u))) / power). Near alpha = 1 the power is tiny and the direct
    # form loses every digit (0.5 ** 1e-16 rounds to 1 - 1e-16), so there the mean is taken as 1 + mean(expm1).
    xs = [power * math.log(u) for u in utilities]
    if abs(power) < 0.5:
        log_mean = math.log1p(sum(math.expm1(x) for x in xs) / n)
    else:
        top = max(xs)
        log_mean = top + math.log(sum(math.exp(x - top) for x in xs) / n)
    return math.exp(log_mean / power)


def thresholded_welfare(utilities: Sequence[float], alpha: float, threshold: float) -> float:
    """w_α of the endorsements 1{j_i > threshold}. Raises ValueError for a threshold outside [0, 1] (and as
    `alpha_fair_welfare`)."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold: must be in [0, 1], got {threshold}")
    return alpha_fair_welfare([1.0 if u > threshold else 0.0 for u in utilities], alpha)


__all__ = ["alpha_fair_welfare", "thresholded_welfare"]
