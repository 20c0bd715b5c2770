"""`oversight view RUN_DIR`: the episodes of a run as a filterable list, and each episode in full.

The app opens at once and indexes `episodes.jsonl` in a worker thread, a few thousand lines at a time (the list
fills as it goes); filters and the text search run on the index, never on parsed episodes. Nothing is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Select, Static
from textual.worker import get_current_worker

from oversight.episode_index import EpisodeIndex, Status
from oversight.store import SPEC_FILE, StoreError, read_json, resolve_run_dir
from oversight.tui.base import OversightApp
from oversight.tui.episode_screen import EpisodeScreen
from oversight.tui.episode_table import EpisodeTable, header_text
from oversight.tui.filters import FACETS, EpisodeFilter, facet_counts, select
from oversight.tui.questions import RunQuestions, run_title

FIRST_CHUNK, CHUNK = 1_000, 5_000  # lines indexed before the first update of the list, and between later ones
FACET_PROMPTS = {"status": "status", "label": "protocol", "judge": "judge", "task": "task"}


class ListScreen(Screen[None]):
    """The run's episodes, filtered by status, protocol, judge, task and search text."""

    HELP_TITLE = "Episodes"
    HELP = (
        "One line per episode. The selectors above the list filter by status, protocol (label), judge and task; "
        "the search box finds episodes whose stored record (turns, judgments, ids, errors) contains a text. "
        "Enter opens the episode under the cursor. Tab moves between the selectors, the search box and the list."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "search", key_display="/"),
        Binding("f", "filters", "filters"),
        Binding("c", "clear", "clear filters"),
        Binding("r", "reload", "reload"),
        Binding("escape", "to_list", "back to list", show=False),
    ]
    DEFAULT_CSS = """
    ListScreen #title { height: 1; background: $panel; color: $text; text-style: bold; padding: 0 1; }
    ListScreen #filters { height: 1; }
    ListScreen #filters Select { width: 1fr; }
    ListScreen #search { height: 1; }
    ListScreen #columns { height: 1; color: $text-muted; text-style: bold; }
    ListScreen #notice { height: auto; max-height: 3; color: $text-warning; }
    ListScreen #status-line { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """

    def __init__(self, app_state: ViewerApp) -> None:
        super().__init__()
        self.state = app_state
        self.filter = EpisodeFilter()
        self._facet_values: dict[str, tuple[str, ...]] = {f: () for f in FACETS}
        self._searching = False
        self._upto = 0  # rows of the index already shown (or filtered out)

    def compose(self) -> ComposeResult:
        st = self.state
        yield Static(st.title, id="title")
        with Horizontal(id="filters"):
            for facet in FACETS:
                if facet == "task" and not st.show_task:
                    continue
                yield Select[str]([], prompt=FACET_PROMPTS[facet], compact=True, id=f"facet-{facet}")
        yield Input(placeholder="search text, then enter (esc: back to the list)", compact=True, id="search")
        header = Static(header_text(80, show_task=st.show_task), id="columns")
        yield header
        yield EpisodeTable(st.index, show_task=st.show_task, header=header, id="episodes")
        yield Static("", id="notice")
        yield Static("opening\u2026", id="status-line")
        yield Footer()

    def on_mount(self) -> None:
        self.table.focus()

    @property
    def table(self) -> EpisodeTable:
        return self.query_one(EpisodeTable)

    # -- index progress ------------------------------------------------------------------------------------------

    class Indexed(Message):
        """The index worker read more lines (`done`: it reached the end of the file)."""

        def __init__(self, done: bool) -> None:
            super().__init__()
            self.done = done

    def on_list_screen_indexed(self, event: ListScreen.Indexed) -> None:
        """Show the rows indexed since the last time (the worker does not wait for this)."""
        index = self.state.index
        start, self._upto = self._upto, len(index.rows)
        if event.done or self.filter.text:
            if event.done:
                self._update_facets()
                self.refilter()
            elif start == 0:
                self._update_facets()
            self._update_status()
            return
        new = select(index, self.filter, range(start, self._upto))
        if new:
            self.table.show([*self.table.shown, *new], keep=self.table.current)
        if start == 0:
            self._update_facets()
        self._update_status()

    def _update_facets(self) -> None:
        counts = facet_counts(self.state.index.rows)
        for facet in FACETS:
            if facet == "task" and not self.state.show_task:
                continue
            values = tuple(sorted(counts[facet]))
            if facet == "status":
                values = tuple(s.value for s in Status if s.value in counts[facet])
            if values == self._facet_values[facet]:
                continue
            self._facet_values[facet] = values
            widget = self.query_one(f"#facet-{facet}", Select)
            current = widget.value
            with widget.prevent(Select.Changed):
                widget.set_options((f"{v or '-'} ({counts[facet][v]:,})", v) for v in values)
                if current in values:
                    widget.value = current

    def _update_status(self, note: str = "") -> None:
        index = self.state.index
        total = sum(1 for r in index.rows if not r.superseded) if index.replaced else len(index.rows)
        parts = [f"{len(self.table.shown):,} of {total:,} episodes"]
        if not index.complete:
            size = max(1, self.state.file_size)
            parts.append(f"indexing {min(99, 100 * index.size // size)}%")
        if self._searching:
            parts.append("searching\u2026")
        if note:
            parts.append(note)
        self.query_one("#status-line", Static).update(" \u00b7 ".join(parts))
        self.query_one("#notice", Static).update("\n".join(self.state.notices()))

    # -- filtering ---------------------------------------------------------------------------------------------

    def refilter(self) -> None:
        """Recompute the list for the current filter (a text search runs in a worker thread)."""
        if self.filter.text:
            self._searching = True
            self._update_status()
            self._search(self.filter)
        else:
            self._searching = False
            self.table.show(select(self.state.index, self.filter) or [], keep=self.table.current)
            self._update_status()

    @work(thread=True, exclusive=True, group="search")
    def _search(self, flt: EpisodeFilter) -> None:
        worker = get_current_worker()
        found = select(self.state.index, flt, cancelled=lambda: worker.is_cancelled)
        if found is not None and not worker.is_cancelled:
            self.app.call_from_thread(self._searched, flt, found)

    def _searched(self, flt: EpisodeFilter, found: list[int]) -> None:
        if flt != self.filter:
            return
        self._searching = False
        self.table.show(found, keep=self.table.current)
        self._update_status()

    @on(Select.Changed)
    def _facet_changed(self, event: Select.Changed) -> None:
        facet = (event.select.id or "").removeprefix("facet-")
        value = None if event.value is Select.BLANK else str(event.value)
        self.filter = self.filter.with_facet(facet, value)
        self.refilter()
        self.table.focus()  # back to the list (f returns to the selectors)

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.filter = EpisodeFilter(**{**_facets(self.filter), "text": event.value.strip()})
        self.refilter()
        self.table.focus()

    @on(EpisodeTable.Opened)
    def _open(self, event: EpisodeTable.Opened) -> None:
        self.app.push_screen(EpisodeScreen(self.state, list(event.table.shown), event.position))

    # -- actions -----------------------------------------------------------------------------------------------

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_filters(self) -> None:
        self.query_one("#filters Select").focus()

    def action_to_list(self) -> None:
        self.table.focus()

    def action_clear(self) -> None:
        for widget in self.query("#filters Select").results(Select):
            with widget.prevent(Select.Changed):
                widget.clear()
        self.query_one("#search", Input).value = ""
        self.filter = EpisodeFilter()
        self.refilter()

    def action_reload(self) -> None:
        self.state.start_indexing()


