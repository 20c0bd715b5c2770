"""The running record of one protocol episode: who said what, what each participant may see, and its Outcome.

`Transcript.view_for(role)` is the one place visibility is decided: judges never see the hidden context, and a
protocol can hide a round's turns (simultaneous debate) or filter turns (multi-agent debate). Every turn is
rendered once, escaped, when it is added, so a view costs one string join, not a copy of the transcript.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from oversight.episode import JudgeView, Judgment, Outcome, ProtocolResult, Turn
from oversight.quotes import escape, render_speech
from oversight.types import ChatMessage, ModelOutput, Question, Usage, trusted

LETTERS = string.ascii_uppercase
#: "Answer: X" as agents and judges read it; the letter must be upper case ("answer a question" is not an answer).
ANSWER_RE = re.compile(r"(?i:answer\s*(?:is)?\s*[:：]?)\s*[\(\[\*\"']*\s*([A-Z])(?![A-Za-z0-9])")
_WORD = re.compile(r"\S+")
#: the kind of turn a judge's `ask` returns to end an interactive protocol early instead of asking (a live human
#: judge, once the protocol's `judge.min_rounds` are played); the protocol records it unseen and goes to the decision
END_TURN = "end"


def is_judge_role(role: str) -> bool:
    """Judge roles (`judge`, `judge_2`, ...) never see the hidden context."""
    return role == "judge" or role.startswith("judge_")


@lru_cache(maxsize=256)  # a run has a handful of roles, named on every turn of every view
def display_name(role: str) -> str:
    """`"debater_a"` -> `"Debater A"`, `"consultant"` -> `"Consultant"`."""
    return " ".join(part[:1].upper() + part[1:] for part in role.split("_") if part)


@dataclass(slots=True)
class View:
    """What one participant sees at one moment. Text fields are already escaped and ready for a prompt.

    `order[k]` is the choice index shown under letter `LETTERS[k]`; `answer`/`letter` is the answer this
    participant is assigned (None for judges and open choices); `task` says what is asked of it now.
    """

    role: str
    name: str
    question: str
    choices: tuple[str, ...]
    order: tuple[int, ...]
    context: str | None
    transcript: str
    turns: Sequence[Turn]
    round: int = 0
    rounds: int = 1
    task: str = "argue"
    answer: int | None = None
    seed: int = 0
    word_limit: int | None = None
    raw_context: str | None = None  # the unescaped context, for programmatic agents (None whenever `context` is)
    extra: dict[str, Any] = field(default_factory=dict)
    raw_question: str = ""  # the unescaped question text (what a re-judge rebuilds the view from)
    turn_ids: tuple[int, ...] = ()  # the transcript positions of `turns`
    names: Mapping[str, str] = field(default_factory=dict)  # role -> speaker name shown (absent: the default)
    #: (the choices it was made from, `choices_text`), made once per transcript; used only while `choices` is them
    choices_rendered: tuple[tuple[str, ...], str] | None = None

    def speaker(self, role: str) -> str:
        """The speaker name shown for `role` in this view."""
        name = self.names.get(role)
        return name if name is not None else display_name(role)

    def record(self) -> JudgeView:
        """What this view showed, as stored with a judgment: enough to rebuild it from the episode alone."""
        roles = {self.role, *(t.role for t in self.turns)}
        return JudgeView(
            role=self.role,
            task=self.task,
            round=self.round,
            rounds=self.rounds,
            seed=self.seed,
            word_limit=self.word_limit,
            answer=self.answer,
            order=list(self.order),
            turns=list(self.turn_ids),
            names={r: n for r, n in self.names.items() if r in roles and n != display_name(r)},
            question=self.raw_question,
            context=self.raw_context if self.context is not None else None,
            extra={k: _jsonable(v) for k, v in self.extra.items()},
        )

    @property
    def letters(self) -> str:
        return LETTERS[: len(self.order)]

    @property
    def letter(self) -> str | None:
        """The letter of the assigned answer as shown, or None."""
        return None if self.answer is None else LETTERS[self.order.index(self.answer)]

    def letter_of(self, choice: int) -> str:
        """The letter `choice` is shown under."""
        return LETTERS[self.order.index(choice)]

    def choice_of(self, letter: str) -> int:
        """The choice index shown under `letter`; raises ValueError for letters not shown."""
        k = LETTERS.index(letter)
        if k >= len(self.order):
            raise ValueError(f"letter {letter!r} not shown")
        return self.order[k]

    @property
    def choices_text(self) -> str:
        """`"A: ...\\nB: ..."` in the order shown."""
        made = self.choices_rendered
        if made is not None and made[0] is self.choices:
            return made[1]
        return render_choices(self.choices)

    @property
    def answer_text(self) -> str:
        """The assigned answer's text as shown ("" when none)."""
        return "" if self.answer is None else self.choices[self.order.index(self.answer)]


