"""The episode list: one line per episode, drawn only for the lines on screen (a 100k-row list costs nothing)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from oversight.episode_index import EpisodeIndex, Row, Status
from oversight.tui.text import STATUS_STYLE, one_line

#: (heading, width) of the fixed columns; "question" takes what is left (at least QUESTION_MIN)
STATUS_W, LABEL_W, JUDGE_W, TASK_W, TOKENS_W, QUESTION_MIN = 11, 13, 10, 18, 6, 12


def columns(width: int, *, show_task: bool) -> list[tuple[str, int]]:
    """The columns that fit in `width` cells: status, protocol, judge, [task], question, tokens."""
    cols = [("status", STATUS_W), ("protocol", LABEL_W), ("judge", JUDGE_W)]
    if show_task:
        cols.append(("task", TASK_W))
    fixed = sum(w for _, w in cols) + TOKENS_W + len(cols) + 1  # one space between columns
    cols.append(("question", max(QUESTION_MIN, width - fixed)))
    cols.append(("tokens", TOKENS_W))
    return cols


def header_text(width: int, *, show_task: bool) -> str:
    """The column headings, aligned with the rows."""
    return " ".join(h.rjust(w) if h == "tokens" else h.ljust(w) for h, w in columns(width, show_task=show_task))


class EpisodeTable(ScrollView, can_focus=True):
    """Rows of an `EpisodeIndex`, in the order of `show(positions)`; a cursor row; enter opens it."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"episode-table--cursor"} | {f"episode-table--{s.value}" for s in Status}
    DEFAULT_CSS = """
    EpisodeTable { height: 1fr; overflow-x: hidden; }
    EpisodeTable > .episode-table--cursor { background: $block-cursor-blurred-background; }
    EpisodeTable:focus > .episode-table--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold;
    }
    EpisodeTable > .episode-table--correct { color: $text-success; }
    EpisodeTable > .episode-table--incorrect { color: $text-error; }
    EpisodeTable > .episode-table--invalid { color: $text-warning; }
    EpisodeTable > .episode-table--error { color: $text-error; text-style: bold; }
    EpisodeTable > .episode-table--unscored { color: $text-muted; }
    EpisodeTable > .episode-table--pending { color: $text-primary; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "previous", show=False),
        Binding("down,j", "move(1)", "next", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown,space", "page(1)", "page down", show=False),
        Binding("home,g", "jump(0)", "first", show=False),
        Binding("end,G", "jump(-1)", "last", show=False),
        Binding("enter", "open", "open episode"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True)

    class Opened(Message):
        """The user opened the episode at `position` of the shown rows."""

        def __init__(self, table: EpisodeTable, position: int) -> None:
            super().__init__()
            self.table = table
            self.position = position

    def __init__(
        self, index: EpisodeIndex, *, show_task: bool = True, header: Static | None = None, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.index = index
        self.show_task = show_task
        self.header = header  # kept aligned with the rows (their width changes with the scrollbar)
        self.shown: Sequence[int] = []

    def show(self, positions: Sequence[int], *, keep: Row | None = None) -> None:
        """Show the rows at `positions` of the index; the cursor stays on `keep` when it is among them."""
        self.shown = positions
        target = 0
        if keep is not None:
            rows = self.index.rows
            target = next((n for n, i in enumerate(positions) if rows[i] is keep), min(self.cursor, len(positions)))
        self.virtual_size = Size(self.size.width, len(positions))
        self.cursor = max(0, min(target, len(positions) - 1))
        self.refresh()
        self.call_after_refresh(self._align_header)

    def on_resize(self) -> None:
        self.call_after_refresh(self._align_header)

    def _align_header(self) -> None:
        if self.header is not None:
            self.header.update(header_text(self.scrollable_content_region.width, show_task=self.show_task))

    @property
    def current(self) -> Row | None:
        """The row under the cursor (None when nothing is shown)."""
        if not self.shown:
            return None
        return self.index.rows[self.shown[self.cursor]]

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.shown) - 1)) if self.shown else 0

    def watch_cursor(self, old: int, new: int) -> None:
        height = self.scrollable_content_region.height or 1
        top = self.scroll_offset.y
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False)
        self.refresh()

    def action_move(self, delta: int) -> None:
        self.cursor += delta

    def action_page(self, direction: int) -> None:
        self.cursor += direction * max(1, self.scrollable_content_region.height - 1)

    def action_jump(self, where: int) -> None:
        self.cursor = 0 if where == 0 else len(self.shown) - 1

    def action_open(self) -> None:
        if self.shown:
            self.post_message(self.Opened(self, self.cursor))

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        n = self.scroll_offset.y + y
        if n >= len(self.shown):
            return Strip.blank(width, base)
        row = self.index.rows[self.shown[n]]
        glyph, _ = STATUS_STYLE[row.status]
        status_style = self.get_component_rich_style(f"episode-table--{row.status.value}")
        line_style = self.get_component_rich_style("episode-table--cursor") if n == self.cursor else Style()
        cells = {
            "status": f"{glyph} {row.status.value}",
            "protocol": row.label,
            "judge": row.judge,
            "task": row.task,
            "question": row.question_id,
            "tokens": f"{row.tokens:,}",
        }
        segments: list[Segment] = []
        gap = Segment(" ", base + line_style)
        for name, w in columns(width, show_task=self.show_task):
            text = one_line(cells[name], w, keep_end=name == "question")
            text = text.rjust(w) if name == "tokens" else text.ljust(w)
            style = base + (status_style if name == "status" else Style()) + line_style
            segments += [Segment(text, style), gap]
        return Strip(segments).crop_extend(0, width, base + line_style)
