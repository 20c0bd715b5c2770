"""Plugins: the Python entry points through which installed packages (ours included) add protocols and providers.

A package declares, in its `pyproject.toml`:

    [project.entry-points."oversight.protocols"]
    my_protocol = "my_package.module:ENTRY"      # a protocols' `ProtocolEntry`

    [project.entry-points."oversight.providers"]
    myprov = "my_package.module:MyProvider"      # a `Provider` subclass; model strings `myprov/NAME`

Targets are "module:attr" strings, imported only when the name is first used.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

PROTOCOLS_GROUP = "oversight.protocols"
PROVIDERS_GROUP = "oversight.providers"


def entry_point_targets(group: str) -> dict[str, str]:
    """name -> "module:attr" of every installed entry point in `group` (the first distribution wins a name)."""
    out: dict[str, str] = {}
    for ep in entry_points(group=group):
        out.setdefault(ep.name, ep.value)
    return out


def load_target(target: str) -> Any:
    """The object a "module:attr" (or "module:attr.sub") target names.

    Raises ImportError for a missing module, AttributeError for a missing attribute, ValueError for a bad target.
    """
    module, sep, attr = target.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"{target!r} is not a 'module:attr' target")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj
