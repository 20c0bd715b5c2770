"""Prompt templates kept in files next to the code, loaded once and identified by a content hash."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

#: (directory, names, overrides) -> (each file's (mtime_ns, size), the set): agents are built per episode, and a
#: stat per file is far cheaper than opening, reading and hashing the templates again
_LOADED: dict[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]], tuple[tuple[tuple[int, int], ...], Any]] = {}
_LOADED_KEPT = 256


def _stamp(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return (st.st_mtime_ns, st.st_size)


@dataclass(frozen=True)
class PromptSet:
    """Named templates (`{field}` placeholders) and the sha256 prefix of their names and texts."""

    templates: Mapping[str, str]
    hash: str

    @classmethod
    def load(cls, directory: str | Path, names: Iterable[str], overrides: Mapping[str, str] | None = None) -> PromptSet:
        """Read `<directory>/<name>.txt` for each name; `overrides` replaces templates by name (text, not paths).
        A file is read again only when its modification time or size changed since it was last loaded.

        Raises FileNotFoundError for a missing template that is not overridden.
        """
        folder = os.fspath(directory)
        names = tuple(names)
        overrides = overrides or {}
        key = (folder, names, tuple(sorted(overrides.items())))
        files = [os.path.join(folder, f"{n}.txt") for n in names if n not in overrides]
        stamps = tuple(_stamp(f) for f in files)
        known = _LOADED.get(key)
        if known is not None and known[0] == stamps:
            return known[1]
        templates = {n: overrides[n] if n in overrides else Path(folder, f"{n}.txt").read_text() for n in names}
        loaded = cls.from_texts(templates)
        if len(_LOADED) >= _LOADED_KEPT:
            _LOADED.clear()
        _LOADED[key] = (stamps, loaded)
        return loaded

    @classmethod
    def from_texts(cls, templates: Mapping[str, str]) -> PromptSet:
        """A prompt set from template texts."""
        h = hashlib.sha256()
        for name in sorted(templates):
            h.update(name.encode() + b"\0" + templates[name].encode() + b"\0")
        return cls(MappingProxyType(dict(templates)), h.hexdigest()[:12])  # read-only: loaded sets are shared

    def render(self, name: str, /, **fields: Any) -> str:
        """Template `name` with its placeholders filled (values are inserted verbatim, never re-parsed)."""
        return self.templates[name].format_map(fields)
