"""One episode in full, for the researcher: the transcript with every turn's speaker, side, quotes (verified or
not) and usage, what each turn saw on demand, the hidden context in its own tab, the judgments with their
provenance, and cost, timings, config and errors."""

from __future__ import annotations

import json
from typing import Any, ClassVar, Protocol

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from oversight.episode import Episode, Judgment, ProtocolResult, Turn
from oversight.episode_index import EpisodeIndex, Row
from oversight.store import StoreError
from oversight.transcript import END_TURN, LETTERS, display_name
from oversight.tui.questions import RunQuestions
from oversight.tui.text import MUTED, legend, safe, speech, status_label


class ViewerState(Protocol):
    """What an episode screen needs from the app that opens it."""

    index: EpisodeIndex
    questions: RunQuestions

    def moved_to(self, position: int) -> None:
        """The episode screen stepped to `position` of the list it was opened from."""


class TurnBlock(Static, can_focus=True):
    """One turn: a header (speaker, round, side, usage) and the text; `m` shows the messages it saw."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "screen.turn(1)", "next turn", show=False),
        Binding("up,k", "screen.turn(-1)", "previous turn", show=False),
    ]
    DEFAULT_CSS = """
    TurnBlock { padding: 0 1; margin: 0 0 1 0; }
    TurnBlock:focus { background: $boost; border-left: thick $accent; padding: 0 1 0 0; }
    TurnBlock.-hidden-turn { color: $text-muted; }
    """

    def __init__(self, screen: EpisodeScreen, n: int, header: Content, body: Content, hidden: bool) -> None:
        super().__init__(Content.assemble(header, "\n", body), classes="-hidden-turn" if hidden else "")
        self.owner, self.n, self._header, self._body = screen, n, header, body
        self.showing_seen = False

    def toggle_seen(self) -> None:
        """Show or hide the messages this turn saw (read from the run's pool the first time)."""
        self.showing_seen = not self.showing_seen
        parts: list[Content | str] = [self._header, "\n", self._body]
        if self.showing_seen:
            parts += ["\n", self.owner.seen_text(self.n)]
        self.update(Content.assemble(*parts))
        self.call_after_refresh(self.scroll_visible)


class EpisodeScreen(Screen[None]):
    """The episode at `positions[at]` of the index; n / p step through `positions` (the list as filtered)."""

    HELP_TITLE = "Episode"
    HELP = (
        "Tabs: 1 transcript, 2 hidden context (what the judge never saw), 3 judgments with provenance, "
        "4 details (cost, timings, models, config, result, errors). In the transcript, up/down (or j/k) move "
        "between turns and m shows the exact messages the selected turn was produced from. Quotes marked \u2713 "
        "were found in the hidden text, \u2717 were not. Turns marked 'not shown' are judge attempts nobody saw."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "back", "back to list"),
        Binding("n", "step(1)", "next episode"),
        Binding("p", "step(-1)", "previous episode"),
        Binding("m", "seen", "messages seen"),
        Binding("1", "tab('transcript')", "transcript", show=False),
        Binding("2", "tab('context')", "hidden context", show=False),
        Binding("3", "tab('judgments')", "judgments", show=False),
        Binding("4", "tab('details')", "details", show=False),
        Binding("down,j", "turn(1)", "scroll down", show=False),
        Binding("up,k", "turn(-1)", "scroll up", show=False),
    ]
    DEFAULT_CSS = """
    EpisodeScreen #ep-title { height: 2; background: $boost; padding: 0 1; }
    EpisodeScreen TabbedContent { height: 1fr; }
    EpisodeScreen TabPane { padding: 0; }
    EpisodeScreen VerticalScroll { height: 1fr; }
    EpisodeScreen .block { padding: 0 1; margin: 0 0 1 0; }
    EpisodeScreen .muted { color: $text-muted; }
    EpisodeScreen .warning { color: $text-warning; padding: 0 1; }
    """

    def __init__(self, state: ViewerState, positions: list[int], at: int) -> None:
        super().__init__()
        self.state = state
        self.positions = positions
        self.at = at
        self.row: Row = state.index.rows[positions[at]]
        self.episode: Episode | None = None
        self.load_error: str | None = None
        self._question_widget = Static()

    def compose(self) -> ComposeResult:
        yield Static(id="ep-title")
        with TabbedContent(initial="transcript"):
            with TabPane("1 Transcript", id="transcript"):
                yield VerticalScroll(id="transcript-body")
            with TabPane("2 Hidden context", id="context"):
                yield VerticalScroll(Static(id="context-text", classes="block"), id="context-body")
            with TabPane("3 Judgments", id="judgments"):
                yield VerticalScroll(id="judgments-body")
            with TabPane("4 Details", id="details"):
                yield VerticalScroll(Static(id="details-text", classes="block"), id="details-body")
        yield Footer()

    def on_mount(self) -> None:
        self.show_episode()
        if not self.state.questions.loaded:
            self._load_questions()

    @work(thread=True, exclusive=True, group="questions")
    def _load_questions(self) -> None:
        self.state.questions.load()
        self.app.call_from_thread(self._questions_ready)

    def _questions_ready(self) -> None:
        # Only the question and the context change: nothing is re-mounted, so focus and the open tab stay.
        if self.is_mounted and self.episode is not None:
            self._question_widget.update(self._question_block())
            self._draw_context()

    # -- content -----------------------------------------------------------------------------------------------

    def show_episode(self) -> None:
        """(Re)draw every tab for the episode at `self.at`."""
        self.row = self.state.index.rows[self.positions[self.at]]
        try:
            self.episode = self.state.index.episode(self.row)
            self.load_error = None
        except StoreError as err:
            self.episode, self.load_error = None, str(err)
        self._draw_title()
        self._draw_transcript()
        self._draw_context()
        self._draw_judgments()
        self._draw_details()

    def _draw_title(self) -> None:
        row = self.row
        first = Content.assemble(
            (f"episode {self.at + 1:,} of {len(self.positions):,}", "bold"),
            "   ",
            status_label(row.status),
            ("   line ", MUTED),
            (f"{row.line:,}", MUTED),
        )
        second = " \u00b7 ".join(x for x in (row.label, f"judge {row.judge or '-'}", row.task, row.question_id) if x)
        self.query_one("#ep-title", Static).update(Content.assemble(first, "\n", safe(second)))

    def _order(self) -> list[int]:
        ep = self.episode
        assert ep is not None
        shown = ProtocolResult.read(ep.meta).order_shown
        if sorted(shown) == list(range(len(ep.choices))):
            return shown
        return list(range(len(ep.choices)))

    def _letter(self, choice: int | None) -> str:
        order = self._order()
        if choice is None or choice not in order:
            return "-"
        return LETTERS[order.index(choice)]

    def _question_block(self) -> Content:
        ep = self.episode
        assert ep is not None
        q = self.state.questions.get(ep.question_id)
        if q is not None:
            text: Content | str = safe(q.text)
        elif not self.state.questions.loaded:
            text = Content.styled("(loading the question text\u2026)", MUTED)
        else:
            why = self.state.questions.error or "its id is not among the run's tasks"
            text = Content.styled(f"(question text unavailable: {safe(why)})", "$text-warning")
        final = ep.final
        lines: list[Content | str] = [Content.styled("Question", "bold $text-primary"), "\n", text]
        for k, choice in enumerate(self._order()):
            marks = []
            if choice == ep.gold:
                marks.append(("\u2605 gold", "$text-success"))
            if final is not None and final.valid and final.choice == choice:
                p = final.probabilities[choice] if final.probabilities and choice < len(final.probabilities) else None
                marks.append((f"\u25c0 judge's pick{'' if p is None else f' ({p:.0%})'}", "$text-primary"))
            lines += ["\n", (f"  {LETTERS[k]}  ", "bold"), safe(ep.choices[choice])]
            for mark in marks:
                lines += ["   ", mark]
        return Content.assemble(*lines)

    def _turn_header(self, n: int, turn: Turn, hidden: bool) -> Content:
        parts: list[Any] = [(display_name(turn.role), "bold $text-primary"), f"  round {turn.round + 1}"]
        if turn.kind != "speech":
            parts.append(f" \u00b7 {safe(turn.kind)}")
        to = turn.meta.get("to")
        if isinstance(to, str):
            parts.append(f" \u2192 {display_name(to)}")
        if turn.answer is not None:
            verb = "picked" if turn.kind == "judgment" else "argues"
            parts.append(f" \u00b7 {verb} {self._letter(turn.answer)}")
        if turn.probability is not None:
            parts.append(f" ({turn.probability:.0%})")
        if hidden:
            parts.append((" \u00b7 not shown", "$text-warning"))
        if turn.meta.get("valid") is False:
            parts.append((" \u00b7 unreadable", "$text-warning"))
        use = turn.usage
        facts = [turn.model or "program", f"{use.input_tokens:,}+{use.output_tokens:,} tok", f"{turn.latency:.2f}s"]
        if turn.cached:
            facts.append("cached")
        if turn.truncated:
            facts.append(f"cut at word limit ({turn.meta.get('words', '?')} words written)")
        parts += ["\n", (safe(" \u00b7 ".join(facts)), MUTED)]
        return Content.assemble(*parts)

    def _draw_transcript(self) -> None:
        body = self.query_one("#transcript-body", VerticalScroll)
        body.remove_children()
        ep = self.episode
        if ep is None:
            body.mount(Static(Content.styled(safe(self.load_error or ""), "$text-error"), classes="block"))
            return
        self._question_widget = Static(self._question_block(), classes="block")
        widgets: list[Static] = [self._question_widget]
        if any(t.quotes for t in ep.turns):
            widgets.append(Static(legend(), classes="block"))
        for n, turn in enumerate(ep.turns):
            # decision attempts and a judge's end of the debate are recorded, never shown to any participant
            hidden = turn.kind in ("judgment", END_TURN)
            widgets.append(
                TurnBlock(self, n, self._turn_header(n, turn, hidden), speech(turn.content, turn.quotes), hidden)
            )
        if ep.error:
            widgets.append(Static(Content.styled(safe(f"{ep.error_type}: {ep.error}"), "$text-error"), classes="block"))
        body.mount_all(widgets)
        blocks = [w for w in widgets if isinstance(w, TurnBlock)]
        if blocks and self.query_one(TabbedContent).active == "transcript":  # (focus would switch tabs)
            self.call_after_refresh(blocks[0].focus, scroll_visible=False)

    def seen_text(self, n: int) -> Content:
        """The messages turn `n` saw, as text (an error message when they cannot be read)."""
        ep = self.episode
        assert ep is not None
        try:
            seen = self.state.index.seen(self.row, ep, n)
        except StoreError as err:
            return Content.styled(safe(str(err)), "$text-error")
        if seen is None:
            return Content.styled("(this turn saw no prompt: a program spoke)", MUTED)
        parts: list[Content | str] = [Content.styled(f"\u2500\u2500 what this turn saw: {len(seen)} messages", "bold")]
        for m in seen:
            parts += ["\n", Content.styled(f"\u2500\u2500 {m.role}", "bold $text-secondary"), "\n", safe(m.content)]
        return Content.assemble(*parts)

    def _draw_context(self) -> None:
        widget = self.query_one("#context-text", Static)
        ep = self.episode
        if ep is None:
            widget.update(safe(self.load_error or ""))
            return
        questions = self.state.questions
        q = questions.get(ep.question_id)
        if q is None:
            why = "loading\u2026" if not questions.loaded else questions.error or "question not among the run's tasks"
            widget.update(Content.styled(f"(hidden context unavailable: {safe(why)})", MUTED))
            return
        head = Content.styled("Hidden context \u2014 what the judge never sees", "bold $text-primary")
        notes = [Content.styled(safe(w), "$text-warning") for w in questions.warnings]
        text = safe(q.context) if q.context else Content.styled("(this question has no hidden context)", MUTED)
        widget.update(Content("\n").join([head, *notes, text]))

    def _draw_judgments(self) -> None:
        body = self.query_one("#judgments-body", VerticalScroll)
        body.remove_children()
        ep = self.episode
        if ep is None:
            return
        if not ep.judgments:
            body.mount(Static(Content.styled("(no judgment recorded)", MUTED), classes="block"))
            return
        last = len(ep.judgments) - 1
        body.mount_all(Static(self._judgment(j, k == last), classes="block") for k, j in enumerate(ep.judgments))

    def _judgment(self, j: Judgment, final: bool) -> Content:
        ep = self.episode
        assert ep is not None
        attempts = f"{j.attempts} attempt{'s' if j.attempts != 1 else ''}"
        if j.pending:
            state = ("pending", "$text-primary")
        else:
            state = ("valid", "$text-success") if j.valid else ("invalid", "$text-warning")
        head = Content.assemble(
            ("final judgment" if final else "judgment", "bold $text-primary"),
            "  ",
            safe(j.judge),
            f" \u00b7 {j.method} \u00b7 ",
            state,
            f" \u00b7 {attempts}",
        )
        lines: list[Content | str] = [head]
        lines += self._human_lines(j)
        for k, choice in enumerate(self._order()):
            p = j.probabilities[choice] if j.probabilities and choice < len(j.probabilities) else None
            bar = "" if p is None else "\u2588" * round(20 * p)
            mark = "  \u25c0 chosen" if j.choice == choice else ""
            gold = "  \u2605 gold" if ep.gold == choice else ""
            prob = "   -  " if p is None else f"{p:6.1%}"
            lines.append(Content.assemble(f"  {LETTERS[k]} {prob} ", (bar.ljust(20), "$text-primary"), mark, gold))
        if j.rationale:
            lines.append(Content.assemble(("rationale  ", "bold"), safe(j.rationale)))
        pv = j.provenance
        order = pv.order_shown
        shown = ", ".join(f"{LETTERS[k]}={c}" for k, c in enumerate(order)) if order else "-"
        facts = [
            ("gold source", pv.gold_source or "-"),
            ("judge", pv.judge or "-"),
            ("aggregation", pv.aggregation or "-"),
            ("order shown", shown),
            ("rubric", pv.rubric or "-"),
            ("rubric hash", pv.rubric_hash or "-"),
            ("rubric author", pv.rubric_author or "-"),
        ]
        lines.append(Content.styled("provenance", "bold"))
        lines += [Content.assemble(f"  {k:<14}", safe(str(v))) for k, v in facts]
        return Content("\n").join(lines)

    def _human_lines(self, j: Judgment) -> list[Content | str]:
        """What a human judgment records beyond its probabilities (or whom a pending one waits for); for a jury or
        a swapped judge, the same for each human part."""
        out: list[Content | str] = []
        for leaf in j.leaves():
            human = leaf.meta.get("human")
            if leaf.method != "human" or not isinstance(human, dict):
                continue
            who = safe(str(human.get("judge_id", leaf.judge)))
            if leaf.pending:
                out.append(Content.styled(f"  waiting for human judge {who} (oversight judge)", "$text-primary"))
                continue
            facts = [f"human {who}"]
            if isinstance(human.get("seconds"), int | float):
                facts.append(f"{human['seconds']:.1f}s")
            if isinstance(human.get("trajectory"), list):
                facts.append(f"{len(human['trajectory'])} probability states")
            if isinstance(human.get("rounds_seen"), int):
                facts.append(f"{human['rounds_seen']} round(s) seen")
            if human.get("ended_early"):
                facts.append("ended the debate early")
            if human.get("feedback"):
                facts.append("feedback on")
            out.append(Content.styled("  " + " \u00b7 ".join(facts), MUTED))
        return out

    def _draw_details(self) -> None:
        widget = self.query_one("#details-text", Static)
        ep = self.episode
        if ep is None:
            widget.update(safe(self.load_error or ""))
            return
        timing = ", ".join(f"{k} {v:.3f}s" for k, v in ep.timings.items() if k != "start") or "-"
        facts: list[tuple[str, str]] = [
            ("episode id", ep.id),
            ("question id", ep.question_id),
            ("experiment", ep.experiment),
            ("protocol", ep.protocol),
            ("label", self.row.label),
            ("judge", ep.judge or "-"),
            ("seed", str(ep.seed)),
            ("correct", str(ep.correct)),
            ("tokens", f"{ep.tokens:,}"),
            ("cost", f"${ep.cost:.4f}"),
            ("timings", timing),
            ("turns", str(len(ep.turns))),
        ]
        if ep.error_type or ep.error:
            facts.append(("error", f"{ep.error_type}: {ep.error}"))
        width = max(len(k) for k, _ in facts) + 2
        lines: list[Content | str] = [Content.assemble((k.ljust(width), "bold"), safe(v)) for k, v in facts]
        lines.append(Content.styled("models", "bold $text-primary"))
        lines += [f"  {safe(role)}: {safe(model)}" for role, model in ep.roles.items()]
        lines.append(Content.styled("protocol config", "bold $text-primary"))
        lines.append(safe(json.dumps(ep.protocol_config, indent=2)))
        lines.append(Content.styled("result (meta)", "bold $text-primary"))
        lines.append(safe(json.dumps(ep.meta, indent=2, default=str)))
        widget.update(Content("\n").join(lines))

    # -- actions -----------------------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss(None)

    def action_step(self, delta: int) -> None:
        at = self.at + delta
        if 0 <= at < len(self.positions):
            self.at = at
            self.show_episode()
            self.state.moved_to(at)

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    @on(TabbedContent.TabActivated)
    def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "transcript":
            blocks = list(self.query(TurnBlock))
            if blocks:
                blocks[0].focus(scroll_visible=False)
        elif event.pane.id is not None:
            self.query_one(f"#{event.pane.id}-body", VerticalScroll).focus()

    def action_turn(self, delta: int) -> None:
        if self.query_one(TabbedContent).active != "transcript":
            body = self.query_one(f"#{self.query_one(TabbedContent).active}-body", VerticalScroll)
            body.scroll_relative(y=delta)
            return
        blocks = list(self.query(TurnBlock))
        if not blocks:
            self.query_one("#transcript-body", VerticalScroll).scroll_relative(y=delta)
            return
        current = self.focused
        k = blocks.index(current) if isinstance(current, TurnBlock) and current in blocks else -1
        target = blocks[max(0, min(len(blocks) - 1, k + delta))]
        if k == -1 and delta < 0:
            target = blocks[0]
        target.focus()
        if delta < 0 and target is blocks[0]:
            self.query_one("#transcript-body", VerticalScroll).scroll_home(animate=False)

    def action_seen(self) -> None:
        focused = self.focused
        if isinstance(focused, TurnBlock):
            focused.toggle_seen()
        elif self.query_one(TabbedContent).active == "transcript":
            self.notify("select a turn (up/down) to show the messages it saw")
