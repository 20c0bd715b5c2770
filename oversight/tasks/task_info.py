"""What the task registry holds about a task: `TaskInfo` (loader by import path, splits, licence, ...)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from oversight.tasks.taskset import TaskSet

Kind = Literal["dataset", "generator", "local"]

#: file suffixes `load_task` treats as a path rather than a task name.
FILE_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet", ".jsonl.gz")


class UnknownTaskError(KeyError):
    """No task is registered under that name (and it is not a file)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class TaskInfo:
    """What `oversight tasks ls` shows about one registered task."""

    name: str
    loader: str | Callable[..., TaskSet]  # "module:function" (imported when used) or the function itself
    description: str
    kind: Kind = "dataset"
    splits: tuple[str, ...] = ()
    default_split: str | None = None
    licence: str | None = None
    hidden_context: bool = False
    source: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)

    def load_function(self) -> Callable[..., TaskSet]:
        """The loader: `loader` itself when it is a function, else the "module:function" it names."""
        if callable(self.loader):
            return self.loader
        module, _, attr = self.loader.partition(":")
        return getattr(importlib.import_module(module), attr)
