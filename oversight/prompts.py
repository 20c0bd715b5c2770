"""Prompt templates kept in files next to the code, loaded once and identified by a content hash."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class PromptSet:
    """Named templates (`{field}` placeholders) and the sha256 prefix of their names and texts."""

    templates: Mapping[str, str]
    hash: str

    @classmethod
    def load(cls, directory: str | Path, names: Iterable[str], overrides: Mapping[str, str] | None = None) -> PromptSet:
        """Read `<directory>/<name>.txt` for each name; `overrides` replaces templates by name (text, not paths).

        Raises FileNotFoundError for a missing template that is not overridden.
        """
        directory = Path(directory)
        overrides = overrides or {}
        templates = {n: overrides[n] if n in overrides else (directory / f"{n}.txt").read_text() for n in names}
        return cls.from_texts(templates)

    @classmethod
    def from_texts(cls, templates: Mapping[str, str]) -> PromptSet:
        """A prompt set from template texts."""
        h = hashlib.sha256()
        for name in sorted(templates):
            h.update(name.encode() + b"\0" + templates[name].encode() + b"\0")
        return cls(dict(templates), h.hexdigest()[:12])

    def render(self, name: str, /, **fields: Any) -> str:
        """Template `name` with its placeholders filled (values are inserted verbatim, never re-parsed)."""
        return self.templates[name].format_map(fields)
