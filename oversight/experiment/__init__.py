"""Experiments: a spec (`Experiment`), its expansion into episodes, and the concurrent runner with resume."""

from oversight.experiment.runner import ResumeMismatchError, RoleModel, RunResult, arun_experiment, run_experiment
from oversight.experiment.spec import Experiment, SpecError

__all__ = [
    "Experiment",
    "ResumeMismatchError",
    "RoleModel",
    "RunResult",
    "SpecError",
    "arun_experiment",
    "run_experiment",
]
