"""Tasks with ground truth: named benchmarks read offline, researchers' own files, seeded generators.

`load_task(name_or_path, split=..., n=..., seed=...)` returns a `TaskSet` (its `.questions` and a
`.provenance()` record for `spec.json`). `oversight tasks ls` lists the names. See docs/tasks.md.
"""

from __future__ import annotations

from oversight.tasks._packages import DataUnavailableError
from oversight.tasks.files import FieldMap, TaskFileError, load_file
from oversight.tasks.registry import TaskInfo, UnknownTaskError, get_task_info, list_tasks, load_task, register_task
from oversight.tasks.taskset import FileRecord, TaskSet
from oversight.tasks.two_answer import to_two_answer, two_answer
from oversight.types import Question, Source

__all__ = [
    "DataUnavailableError",
    "FieldMap",
    "FileRecord",
    "Question",
    "Source",
    "TaskFileError",
    "TaskInfo",
    "TaskSet",
    "UnknownTaskError",
    "get_task_info",
    "list_tasks",
    "load_file",
    "load_task",
    "register_task",
    "to_two_answer",
    "two_answer",
]
