"""What every oversight terminal app shares: keyboard-only use, a `?` help screen built from the keys that work
where you are, a light and a dark theme, and a plain message instead of a cramped screen below 80x24."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

MIN_WIDTH, MIN_HEIGHT = 80, 24
THEMES = {"dark": "textual-dark", "light": "textual-light"}


class HelpScreen(ModalScreen[None]):
    """The keys of the screen it was opened from (with what they do) and that screen's own help text."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,f1,q", "dismiss", "close help"),
        Binding("down,j", "scroll_down", "scroll", show=False),
        Binding("up,k", "scroll_up", "scroll", show=False),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background; }
    HelpScreen > VerticalScroll {
        width: 76; max-height: 22; border: round $text-primary; background: $surface; padding: 0 1;
    }
    HelpScreen .help-title { text-style: bold; color: $text-primary; }
    """

    def __init__(self, title: str, text: str, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self._title, self._text, self._keys = title, text, keys

    def compose(self) -> ComposeResult:
        width = max((len(k) for k, _ in self._keys), default=4) + 2
        lines = [Content.assemble((k.ljust(width), "bold $text-primary"), d) for k, d in self._keys]
        with VerticalScroll():
            yield Static(f"{self._title} \u2014 keys (esc closes)", classes="help-title")
            if self._text:
                yield Static(self._text)
            yield Static(Content("\n").join(lines))

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(None)

    def action_scroll_down(self) -> None:
        self.query_one(VerticalScroll).scroll_down()

    def action_scroll_up(self) -> None:
        self.query_one(VerticalScroll).scroll_up()


class TooSmallScreen(Screen[None]):
    """Shown instead of the app while the terminal is smaller than 80x24; leaves once it is large enough."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("q,ctrl+c", "app.quit", "quit")]
    DEFAULT_CSS = "TooSmallScreen { align: center middle; } TooSmallScreen Static { width: auto; }"

    def __init__(self) -> None:
        super().__init__()
        self._terminal = (0, 0)

    def compose(self) -> ComposeResult:
        yield Static(self._message(), id="too-small")

    def _message(self) -> str:
        width, height = self._terminal
        return (
            f"This terminal is {width}x{height}; oversight needs at least {MIN_WIDTH}x{MIN_HEIGHT}.\n"
            "Enlarge the window to go on, or press q to quit."
        )

    def show_size(self, width: int, height: int) -> None:
        self._terminal = (width, height)
        if self.is_mounted:
            self.query_one("#too-small", Static).update(self._message())


ReturnType = TypeVar("ReturnType")


class OversightApp(App[ReturnType]):
    """Base of the oversight apps. Screens may set `HELP` (a paragraph shown above their keys in the help)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark,f1", "help", "help", key_display="?"),
        Binding("t", "toggle_theme", "light/dark"),
        Binding("q", "quit", "quit"),
    ]
    ENABLE_COMMAND_PALETTE = False
    # Textual's defaults for placeholders, prompts, inactive tabs and footer keys fall near or below a 3:1
    # contrast in the light theme (measured by tests/test_tui_themes.py).
    CSS = """
    Input > .input--placeholder, TextArea > .text-area--placeholder { color: $foreground 65%; }
    SelectCurrent Static#label, SelectCurrent .arrow { color: $foreground 65%; }
    Tab { color: $foreground 65%; }
    FooterKey .footer-key--key { color: $text-primary; }
    """

    def __init__(self, *, theme: str = "dark") -> None:
        super().__init__()
        if theme not in THEMES:
            raise ValueError(f"theme: {theme!r} is not one of {', '.join(THEMES)}")
        self._initial_theme = THEMES[theme]
        self._too_small: TooSmallScreen | None = None

    def on_mount(self) -> None:
        self.theme = self._initial_theme
        self.call_after_refresh(self._check_size)

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._check_size)

    def _check_size(self) -> None:
        width, height = self.size
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        if small and self._too_small is None:
            self._too_small = TooSmallScreen()
            self.push_screen(self._too_small)
        if self._too_small is not None:
            if small:
                self._too_small.show_size(width, height)
            else:
                screen, self._too_small = self._too_small, None
                if self.screen is screen:
                    self.pop_screen()

    @property
    def too_small(self) -> bool:
        """Whether the too-small message is showing."""
        return self._too_small is not None

    def action_toggle_theme(self) -> None:
        self.theme = THEMES["light"] if self.theme == THEMES["dark"] else THEMES["dark"]

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen | TooSmallScreen):
            return
        screen = self.screen
        keys: dict[str, list[str]] = {}
        for key, active in screen.active_bindings.items():
            binding = active.binding
            # Our own keys only: Textual's built-in ones (scrolling, copy, focus) work everywhere and need no list.
            if (
                not binding.description
                or binding.action == "help"
                or (key, binding.action) not in _own_keys(active.node)
            ):
                continue
            shown = _key_name(key)
            if shown not in keys.setdefault(binding.description, []):
                keys[binding.description].append(shown)
        pairs = [(", ".join(k), d) for d, k in keys.items()]
        pairs.append(("?, f1", "this help"))
        title = getattr(screen, "HELP_TITLE", "") or self.title
        self.push_screen(HelpScreen(title, getattr(screen, "HELP", "") or "", pairs))


def _own_keys(node: object) -> set[tuple[str, str]]:
    """(key, action) of the `BINDINGS` of `node`'s classes that belong to oversight (not Textual's)."""
    out: set[tuple[str, str]] = set()
    for cls in type(node).__mro__:
        if cls.__module__.startswith("oversight."):
            for b in cls.__dict__.get("BINDINGS", []):
                key, action = (b.key, b.action) if isinstance(b, Binding) else (b[0], b[1])
                out.update((k.strip(), action) for k in key.split(","))
    return out


def _key_name(key: str) -> str:
    names = {"question_mark": "?", "slash": "/", "escape": "esc", "enter": "enter", "pageup": "pgup"}
    names.update({"pagedown": "pgdn", "up": "\u2191", "down": "\u2193", "left": "\u2190", "right": "\u2192"})
    return names.get(key, key)
