"""Prompt templates kept in files next to the code, loaded once and identified by a content hash."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

#: (directory, names, overrides) -> (each file's (mtime_ns, size), the set): agents are built per episode, and a
#: stat per file is far cheaper than opening, reading and hashing the templates again
_LOADED: dict[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]], tuple[tuple[tuple[int, int], ...], Any]] = {}
_LOADED_KEPT = 256
#: (name, text) pairs -> the set made from them: judges are built per episode and hash their templates each time
_MADE: dict[tuple[tuple[str, str], ...], Any] = {}
_MADE_KEPT = 256
#: the sets loaded within `pinned_prompts()` (None outside one)
_PINNED: ContextVar[dict[Any, Any] | None] = ContextVar("oversight_pinned_prompts", default=None)


@contextmanager
def pinned_prompts() -> Iterator[None]:
    """Within this block (an experiment run, and the tasks it starts), each prompt set is read from its files once;
    later loads return that set without looking at the files again. So every episode of a run speaks with the
    same prompt texts, the identity hash each agent records is that of the texts it used, and building agents
    per episode costs no `stat` of their files. An edit to a prompt file shows in the next run."""
    token = _PINNED.set({})
    try:
        yield
    finally:
        _PINNED.reset(token)


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
        A file is read again only when its modification time or size changed since it was last loaded; within
        `pinned_prompts()`, a set loaded once is returned without looking at its files again.

        Raises FileNotFoundError for a missing template that is not overridden.
        """
        folder = os.fspath(directory)
        names = tuple(names)
        overrides = overrides or {}
        key = (folder, names, tuple(sorted(overrides.items())))
        pinned = _PINNED.get()
        if pinned is not None:
            kept = pinned.get(key)
            if kept is not None:
                return kept
            if len(pinned) >= _LOADED_KEPT:
                pinned.clear()
            kept = pinned[key] = cls._load(folder, names, overrides, key)
            return kept
        return cls._load(folder, names, overrides, key)

    @classmethod
    def _load(cls, folder: str, names: tuple[str, ...], overrides: Mapping[str, str], key: Any) -> PromptSet:
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
        """A prompt set from template texts (the same set again for the same texts: sets are read-only)."""
        key = tuple(sorted(templates.items()))
        made = _MADE.get(key)
        if made is not None and type(made) is cls:
            return made
        h = hashlib.sha256()
        for name, text in key:
            h.update(name.encode() + b"\0" + text.encode() + b"\0")
        made = cls(MappingProxyType(dict(templates)), h.hexdigest()[:12])  # read-only: loaded sets are shared
        if len(_MADE) >= _MADE_KEPT:
            _MADE.clear()
        _MADE[key] = made
        return made

    def render(self, name: str, /, **fields: Any) -> str:
        """Template `name` with its placeholders filled (values are inserted verbatim, never re-parsed)."""
        return self.templates[name].format_map(fields)