@dataclass(slots=True)
class Verdict:
    """A judge's decision plus the turns that recorded each attempt (what it saw and said)."""

    judgment: Judgment
    turns: list[Turn] = field(default_factory=list)


class Transcript:
    """Turns of one episode, with their escaped renderings, and the rules of who sees what."""

    def __init__(
        self,
        question: Question,
        *,
        seed: int = 0,
        order: Sequence[int] | None = None,
        context_roles: Iterable[str] = (),
        names: Mapping[str, str] | None = None,
        rounds: int = 1,
    ) -> None:
        context_roles = frozenset(context_roles)
        if any(is_judge_role(r) for r in context_roles):
            raise ValueError("a judge role may not see the hidden context")
        self.question = question
        self.seed = seed
        self.order = tuple(order) if order is not None else tuple(range(len(question.choices)))
        self.context_roles = context_roles
        self.names = dict(names or {})
        self.rounds = rounds
        self.turns: list[Turn] = []
        self._shown: list[int] = []  # positions of the turns that are shown, and their blocks (kept as turns arrive)
        self._shown_blocks: list[str] = []
        self._decide_views: list[View] = []  # the views judges were asked to decide from, in order
        self._started = time.perf_counter()
        # Shared by every view: rendered once.
        self._question_text = escape(question.text)
        self._choices = tuple(escape(question.choices[i]) for i in self.order)
        self._context = escape(question.context) if question.context else None
        self._choices_text = (self._choices, render_choices(self._choices))
        self._joined: str | None = ""  # every shown block joined, as most views show them (None: to be made)
        started = _STARTED.get()
        if started is not None:
            started.append(self)
        self._watcher = _WATCHER.get()  # read once: a live interface following this episode (usually None)
        if self._watcher is not None:
            self._watcher.started(self)

    @classmethod
    def start(cls, question: Question, **kw: Any) -> Transcript:
        """A new, empty transcript (see the constructor for keywords)."""
        return cls(question, **kw)

    def name_of(self, role: str) -> str:
        """The speaker name shown for `role`."""
        name = self.names.get(role)
        if name is None:
            name = self.names[role] = display_name(role)
        return name

    def add(self, *turns: Turn, visible: bool = True) -> None:
        """Append turns (in order). `visible=False` records a turn no participant is shown (e.g. a judge's
        decision attempts)."""
        for turn in turns:
            block = render_turn(turn, self.name_of) if visible else None
            if block is not None:
                self._shown.append(len(self.turns))
                self._shown_blocks.append(block)
                self._joined = None
            self.turns.append(turn)
        if self._watcher is not None and turns:
            self._watcher.added(self, turns, visible)

    def view_for(
        self,
        role: str,
        *,
        task: str = "argue",
        answer: int | None = None,
        round: int = 0,
        hide_round: int | None = None,
        include: Callable[[Turn], bool] | None = None,
        word_limit: int | None = None,
        **extra: Any,
    ) -> View:
        """What `role` sees now. Judges never get the context; only `context_roles` do.

        `hide_round=r` hides other speakers' turns of round r (simultaneous speeches); `include` filters turns.
        """
        if hide_round is None and include is None:
            ids: Sequence[int] = tuple(self._shown)
            all_turns = self.turns
            turns: Sequence[Turn] = [all_turns[i] for i in ids]
            joined = self._joined
            if joined is None:
                joined = self._joined = "\n\n".join(self._shown_blocks)
        else:
            kept, kept_blocks, kept_turns = [], [], []
            for i, b in zip(self._shown, self._shown_blocks, strict=True):
                t = self.turns[i]
                if hide_round is not None and t.round == hide_round and t.role != role:
                    continue
                if include is not None and not include(t):
                    continue
                kept.append(i)
                kept_blocks.append(b)
                kept_turns.append(t)
            ids, turns, joined = tuple(kept), kept_turns, "\n\n".join(kept_blocks)
        sees_context = role in self.context_roles and not is_judge_role(role)
        view = View(
            role=role,
            name=self.name_of(role),
            question=self._question_text,
            choices=self._choices,
            order=self.order,
            context=self._context if sees_context else None,
            transcript=joined,
            turns=turns,
            round=round,
            rounds=self.rounds,
            task=task,
            answer=answer,
            seed=self.seed,
            word_limit=word_limit,
            raw_context=self.question.context if sees_context else None,
            extra=extra,
            raw_question=self.question.text,
            turn_ids=ids,
            names=self.names,
            choices_rendered=self._choices_text,
        )
        if task == "decide":  # a judge's (or the expert tier's) decision: recorded with its verdict at close
            self._decide_views.append(view)
        if self._watcher is not None:
            self._watcher.viewed(self, view)
        return view

    def close(self, *verdicts: Verdict | Judgment, result: ProtocolResult | None = None) -> Outcome:
        """The protocol's Outcome: all turns (verdict attempts included, unseen), judgments in order (the last one
        final) and `result` (a plain `ProtocolResult` when None), its `order_shown` filled from this transcript.

        Each `Verdict` whose judgment does not record its view gets the record of the `task="decide"` view this
        transcript made for it (the k-th Verdict, the k-th such view), so any episode can be judged again from
        its stored turns. Judgments without an `order_shown` get this transcript's order.
        """
        judgments: list[Judgment] = []
        views = iter(self._decide_views)
        for v in verdicts:
            if isinstance(v, Verdict):
                shown = next(views, None)
                if v.judgment.view is None and shown is not None:
                    v.judgment.view = shown.record()
                self.add(*v.turns, visible=False)
                judgments.append(v.judgment)
            else:
                judgments.append(v)
        for j in judgments:
            if j.provenance.order_shown is None:
                j.provenance.order_shown = list(self.order)
        result = result if result is not None else ProtocolResult()
        if not result.order_shown:
            result.order_shown = list(self.order)
        return Outcome(self.question, self.turns, judgments, result, wall=time.perf_counter() - self._started)


