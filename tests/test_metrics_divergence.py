"""Shift measures between distributions over answers, and cross-entropy against a target."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oversight.metrics import answer_shift, cross_entropy, kl_divergence, shift, total_variation

pairs = st.integers(min_value=1, max_value=6).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=n, max_size=n).filter(lambda p: sum(p) > 1e-3),
        st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=n, max_size=n).filter(lambda p: sum(p) > 1e-3),
    )
)


@given(pairs)
def test_properties(pq):
    p, q = pq
    tv = total_variation(p, q)
    assert 0.0 <= tv <= 1.0 + 1e-12 and tv == pytest.approx(total_variation(q, p))
    assert total_variation(p, p) == pytest.approx(0.0, abs=1e-12)
    assert kl_divergence(p, q) >= 0.0 and kl_divergence(p, p) == pytest.approx(0.0, abs=1e-9)
    # Pinsker: TV <= sqrt(KL / 2) (up to the clipping of zeros)
    assert tv <= math.sqrt(kl_divergence(p, q, eps=1e-12) / 2) + 1e-6
    # cross-entropy is at least the target's entropy, with equality at p = target
    t = [x / sum(p) for x in p]
    entropy = -sum(x * math.log(x) for x in t if x > 0)
    assert cross_entropy(t, q, eps=1e-12) >= entropy - 1e-9
    assert cross_entropy(t, t, eps=1e-300) == pytest.approx(entropy, abs=1e-9)
    for i in range(len(p)):
        assert answer_shift(p, q, i) <= 2 * tv + 1e-12


def test_values():
    assert total_variation([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.4)
    assert total_variation([1, 1], [9, 1]) == pytest.approx(0.4)  # normalised first
    assert kl_divergence([0.9, 0.1], [0.5, 0.5]) == pytest.approx(0.9 * math.log(1.8) + 0.1 * math.log(0.2))
    assert kl_divergence([1.0, 0.0], [0.0, 1.0]) == pytest.approx(math.log(1 / 1e-6), rel=1e-3)  # finite
    assert answer_shift([0.2, 0.5, 0.3], [0.4, 0.4, 0.2], 0) == pytest.approx(0.2)
    assert cross_entropy([1.0, 0.0], [0.8, 0.2]) == pytest.approx(-math.log(0.8))
    assert shift("tv", [0.2, 0.8], [0.5, 0.5]) == shift("answer", [0.2, 0.8], [0.5, 0.5], 1) == pytest.approx(0.3)
    assert shift("kl", [0.2, 0.8], [0.5, 0.5]) == kl_divergence([0.2, 0.8], [0.5, 0.5])


def test_bad_input():
    with pytest.raises(ValueError, match="different numbers"):
        total_variation([0.5, 0.5], [1.0])
    with pytest.raises(ValueError, match=">= 0"):
        kl_divergence([-0.1, 1.1], [0.5, 0.5])
    with pytest.raises(ValueError, match=">= 0"):
        total_variation([math.nan, 1.0], [0.5, 0.5])
    with pytest.raises(ValueError, match="positive mass"):
        cross_entropy([0.0, 0.0], [0.5, 0.5])
    with pytest.raises(IndexError):
        answer_shift([0.5, 0.5], [0.5, 0.5], 2)
    with pytest.raises(ValueError, match="unknown shift measure"):
        shift("l2", [1.0], [1.0])
    with pytest.raises(ValueError, match="needs the answer"):
        shift("answer", [1.0], [1.0])
