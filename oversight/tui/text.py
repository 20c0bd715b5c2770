"""Text for the terminal: agent output made safe to print, and quotes styled by their verification status.

Nothing an agent wrote reaches the terminal as a control sequence: C0/C1 control characters, line and paragraph
separators and bidirectional overrides are shown as visible marks (a `\\r` could otherwise start a fake line, an
ESC sequence could move the cursor, an override could reverse a quote). Styles name theme variables (`$success`,
`$error`, ...), so they follow the light or dark theme; a glyph repeats each status for colour-blind readers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from textual.content import Content

from oversight.episode import Quote
from oversight.episode_index import Status
from oversight.quotes import QUOTE_RE

_SAFE = {i: chr(0x2400 + i) for i in range(32) if i not in (9, 10)}  # C0 controls -> their control pictures
_SAFE.update({9: "    ", 0x7F: "\u2421"})
_SAFE.update({i: "\ufffd" for i in range(0x80, 0xA0)})
_SAFE.update({c: "\ufffd" for c in (0x2028, 0x2029, 0x200E, 0x200F, 0x061C)})
_SAFE.update({c: "\ufffd" for c in range(0x202A, 0x202F)})
_SAFE.update({c: "\ufffd" for c in range(0x2066, 0x206A)})

#: de-emphasised text in content (Textual's $text-muted is an "auto" colour, which content spans cannot resolve)
MUTED = "$foreground 70%"
VERIFIED = "$text-success"
UNVERIFIED = "$text-error"
VERIFIED_MARK = "\u2713"  # check mark
UNVERIFIED_MARK = "\u2717"  # ballot x

#: how each status is shown in lists: (glyph, style)
STATUS_STYLE: dict[Status, tuple[str, str]] = {
    Status.CORRECT: ("\u2713", "$text-success"),
    Status.INCORRECT: ("\u2717", "$text-error"),
    Status.INVALID: ("?", "$text-warning"),
    Status.ERROR: ("!", "bold $text-error"),
    Status.UNSCORED: ("\u00b7", MUTED),
    Status.PENDING: ("\u2026", "$text-primary"),
}


def safe(text: str) -> str:
    """`text` with every character that could act on a terminal replaced by a visible mark (newlines kept)."""
    return text.translate(_SAFE)


def status_label(status: Status) -> Content:
    """`✓ correct`, `✗ incorrect`, ... styled for the theme."""
    glyph, style = STATUS_STYLE[status]
    return Content.styled(f"{glyph} {status.value}", style)


def quoted(text: str, verified: bool) -> Content:
    """One quote: `✓“...”` (found in the hidden text) or `✗“...”` (not found), styled by status."""
    mark = VERIFIED_MARK if verified else UNVERIFIED_MARK
    style = f"bold {VERIFIED}" if verified else f"italic {UNVERIFIED}"
    return Content.styled(f"{mark}\u201c{safe(text)}\u201d", style)


def speech(content: str, quotes: Sequence[Quote]) -> Content:
    """An agent's raw turn text with its `<quote>` spans styled by `quotes` (the i-th span takes `quotes[i]`'s
    status, as `oversight.quotes.render_speech` does; spans without a checked quote are unverified)."""
    parts: list[Content | str] = []
    pos = 0
    for i, m in enumerate(QUOTE_RE.finditer(content)):
        parts.append(safe(content[pos : m.start()]))
        parts.append(quoted(m.group(1), i < len(quotes) and quotes[i].verified))
        pos = m.end()
    parts.append(safe(content[pos:]))
    return Content.assemble(*parts)


def legend() -> Content:
    """The line that explains the quote marks."""
    return Content.assemble(quoted("quote", True), " found in the hidden text   ", quoted("quote", False), " not found")


_WS = re.compile(r"\s+")


def one_line(text: str, width: int, *, keep_end: bool = False) -> str:
    """`text` on one line (whitespace collapsed, made safe), cut to `width` characters with an ellipsis at the
    end (or, `keep_end`, at the start: ids differ in their last part)."""
    flat = safe(_WS.sub(" ", text).strip())
    if len(flat) <= width:
        return flat
    if keep_end:
        return "\u2026" + flat[len(flat) - width + 1 :]
    return flat[: max(0, width - 1)] + "\u2026"
