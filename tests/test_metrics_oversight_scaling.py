"""The oversight scaling fit (Engels et al. 2025) recovers the Elo of simulated guards and houdinis, predicts each
pair's success from its gap, and measures a role's Elo slope against a strength knob."""

from __future__ import annotations

import numpy as np
import pytest

from oversight.metrics import (
    OversightOutcome,
    oversight_ratings,
    pair_rows,
    strength_slope,
    success_probability,
)

GUARDS = {"judge-1": 900.0, "judge-2": 1100.0, "judge-3": 1300.0}  # Elo rises 200 per strength step
HOUDINIS = {"liar-1": 950.0, "liar-2": 1000.0, "liar-3": 1050.0}  # 50 per step


def _games(per_pair: int, seed: int) -> list[OversightOutcome]:
    rng = np.random.default_rng(seed)
    out = []
    for g, eg in GUARDS.items():
        for h, eh in HOUDINIS.items():
            p = float(success_probability(eh - eg))
            out += [OversightOutcome(g, h, bool(s)) for s in rng.random(per_pair) < p]
    return out


def test_the_fit_recovers_guard_and_houdini_elo():
    outcomes = _games(800, seed=3)
    ratings = oversight_ratings(outcomes, n_resamples=50, seed=0)
    assert set(ratings.guards) == set(GUARDS) and set(ratings.houdinis) == set(HOUDINIS)
    for g, eg in GUARDS.items():
        for h, eh in HOUDINIS.items():
            assert ratings.gap(g, h) == pytest.approx(eh - eg, abs=45), (g, h)
    mean = np.mean([r.elo for r in [*ratings.guards.values(), *ratings.houdinis.values()]])
    assert mean == pytest.approx(1000.0, abs=1.0)  # centred on the anchor
    strength = {f"judge-{i}": i for i in (1, 2, 3)} | {f"liar-{i}": i for i in (1, 2, 3)}
    assert strength_slope(ratings.guards, strength) == pytest.approx(200, abs=30)
    assert strength_slope(ratings.houdinis, strength) == pytest.approx(50, abs=30)
    assert np.isnan(strength_slope(ratings.guards, {"judge-1": 1}))


def test_pair_rows_put_each_pairs_success_beside_its_predicted_success():
    outcomes = _games(400, seed=5)
    rows = pair_rows(outcomes, oversight_ratings(outcomes, n_resamples=20))
    assert len(rows) == 9 and all(r["n"] == 400 for r in rows)
    for r in rows:
        assert r["lo"] <= r["success"] <= r["hi"]
        assert r["predicted"] == pytest.approx(float(success_probability(r["gap"])))
        assert abs(r["predicted"] - r["success"]) < 0.08, r
    assert success_probability(0.0) == 0.5 and success_probability(400.0) == pytest.approx(1 / 11)


def test_no_games_is_an_error():
    with pytest.raises(ValueError, match="no oversight outcomes"):
        oversight_ratings([])
