"""α-fair welfare, its thresholded form, jury aggregation rules and disagreement metrics, against numbers worked
out by hand (and, for the JS distance, scipy)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oversight.metrics import (
    JuryRule,
    aggregate_votes,
    alpha_fair_welfare,
    fleiss_kappa,
    jensen_shannon_distance,
    pairwise_agreement,
    thresholded_welfare,
    vote_entropy,
)


def test_welfare_at_alpha_0_1_2_and_the_limit():
    u = [0.2, 0.8]
    assert alpha_fair_welfare(u, 0) == pytest.approx(0.5)  # (0.2 + 0.8) / 2
    assert alpha_fair_welfare(u, 1) == pytest.approx(0.4)  # sqrt(0.2 * 0.8)
    assert alpha_fair_welfare(u, 2) == pytest.approx(0.32)  # ((1/0.2 + 1/0.8) / 2)^-1 = 1 / 3.125
    assert alpha_fair_welfare(u, math.inf) == 0.2  # the worst-off juror
    assert alpha_fair_welfare(u, 200) == pytest.approx(0.2 * 2 ** (1 / 199), rel=1e-9)  # -> 0.2 as alpha grows
    v = [0.5, 0.5, 1.0]
    assert alpha_fair_welfare(v, 0) == pytest.approx(2 / 3)
    assert alpha_fair_welfare(v, 1) == pytest.approx(0.25 ** (1 / 3))
    assert alpha_fair_welfare(v, 2) == pytest.approx(0.6)  # 3 / (2 + 2 + 1)


def test_a_zero_utility_is_fatal_from_alpha_1_on():
    assert alpha_fair_welfare([0.0, 1.0], 0) == 0.5
    assert alpha_fair_welfare([0.0, 1.0], 0.5) == pytest.approx(0.25)  # ((0 + 1) / 2)^2
    assert alpha_fair_welfare([0.0, 1.0], 1) == 0.0
    assert alpha_fair_welfare([0.0, 1.0], 3) == 0.0


def test_thresholded_welfare():
    u = [0.4, 0.6, 0.9]  # tau = 0.5 endorses [0, 1, 1]
    assert thresholded_welfare(u, 0, 0.5) == pytest.approx(2 / 3)
    assert thresholded_welfare(u, 0.5, 0.5) == pytest.approx(4 / 9)  # (2/3)^(1/(1-0.5))
    assert thresholded_welfare(u, 1, 0.5) == 0.0  # unanimity from alpha 1 on
    assert thresholded_welfare(u, math.inf, 0.5) == 0.0
    assert thresholded_welfare(u, 2, 0.3) == 1.0  # everyone endorses
    assert thresholded_welfare([0.5], 0, 0.5) == 0.0  # strictly above tau


@pytest.mark.parametrize("bad", [{"alpha": -0.1}, {"alpha": math.nan}])
def test_welfare_refuses_bad_alpha(bad):
    with pytest.raises(ValueError, match="alpha"):
        alpha_fair_welfare([0.5], **bad)


def test_welfare_refuses_bad_input():
    with pytest.raises(ValueError, match="empty"):
        alpha_fair_welfare([], 1)
    with pytest.raises(ValueError, match="threshold"):
        thresholded_welfare([0.5], 0, 1.5)
    with pytest.raises(ValueError, match=">= 0"):
        alpha_fair_welfare([-0.1, 0.5], 0)


@given(
    st.lists(st.floats(min_value=0.01, max_value=1.0), min_size=1, max_size=6),
    st.floats(min_value=0.0, max_value=20.0),
    st.floats(min_value=0.0, max_value=20.0),
)
def test_welfare_lies_between_min_and_mean_and_falls_with_alpha(u, a, b):
    lo, hi = sorted((a, b))
    w_lo, w_hi = alpha_fair_welfare(u, lo), alpha_fair_welfare(u, hi)
    assert min(u) - 1e-9 <= w_hi <= w_lo + 1e-9 <= sum(u) / len(u) + 2e-9


def test_fleiss_kappa_by_hand():
    # 3 subjects, 3 raters, 2 categories: P_i = 1, 1/3, 1 (mean 7/9); p = 5/9, 4/9 so P_e = 41/81
    assert fleiss_kappa([[3, 0], [2, 1], [0, 3]]) == pytest.approx((7 / 9 - 41 / 81) / (1 - 41 / 81))
    assert fleiss_kappa([[3, 0], [2, 1], [0, 3]]) == pytest.approx(0.55)
    assert fleiss_kappa([[2, 0], [2, 0]]) is None  # every rating in one category: undefined
    assert fleiss_kappa([[1, 1], [1, 1]]) == pytest.approx(-1.0)  # systematic disagreement
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa([[2, 0], [1, 0]])


def test_jensen_shannon_distance_by_hand_and_against_scipy():
    from scipy.spatial.distance import jensenshannon

    assert jensen_shannon_distance([1, 0], [0, 1]) == pytest.approx(1.0)
    assert jensen_shannon_distance([0.3, 0.7], [0.3, 0.7]) == pytest.approx(0.0)
    # m = [0.75, 0.25]: KL(p||m) = 0.5 log2(2/3) + 0.5 = 0.2075187, KL(q||m) = log2(4/3) = 0.4150375
    assert jensen_shannon_distance([0.5, 0.5], [1, 0]) == pytest.approx(math.sqrt((0.2075187 + 0.4150375) / 2))
    assert jensen_shannon_distance([2, 2], [3, 0]) == pytest.approx(jensenshannon([0.5, 0.5], [1, 0], base=2))
    with pytest.raises(ValueError, match="different numbers"):
        jensen_shannon_distance([1, 0], [1, 0, 0])


def test_entropy_and_pairwise_agreement():
    assert vote_entropy([2, 1]) == pytest.approx(-(2 / 3 * math.log2(2 / 3) + 1 / 3 * math.log2(1 / 3)))
    assert vote_entropy([3, 0]) == 0.0
    assert pairwise_agreement([0, 0, 1]) == pytest.approx(1 / 3)
    assert pairwise_agreement([1]) is None


VOTES = [[0.9, 0.1], [0.4, 0.6], [0.3, 0.7]]


def test_the_rules_can_disagree_on_the_same_votes():
    majority = aggregate_votes(JuryRule(aggregate="majority"), VOTES, 2)
    assert majority.choice == 1 and majority.probabilities == pytest.approx([1 / 3, 2 / 3])
    mean = aggregate_votes(JuryRule(aggregate="mean"), VOTES, 2)
    assert mean.choice == 0 and mean.probabilities == pytest.approx([1.6 / 3, 1.4 / 3])
    geo = aggregate_votes(JuryRule(aggregate="welfare", alpha=1), VOTES, 2)
    assert geo.welfare == pytest.approx([0.108 ** (1 / 3), 0.042 ** (1 / 3)]) and geo.choice == 0
    worst = aggregate_votes(JuryRule(aggregate="welfare", alpha=math.inf), VOTES, 2)
    assert worst.welfare == pytest.approx([0.3, 0.1]) and worst.choice == 0
    approve = aggregate_votes(JuryRule(aggregate="thresholded", alpha=0, threshold=0.5), VOTES, 2)
    assert approve.welfare == pytest.approx([1 / 3, 2 / 3]) and approve.choice == 1
    assert majority.votes == [1, 2] and majority.entropy == pytest.approx(vote_entropy([1, 2]))


def test_invalid_jurors_are_left_out_and_ties_go_to_a_seeded_coin():
    d = aggregate_votes(JuryRule(aggregate="majority"), [[1, 0], None, [0, 1]], 2, seed="s")
    assert d.valid == 2 and d.tie and d.tied == [0, 1]
    again = aggregate_votes(JuryRule(aggregate="majority"), [[1, 0], None, [0, 1]], 2, seed="s")
    assert again.choice == d.choice
    assert {
        aggregate_votes(JuryRule(aggregate="majority"), [[1, 0], [0, 1]], 2, seed=str(k)).choice for k in range(20)
    } == {
        0,
        1,
    }
    none = aggregate_votes(JuryRule(), [None, None], 2)
    assert none.choice is None and none.probabilities is None and none.valid == 0


def test_rule_describes_itself_and_refuses_bad_settings():
    assert JuryRule(aggregate="welfare", alpha=math.inf).describe() == "welfare(alpha=inf)"
    assert JuryRule(aggregate="thresholded", alpha=0, threshold=0.7).describe() == "thresholded(alpha=0, tau=0.7)"
    for bad in ({"alpha": -1}, {"threshold": 1.5}, {"aggregate": "median"}):
        with pytest.raises(ValueError):
            JuryRule(**bad)
