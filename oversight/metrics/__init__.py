"""Statistics for comparing oversight protocols honestly.

Names are loaded on first use, so importing this package (or `oversight`) does not import numpy.
"""

from __future__ import annotations

import importlib
from typing import Any

from oversight.metrics.binomial import wilson_interval

#: public name -> defining module; imported on first attribute access.
_LAZY: dict[str, str] = {
    **dict.fromkeys(
        [
            "CalibrationBins",
            "brier_score",
            "calibration_curve",
            "expected_calibration_error",
            "log_score",
            "mean_confidence",
            "top_label",
        ],
        "oversight.metrics.calibration",
    ),
    **dict.fromkeys(
        [
            "BootstrapInterval",
            "McNemarResult",
            "PermutationResult",
            "mcnemar_exact",
            "paired_bootstrap_diff",
            "paired_permutation_test",
        ],
        "oversight.metrics.paired",
    ),
    **dict.fromkeys(["PGRResult", "performance_gap_recovered"], "oversight.metrics.sandwich"),
    **dict.fromkeys(
        ["answer_shift", "cross_entropy", "kl_divergence", "shift", "total_variation"], "oversight.metrics.divergence"
    ),
    **dict.fromkeys(["alpha_fair_welfare", "thresholded_welfare"], "oversight.metrics.welfare"),
    **dict.fromkeys(
        ["fleiss_kappa", "jensen_shannon_distance", "pairwise_agreement", "vote_entropy"],
        "oversight.metrics.agreement",
    ),
    **dict.fromkeys(["AGGREGATES", "JuryDecision", "JuryRule", "aggregate_votes"], "oversight.metrics.jury"),
    **dict.fromkeys(
        [
            "OversightOutcome",
            "OversightRatings",
            "oversight_ratings",
            "pair_rows",
            "strength_slope",
            "success_probability",
        ],
        "oversight.metrics.oversight_scaling",
    ),
    **dict.fromkeys(
        ["ELO_SCALE", "Rating", "WinRate", "bradley_terry", "bradley_terry_ratings", "to_elo", "win_rate_by_side"],
        "oversight.metrics.ratings",
    ),
}

__all__ = ["wilson_interval", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'oversight.metrics' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