def _facets(flt: EpisodeFilter) -> dict[str, object]:
    return {f: getattr(flt, f) for f in FACETS}


class ViewerApp(OversightApp[None]):
    """The run viewer. Raises `StoreError` when `run_dir` is not a run (before any screen is drawn)."""

    TITLE = "oversight view"

    def __init__(self, run_dir: str | Path, *, theme: str = "dark") -> None:
        super().__init__(theme=theme)
        self.run_dir = resolve_run_dir(run_dir)
        self.title = run_title(self.run_dir)
        spec = read_json(self.run_dir / SPEC_FILE).get("spec")
        entries = spec.get("tasks") if isinstance(spec, dict) else None
        tasks = [str(t.get("dataset", "")) for t in entries or [] if isinstance(t, dict)]
        self.show_task = len(tasks) > 1
        self.index = EpisodeIndex(self.run_dir, default_task=tasks[0] if len(tasks) == 1 else "")
        self.questions = RunQuestions(self.run_dir)
        self.file_size = 0
        self.error: str | None = None
        self.list_screen = ListScreen(self)

    def on_mount(self) -> None:
        super().on_mount()
        self.push_screen(self.list_screen)
        self.start_indexing()

    def start_indexing(self) -> None:
        """Index the lines not indexed yet (all, at first; new ones on reload) in a worker thread."""
        self._index_worker()

    @work(thread=True, exclusive=True, group="index")
    def _index_worker(self) -> None:
        worker = get_current_worker()
        index = self.index
        try:
            self.file_size = index.path.stat().st_size if index.path.exists() else 0
            chunk = FIRST_CHUNK if not index.rows else CHUNK
            while not worker.is_cancelled:
                start = len(index.rows)
                if index.scan(chunk) == 0:
                    break
                if len(index.rows) > start:
                    self.list_screen.post_message(ListScreen.Indexed(done=False))
                chunk = CHUNK
        except StoreError as err:
            self.error = str(err)
        if not worker.is_cancelled:
            self.list_screen.post_message(ListScreen.Indexed(done=True))

    def notices(self) -> list[str]:
        """Plain-language lines about the run's files: a torn last line, unreadable lines, duplicates, errors."""
        index, out = self.index, []
        if self.error:
            out.append(self.error)
        if index.torn is not None:
            out.append(
                f"{index.path.name}: line {index.torn} is incomplete (a run still writing, or a crash mid-write); "
                "it is not shown (r reloads)"
            )
        if index.unreadable:
            line, why = index.problems[0]
            out.append(f"{index.path.name}: {index.unreadable:,} unreadable line(s) skipped; line {line}: {why}")
        if index.replaced:
            out.append(f"{index.replaced:,} episode(s) recorded twice: the last record of each is shown")
        if index.submissions_error:
            out.append(f"judgments given later are not shown: {index.submissions_error}")
        if self.complete and not index.rows and index.torn is None:
            out.append("this run has no finished episodes yet")
        return out

    @property
    def complete(self) -> bool:
        """Whether the whole file has been indexed (or there is no file yet)."""
        return self.index.complete or not self.index.path.exists()

    def moved_to(self, position: int) -> None:
        """The list's cursor follows an episode screen's next/previous."""
        self.list_screen.table.cursor = position

    def on_unmount(self) -> None:
        self.index.close()
