"""Experiments: a spec (`Experiment`), its expansion into episodes, the concurrent runner with resume, and
re-judging of recorded runs (`rejudge`)."""

from oversight.experiment.rejudge import rejudge, rejudge_experiment
from oversight.experiment.runner import (
    ResumeMismatchError,
    RoleModel,
    RunInterrupted,
    RunLockedError,
    RunResult,
    arun_experiment,
    run_experiment,
)
from oversight.experiment.spec import Experiment, JudgeSpec, JurorSpec, RetrySpec, SpecError

__all__ = [
    "Experiment",
    "JudgeSpec",
    "JurorSpec",
    "ResumeMismatchError",
    "RetrySpec",
    "RoleModel",
    "RunInterrupted",
    "RunLockedError",
    "RunResult",
    "SpecError",
    "arun_experiment",
    "rejudge",
    "rejudge_experiment",
    "run_experiment",
]
