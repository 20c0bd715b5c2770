"""Experiments: a spec (`Experiment`), its expansion into episodes, and the concurrent runner with resume."""

from oversight.experiment.runner import (
    ResumeMismatchError,
    RoleModel,
    RunInterrupted,
    RunLockedError,
    RunResult,
    arun_experiment,
    run_experiment,
)
from oversight.experiment.spec import Experiment, RetrySpec, SpecError

__all__ = [
    "Experiment",
    "ResumeMismatchError",
    "RetrySpec",
    "RoleModel",
    "RunInterrupted",
    "RunLockedError",
    "RunResult",
    "SpecError",
    "arun_experiment",
    "run_experiment",
]
