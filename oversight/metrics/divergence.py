"""How far one distribution over answers moved from another: total variation, KL divergence and the move of one
answer's probability (Hubinger's |p_{t+1} - p_t|), and the cross-entropy of a prediction against a target
distribution (a market's loss against its judge's final answer)."""

from __future__ import annotations

import math
from collections.abc import Sequence

#: probabilities are clipped to [EPS, 1] before logarithms, so a prediction of 0 costs a finite (large) amount
EPS = 1e-6


def _check(p: Sequence[float], q: Sequence[float]) -> None:
    if len(p) != len(q):
        raise ValueError(f"distributions over different numbers of answers ({len(p)} vs {len(q)})")
    if not p:
        raise ValueError("a distribution needs at least one answer")
    for x in (*p, *q):
        if not x >= 0.0:  # also refuses NaN
            raise ValueError(f"probabilities must be >= 0, got {list(p)} and {list(q)}")


def _normalised(p: Sequence[float], eps: float = 0.0) -> list[float]:
    clipped = [max(x, eps) for x in p]
    total = sum(clipped)
    if total <= 0.0:
        raise ValueError("a distribution needs some positive mass")
    return [x / total for x in clipped]


def total_variation(p: Sequence[float], q: Sequence[float]) -> float:
    """Total variation distance ½ Σ |p_i - q_i| between two distributions (each normalised first), in [0, 1].
    Raises ValueError for different lengths, negative entries or no mass."""
    _check(p, q)
    a, b = _normalised(p), _normalised(q)
    return 0.5 * sum(abs(x - y) for x, y in zip(a, b, strict=True))


def kl_divergence(p: Sequence[float], q: Sequence[float], eps: float = EPS) -> float:
    """KL(p ‖ q) = Σ p_i ln(p_i / q_i) in nats: the information gained when belief `q` is updated to `p`. Both are
    clipped to `eps` and renormalised, so the result is finite. Raises ValueError as `total_variation` does."""
    _check(p, q)
    a, b = _normalised(p, eps), _normalised(q, eps)
    return max(0.0, sum(x * math.log(x / y) for x, y in zip(a, b, strict=True)))


def answer_shift(p: Sequence[float], q: Sequence[float], answer: int) -> float:
    """|p[answer] - q[answer]| after normalising both: how far the probability of one answer moved. Raises
    ValueError as `total_variation` does, IndexError for an answer out of range."""
    _check(p, q)
    if not 0 <= answer < len(p):
        raise IndexError(f"answer {answer} out of range for {len(p)} answers")
    return abs(_normalised(p)[answer] - _normalised(q)[answer])


def cross_entropy(target: Sequence[float], p: Sequence[float], eps: float = EPS) -> float:
    """-Σ target_i ln p_i in nats (p clipped to `eps` and renormalised): the loss of predicting `p` when the
    outcome is distributed as `target`; its minimum over p is the entropy of `target`, reached at p = target.
    Raises ValueError as `total_variation` does."""
    _check(target, p)
    t, b = _normalised(target), _normalised(p, eps)
    return -sum(x * math.log(y) for x, y in zip(t, b, strict=True) if x > 0.0)


def shift(measure: str, p: Sequence[float], q: Sequence[float], answer: int | None = None) -> float:
    """The move from `q` to `p` under `measure`: "tv" (`total_variation`), "kl" (`kl_divergence(p, q)`) or
    "answer" (`answer_shift` on `answer`). Raises ValueError for an unknown measure or a missing answer."""
    if measure == "tv":
        return total_variation(p, q)
    if measure == "kl":
        return kl_divergence(p, q)
    if measure == "answer":
        if answer is None:
            raise ValueError("the 'answer' shift needs the answer whose probability is followed")
        return answer_shift(p, q, answer)
    raise ValueError(f"unknown shift measure {measure!r} (known: tv, kl, answer)")


__all__ = ["EPS", "answer_shift", "cross_entropy", "kl_divergence", "shift", "total_variation"]
