"""The transcript as a human judge may see it: rendered from the very `View` a model judge gets, and from nothing
else, so the screen can show no more than a model judge's prompt holds.

It reads the view's question, its answers in the order shown and its rendered transcript (the speaker turns the
protocol let the judge see, with quote statuses written by our renderer, agent text escaped). It never reads
`view.turns`, which carry model names, latencies and usage, and it refuses a view that holds the hidden context.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from textual.content import Content
from textual.widgets import Static

from oversight.transcript import LETTERS, View, is_judge_role
from oversight.tui.text import legend, quoted, safe

_TURN = re.compile(
    r'<turn speaker="([^"]*)" round="(\d+)"(?: kind="([^"]*)")?(?: to="([^"]*)")?>\n(.*?)\n</turn>', re.DOTALL
)
_QUOTE = re.compile(r'<quote status="(verified|unverified)">(.*?)</quote>', re.DOTALL)


@dataclass(frozen=True, slots=True)
class JudgeTurn:
    """One turn of a judge's view: who spoke, in which round, what kind of turn, to whom, and the escaped text."""

    speaker: str
    round: int
    kind: str
    to: str | None
    body: str


def judge_turns(transcript: str) -> list[JudgeTurn] | None:
    """The turns of a view's rendered transcript, or None when it holds anything else (then show it as text)."""
    turns: list[JudgeTurn] = []
    pos = 0
    for m in _TURN.finditer(transcript):
        if transcript[pos : m.start()].strip():
            return None
        lines = m.group(5).split("\n")
        if not all(line.startswith("| ") or line == "|" for line in lines):
            return None
        body = "\n".join(line[2:] for line in lines)
        speaker, to = html.unescape(m.group(1)), m.group(4)
        turns.append(JudgeTurn(speaker, int(m.group(2)), m.group(3) or "speech", to and html.unescape(to), body))
        pos = m.end()
    if transcript[pos:].strip():
        return None
    return turns


def _body(escaped: str) -> Content:
    parts: list[Content | str] = []
    pos = 0
    for m in _QUOTE.finditer(escaped):
        parts.append(safe(html.unescape(escaped[pos : m.start()])))
        parts.append(quoted(html.unescape(m.group(2)), m.group(1) == "verified"))
        pos = m.end()
    parts.append(safe(html.unescape(escaped[pos:])))
    return Content.assemble(*parts)


def check_judge_view(view: View) -> None:
    """Raise ValueError unless `view` is a judge's view without the hidden context."""
    if not is_judge_role(view.role):
        raise ValueError(f"a judge's screen needs a judge's view, not {view.role!r}'s")
    if view.context is not None or view.raw_context is not None:
        raise ValueError("a judge's view never holds the hidden context")


def judge_text(view: View) -> Content:
    """Everything a judge's screen shows for `view`: question, answers as lettered, turns. Raises ValueError for a
    view that is not a judge's (see `check_judge_view`)."""
    check_judge_view(view)
    parts: list[Content | str] = [
        Content.styled("Question", "bold $text-primary"),
        "\n",
        safe(html.unescape(view.question)),
        "\n\n",
        Content.styled("Answers", "bold $text-primary"),
    ]
    for k, choice in enumerate(view.choices):
        parts += ["\n", (f"  {LETTERS[k]}  ", "bold"), safe(html.unescape(choice))]
    if not view.transcript:
        return Content.assemble(*parts)
    turns = judge_turns(view.transcript)
    if turns is None:  # not our usual rendering: show the text exactly as the judge model would read it
        return Content.assemble(*parts, "\n\n", safe(html.unescape(view.transcript)))
    if "<quote status=" in view.transcript:
        parts += ["\n\n", legend()]
    for t in turns:
        head: list[Content | str] = [Content.styled(safe(t.speaker), "bold $text-primary")]
        if t.to:
            head.append(Content.styled(f" \u2192 {safe(t.to)}", "bold $text-primary"))
        head.append(f"  round {t.round}" + ("" if t.kind == "speech" else f" \u00b7 {safe(t.kind)}"))
        parts += ["\n\n", *head, "\n", _body(t.body)]
    return Content.assemble(*parts)


class JudgeTranscript(Static):
    """A judge's view of an episode (see the module doc). `show(view)` redraws it (turns arriving live).

    Raises ValueError for a view that is not a judge's or that holds the hidden context.
    """

    DEFAULT_CSS = "JudgeTranscript { padding: 0 1; }"

    def __init__(self, view: View, *, id: str | None = None) -> None:
        super().__init__(judge_text(view), id=id)
        self.view = view

    def show(self, view: View) -> None:
        """Show `view` instead (raises ValueError like the constructor, leaving the screen as it was)."""
        text = judge_text(view)
        self.view = view
        self.update(text)
