"""Compare protocols across runs: accuracy with intervals, calibration, cost, paired tests, sandwiching (PGR),
debater ratings, plots and a Markdown report."""

from oversight.comparison.comparison import Comparison, compare

__all__ = ["Comparison", "compare"]