def render_choices(choices: Sequence[str]) -> str:
    """`"A: ...\\nB: ..."`: escaped choices under their letters, in the order given."""
    return "\n".join(f"{LETTERS[k]}: {c}" for k, c in enumerate(choices))


def render_turn(turn: Turn, name_of: Callable[[str], str]) -> str:
    """One turn as a judge or agent reads it: a `<turn>` header written by us, the speaker's text escaped inside
    (quotes re-emitted with their checked status), every body line prefixed with "| "."""
    # Only this line writes a speaker header; agent text inside is escaped, so it cannot close or open one.
    kind = "" if turn.kind == "speech" else f' kind="{escape(turn.kind)}"'
    to = turn.meta.get("to")
    to_attr = f' to="{escape(name_of(to))}"' if isinstance(to, str) else ""
    coverage = turn.meta.get("quote_coverage") if turn.meta.get("show_coverage") else None
    if isinstance(coverage, int | float):
        to_attr += f' quote_coverage="{coverage:.2f}"'  # QuoteConfig.show_coverage
    # Every body line starts with "| ", so nothing a speaker writes ("Judge: ...") can begin a line of its own.
    body = "| " + render_speech(turn.content, turn.quotes).replace("\n", "\n| ")
    return f'<turn speaker="{name_of(turn.role)}" round="{turn.round + 1}"{kind}{to_attr}>\n{body}\n</turn>'


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def partial_turns() -> list[Turn]:
    """The turns recorded so far by the transcripts started in this task since `record_transcripts()` (for an
    episode that failed part-way: what it paid for is kept)."""
    started = _STARTED.get()
    return [t for tr in started for t in tr.turns] if started else []


def record_transcripts() -> None:
    """Start collecting the transcripts this task (and the tasks it starts) create, for `partial_turns()`."""
    _STARTED.set([])


_STARTED: ContextVar[list[Transcript] | None] = ContextVar("oversight_transcripts", default=None)


#: characters allowed per word of a word limit: English prose averages about 6 characters a word, space and
#: punctuation included (measured in tests/test_transcript_limits.py), so twice that binds only text whose "words"
#: are not words (a 200 KB run of characters without whitespace).
CHARS_PER_WORD = 12


