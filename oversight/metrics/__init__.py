"""Statistics for comparing oversight protocols honestly."""

from oversight.metrics.binomial import wilson_interval

__all__ = ["wilson_interval"]
