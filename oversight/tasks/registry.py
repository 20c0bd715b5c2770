"""The registry of named tasks and `load_task`, which resolves a name or a file path into a `TaskSet`.

Entries name their loader as `"module:function"` so listing tasks imports nothing heavy (no pyarrow).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oversight.tasks.task_info import FILE_SUFFIXES, Kind, TaskInfo, UnknownTaskError
from oversight.tasks.taskset import TaskSet

__all__ = [
    "FILE_SUFFIXES",
    "Kind",
    "TaskInfo",
    "UnknownTaskError",
    "get_task_info",
    "list_tasks",
    "load_task",
    "register_task",
]

_REGISTRY: dict[str, TaskInfo] = {}


def register_task(info: TaskInfo, *, replace: bool = False) -> TaskInfo:
    """Add a task under `info.name`; raises ValueError if the name is taken and `replace` is false."""
    _ensure_builtins()
    if info.name in _REGISTRY and not replace:
        raise ValueError(f"task {info.name!r} is already registered")
    _REGISTRY[info.name] = info
    return info


def list_tasks(kind: Kind | None = None) -> list[TaskInfo]:
    """Registered tasks sorted by name, optionally only one kind."""
    _ensure_builtins()
    return sorted((i for i in _REGISTRY.values() if kind is None or i.kind == kind), key=lambda i: i.name)


def get_task_info(name: str) -> TaskInfo:
    """The registered entry for `name`; raises UnknownTaskError listing close names."""
    _ensure_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        close = [n for n in _REGISTRY if name.lower() in n or n in name.lower()]
        hint = f" (did you mean {', '.join(sorted(close))}?)" if close else " (see `oversight tasks ls`)"
        raise UnknownTaskError(f"unknown task {name!r}{hint}") from None


def load_task(
    name_or_path: str | Path,
    split: str | None = None,
    n: int | None = None,
    seed: int = 0,
    **options: Any,
) -> TaskSet:
    """Load a registered task or a JSONL/CSV/Parquet file into a `TaskSet`.

    Datasets load the whole split, then `n` questions are sampled with `seed` (original order kept; all when
    `n` is None). Generators make exactly `n` questions (default 100) from `seed`. Files take the options of
    `oversight.tasks.files.load_file` (`fields=`, `skip_bad=`, ...).

    Raises UnknownTaskError for an unknown name, TaskFileError for a malformed file, DataUnavailableError when
    a dataset's files are neither installed nor reachable online.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith(FILE_SUFFIXES):
        from oversight.tasks.files import load_file

        return load_file(name_or_path, split=split, **options).sample(n, seed)
    info = get_task_info(text)
    fn = info.load_function()
    kwargs = {**info.defaults, **options}
    if info.kind == "generator":
        return fn(n=100 if n is None else n, seed=seed, **kwargs)
    return fn(split=split or info.default_split, **kwargs).sample(n, seed)


_builtins_loaded = False


def _ensure_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        from oversight.tasks.builtin import BUILTIN_TASKS

        for info in BUILTIN_TASKS:
            _REGISTRY.setdefault(info.name, info)
