"""oversight: scalable-oversight protocols in front of weak judges, measured against ground truth.

The public names of the engine's modules and of the `protocols`, `agents` and `judges` packages are
re-exported here lazily (each module's `__all__` is read from its source without importing it; the module is
imported on first access), so `from oversight import X` works even where those generic top-level names clash
with another installed package.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from functools import cache
from typing import Any

from oversight.models import get_model
from oversight.models.registry import register_provider
from oversight.types import ChatMessage, GenerateConfig, ModelOutput, Question, Source, Usage

__version__ = "0.1.0"

#: modules whose `__all__` is re-exported; the first module that lists a name provides it
LAZY_MODULES = (
    "oversight.experiment",
    "oversight.store",
    "oversight.tasks",
    "oversight.comparison",
    "oversight.episode",
    "oversight.transcript",
    "oversight.quotes",
    "oversight.protocol_registry",
    "oversight.pending",
    "oversight.judging_queue",
    "oversight.judge_view",
    "protocols",
    "agents",
    "judges",
)

__all__ = ["ChatMessage", "GenerateConfig", "ModelOutput", "Question", "Source", "Usage", "get_model"]
__all__ += ["register_provider"]


@cache
def _lazy_names() -> dict[str, str]:
    """name -> module, from each lazy module's literal `__all__` (read with `ast`, nothing imported)."""
    out: dict[str, str] = {}
    for module in LAZY_MODULES:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            continue
        with open(spec.origin, encoding="utf-8") as f:
            tree = ast.parse(f.read(), spec.origin)
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                for name in ast.literal_eval(node.value):
                    out.setdefault(name, module)
    return out


def __getattr__(name: str) -> Any:
    module = _lazy_names().get(name)
    if module is None:
        raise AttributeError(f"module 'oversight' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_lazy_names()))
