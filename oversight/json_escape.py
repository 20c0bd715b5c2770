"""JSON string escapes of prompt text, assembled from the escapes of the pieces the text was made of.

The call cache keys a call on the canonical JSON of its messages, so every call escapes its whole prompt, and
most of a prompt is the same pieces again (the hidden passage, the transcript's earlier turns, a template).
JSON's string escape maps each character on its own, so the escape of a concatenation is the concatenation of the
escapes, and a template filled with escaped values is the escape of the filled template. Code that builds prompt
text notes how it built it (`note_parts`, `note_join`, `note_format`, by the result's identity); `json_string` then
assembles the escape from its pieces' escapes, each made once while the piece lives (kept by identity), instead
of escaping the whole text again. The bytes are exactly those of `json.dumps(text, ensure_ascii=False)`.

Notes are lazy (a note is a dictionary entry; nothing is escaped until a key asks) and bounded (tables are
emptied when full, which only costs a later escape), so building prompts without the cache costs next to nothing.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: json.dumps(..., ensure_ascii=False) writes every str with this function (C-accelerated)
_json_str = json.encoder.encode_basestring
#: entries each table holds before it is emptied
TABLE_SIZE = 2048
#: pieces shorter than this are escaped each time (cheaper than remembering them)
MEMO_MIN_CHARS = 64

# id(text) -> (text, recipe): how a text was built. Recipes: ("parts", pieces), ("join", sep, pieces),
# ("format", template, fields). The entry holds `text`, so its id is not reused while the entry lives.
_RECIPES: dict[int, tuple[str, tuple[Any, ...]]] = {}
# id(text) -> (text, its escape without the quotes)
_ESCAPED: dict[int, tuple[str, str]] = {}
# id(template) -> (template, its escape as a format string), or (template, None) when it cannot be one
_TEMPLATES: dict[int, tuple[str, str | None]] = {}
_FORMATTER = string.Formatter()


def _note(text: str, recipe: tuple[Any, ...], pieces: Iterable[object]) -> None:
    # A join or a format may hand back one of its inputs itself ("{x}" filled with x is x): no recipe for it, or
    # its recipe would name itself.
    if any(p is text for p in pieces):
        return
    if len(_RECIPES) >= TABLE_SIZE:
        _RECIPES.clear()
    _RECIPES[id(text)] = (text, recipe)


def note_parts(text: str, parts: Sequence[str]) -> str:
    """Record that `text` is `"".join(parts)`; returns `text`."""
    parts = tuple(parts)
    _note(text, ("parts", parts), parts)
    return text


def concat(*parts: str) -> str:
    """`"".join(parts)`, noted (see `note_parts`)."""
    text = "".join(parts)
    _note(text, ("parts", parts), parts)
    return text


def note_join(text: str, sep: str, parts: Sequence[str]) -> str:
    """Record that `text` is `sep.join(parts)`; returns `text`."""
    parts = tuple(parts)
    _note(text, ("join", sep, parts), (sep, *parts))
    return text


def note_format(text: str, template: str, fields: Mapping[str, Any]) -> str:
    """Record that `text` is `template.format_map(fields)` (`fields` must not change afterwards); returns `text`."""
    _note(text, ("format", template, fields), fields.values())
    return text


def json_string(text: str) -> str:
    """`json.dumps(text, ensure_ascii=False)`, from the escapes of its noted pieces when it was noted."""
    known = _ESCAPED.get(id(text))
    if known is not None and known[0] is text:
        return f'"{known[1]}"'
    entry = _RECIPES.get(id(text))
    if entry is None or entry[0] is not text:
        return _json_str(text)
    out = _from_recipe(entry[1])  # not remembered: a whole prompt is seldom sent twice
    return _json_str(text) if out is None else f'"{out}"'


def escaped(text: str) -> str:
    """The JSON escape of `text` without its quotes (remembered by identity for long texts)."""
    known = _ESCAPED.get(id(text))
    if known is not None and known[0] is text:
        return known[1]
    entry = _RECIPES.get(id(text))
    out = None
    if entry is not None and entry[0] is text:
        out = _from_recipe(entry[1])
    if out is None:
        out = _json_str(text)[1:-1]
    if len(text) >= MEMO_MIN_CHARS:
        if len(_ESCAPED) >= TABLE_SIZE:
            _ESCAPED.clear()
        _ESCAPED[id(text)] = (text, out)
    return out


def _from_recipe(recipe: tuple[Any, ...]) -> str | None:
    kind = recipe[0]
    if kind == "parts":
        return "".join([escaped(p) for p in recipe[1]])
    if kind == "join":
        return escaped(recipe[1]).join([escaped(p) for p in recipe[2]])
    template, fields = recipe[1], recipe[2]
    pattern = _template(template)
    if pattern is None:
        return None
    values: dict[str, Any] = {}
    for name, value in fields.items():
        kind_ = type(value)
        if kind_ is str:
            values[name] = escaped(value)
        elif kind_ is int:  # digits and a sign: nothing to escape
            values[name] = value
        else:
            return None  # its text is made by its own __format__: escape the result whole
    return pattern.format_map(values)


def _template(template: str) -> str | None:
    """`template`'s escape, usable as the same format string, when its fields are plain `{name}`s (a conversion,
    a format spec or an attribute or index lookup could write characters the escape would change)."""
    known = _TEMPLATES.get(id(template))
    if known is not None and known[0] is template:
        return known[1]
    pattern: str | None = _json_str(template)[1:-1]
    try:
        for _, name, spec, conversion in _FORMATTER.parse(template):
            if name is not None and (conversion is not None or spec or not name.isidentifier()):
                pattern = None
                break
    except ValueError:
        pattern = None
    if len(_TEMPLATES) >= TABLE_SIZE:
        _TEMPLATES.clear()
    _TEMPLATES[id(template)] = (template, pattern)
    return pattern
