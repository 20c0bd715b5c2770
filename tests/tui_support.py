"""Reading a Textual app's screen in tests through its public SVG export: the text on each line, and the contrast
between each piece of text and the background behind it (WCAG 2 relative luminance)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from textual.app import App

_TEXT = re.compile(
    r'<text class="([^"]+)" x="([\d.]+)" y="([\d.]+)"[^>]*clip-path="url\(#[^)]*-line-(\d+)\)">([^<]*)</text>'
)
_RECT = re.compile(r'<rect fill="(#[0-9a-fA-F]{6})" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"')
_FILL = re.compile(r"\.([\w-]+) \{ fill: (#[0-9a-fA-F]{6})")
CELL_W, CELL_H, TOP = 12.2, 24.4, 1.5


@dataclass(frozen=True)
class Piece:
    line: int
    column: int
    text: str
    fg: str
    bg: str

    @property
    def contrast(self) -> float:
        return contrast(self.fg, self.bg)


def pieces(svg: str) -> list[Piece]:
    """Every run of text on screen with its line, column and colours."""
    fills = dict(_FILL.findall(svg))
    rects = [(fill, float(x), float(y), float(w)) for fill, x, y, w, _ in _RECT.findall(svg)]
    out = []
    for cls, x, _, line, raw in _TEXT.findall(svg):
        if cls.endswith("-title"):
            continue
        col = round(float(x) / CELL_W)
        row_top = TOP + int(line) * CELL_H
        bg = next((f for f, rx, ry, rw in rects if abs(ry - row_top) < 1 and rx <= float(x) + 0.1 < rx + rw), "#000000")
        out.append(Piece(int(line), col, html.unescape(raw).replace("\xa0", " "), fills.get(cls, "#ffffff"), bg))
    return out


def screen_lines(app: App) -> list[str]:
    """The text of each line of the app's screen, as exported by `App.export_screenshot`."""
    width, height = app.size
    grid = [[" "] * width for _ in range(height)]
    for p in pieces(app.export_screenshot()):
        for i, ch in enumerate(p.text):
            if 0 <= p.line < height and 0 <= p.column + i < width:
                grid[p.line][p.column + i] = ch
    return ["".join(row).rstrip() for row in grid]


def screen_text(app: App) -> str:
    return "\n".join(screen_lines(app))


def _luminance(hex_color: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours (1 to 21)."""
    a, b = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


async def settle(pilot: object) -> None:
    """Let the app's workers finish and the messages they posted be handled."""
    app = pilot.app  # type: ignore[attr-defined]
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()  # type: ignore[attr-defined]
