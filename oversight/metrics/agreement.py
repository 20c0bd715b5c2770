"""How much judges disagree: vote entropy, pairwise agreement, Fleiss' kappa, and the Jensen–Shannon distance
between two answer distributions (a jury's against a reference population's)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def vote_entropy(counts: Sequence[int | float], base: float = 2.0) -> float:
    """Shannon entropy of the vote shares `counts` (in bits by default): 0 when all agree. Raises ValueError
    without votes or with a negative count."""
    if any(c < 0 for c in counts):
        raise ValueError(f"counts must be >= 0, got {list(counts)}")
    total = float(sum(counts))
    if total <= 0:
        raise ValueError("entropy of no votes is undefined")
    return -sum((c / total) * math.log(c / total, base) for c in counts if c > 0) + 0.0


def pairwise_agreement(choices: Sequence[object]) -> float | None:
    """The share of pairs of jurors who chose alike (None with fewer than two choices)."""
    n = len(choices)
    if n < 2:
        return None
    counts: dict[object, int] = {}
    for c in choices:
        counts[c] = counts.get(c, 0) + 1
    return sum(k * (k - 1) for k in counts.values()) / (n * (n - 1))


def fleiss_kappa(table: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' kappa of a subjects x categories table of rating counts (every row the same number of raters).

    κ = (P̄ - P̄_e) / (1 - P̄_e), with P̄ the mean per-subject agreement and P̄_e the agreement expected from the
    pooled category shares. Returns None when undefined (no subjects, fewer than two raters, or P̄_e = 1: every
    rating in one category). Raises ValueError for rows with different numbers of raters.
    """
    if not table:
        return None
    raters = {sum(row) for row in table}
    if len(raters) != 1:
        raise ValueError(f"every subject needs the same number of ratings, got {sorted(raters)}")
    n = raters.pop()
    if n < 2:
        return None
    subjects = len(table)
    k = len(table[0])
    p_bar = sum((sum(c * c for c in row) - n) / (n * (n - 1)) for row in table) / subjects
    shares = [sum(row[j] for row in table) / (subjects * n) for j in range(k)]
    p_e = sum(s * s for s in shares)
    if p_e >= 1.0:
        return None
    return (p_bar - p_e) / (1.0 - p_e)


def jensen_shannon_distance(p: Sequence[float], q: Sequence[float], base: float = 2.0) -> float:
    """The Jensen–Shannon distance sqrt(JSD(p, q)) between two distributions over the same answers (each is
    normalised first); in [0, 1] with base 2. Raises ValueError for different lengths, negative or all-zero
    entries."""
    if len(p) != len(q):
        raise ValueError(f"distributions over different numbers of answers ({len(p)} vs {len(q)})")
    p, q = _normalised(p), _normalised(q)
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]

    def kl(a: Sequence[float], b: Sequence[float]) -> float:
        return sum(x * math.log(x / y, base) for x, y in zip(a, b, strict=True) if x > 0)

    jsd = (kl(p, m) + kl(q, m)) / 2
    return math.sqrt(max(jsd, 0.0))


def _normalised(p: Sequence[float]) -> list[float]:
    if any(x < 0 or math.isnan(x) for x in p):
        raise ValueError(f"probabilities must be >= 0, got {list(p)}")
    total = float(sum(p))
    if total <= 0:
        raise ValueError("a distribution needs some positive mass")
    return [x / total for x in p]


__all__ = ["fleiss_kappa", "jensen_shannon_distance", "pairwise_agreement", "vote_entropy"]