def char_limit(word_limit: int | None) -> int | None:
    """The character cap that goes with `word_limit` (None: no cap)."""
    return None if word_limit is None else CHARS_PER_WORD * word_limit


class TranscriptWatcher(Protocol):
    """Follows the transcripts started under `watch_transcripts` as they grow (a live interface: a human judge
    watching turns arrive). Called synchronously from the protocol's task: keep each call short."""

    def started(self, transcript: Transcript) -> None:
        """A transcript was created (a new episode, in most protocols)."""

    def added(self, transcript: Transcript, turns: Sequence[Turn], visible: bool) -> None:
        """`turns` were appended (`visible=False`: turns no participant is shown)."""

    def viewed(self, transcript: Transcript, view: View) -> None:
        """A view was made for a participant (the protocol is about to ask it for something)."""


_WATCHER: ContextVar[TranscriptWatcher | None] = ContextVar("oversight_transcript_watcher", default=None)


@contextmanager
def watch_transcripts(watcher: TranscriptWatcher) -> Iterator[None]:
    """Within this block (and the tasks started in it, e.g. an experiment run), every new transcript reports to
    `watcher`: when it starts, each turn added, each view made."""
    token = _WATCHER.set(watcher)
    try:
        yield
    finally:
        _WATCHER.reset(token)


def truncate_words(text: str, limit: int | None) -> tuple[str, int]:
    """`text` cut after its `limit`-th word (whitespace kept as written) and its original word count."""
    if limit is None:
        return text, -1
    words = len(text.split())  # the same words as `_WORD` finds (both split at str.isspace), without a match each
    if words <= limit:
        return text, words
    n = 0
    for m in _WORD.finditer(text):
        n += 1
        if n == limit:
            end = m.end()
            total = limit + sum(1 for _ in _WORD.finditer(text, end))
            return (text[:end], total) if total > limit else (text, total)
    return text, n


def limit_words(turn: Turn, limit: int | None) -> Turn:
    """Enforce a per-turn word limit in place, and the character cap derived from it (`char_limit`): over-long
    content is cut, `truncated` set, `meta["words"]` keeps the original word count and, when the character cap
    cut it, `meta["chars"]` the original length. Returns the same turn."""
    if limit is None:
        return turn
    text, words = truncate_words(turn.content, limit)
    cap = char_limit(limit)
    over_chars = cap is not None and len(text) > cap
    if over_chars:
        text = text[:cap]
    if words > limit or over_chars:
        if over_chars:
            turn.meta["chars"] = len(turn.content)
        turn.content = text
        turn.truncated = True
        turn.meta["words"] = words
    return turn


_NO_USAGE = Usage()


def make_turn(
    role: str,
    content: str,
    *,
    kind: str = "speech",
    round: int = 0,
    answer: int | None = None,
    seen: list[ChatMessage] | None = None,
    model: str | None = None,
    usage: Usage | None = None,
    latency: float = 0.0,
    cached: bool = False,
    meta: dict[str, Any] | None = None,
) -> Turn:
    """A Turn built without validation, every field given (validation and `model_construct` cost more than the
    rest of a protocol step)."""
    return trusted(
        Turn,
        role=role,
        content=content,
        kind=kind,
        round=round,
        seen=seen,
        answer=answer,
        quotes=[],
        probability=None,
        truncated=False,
        model=model,
        usage=usage if usage is not None else _NO_USAGE.model_copy(),
        latency=latency,
        cached=cached,
        meta=meta if meta is not None else {},
    )


def model_turn(
    role: str, out: ModelOutput, seen: list[ChatMessage], *, kind: str = "speech", round: int = 0, **meta: Any
) -> Turn:
    """A Turn recording a model call: what was sent, what came back, usage and latency (no validation pass)."""
    return make_turn(
        role,
        out.text.strip(),
        kind=kind,
        round=round,
        seen=seen,
        model=out.model or None,
        usage=out.usage,
        latency=out.latency,
        cached=out.cached,
        meta=meta,
    )


__all__ = [
    "ANSWER_RE",
    "CHARS_PER_WORD",
    "END_TURN",
    "LETTERS",
    "Transcript",
    "TranscriptWatcher",
    "Verdict",
    "View",
    "char_limit",
    "limit_words",
    "make_turn",
    "model_turn",
    "render_turn",
    "watch_transcripts",
]
