"""Judge views that are not made by a protocol's transcript: one rebuilt from a stored episode (re-judging), the
same view with the answer order swapped (position-swap debiasing), and the view a preference model gets of an
arguer's candidate speech (persuasion-optimised arguers).

Every one is built with the transcript's own renderer (`render_turn`), so a rebuilt view is byte for byte the
view the judge was given, and a derived one differs only where it says it does.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence

from oversight.episode import Episode, JudgeView, Turn
from oversight.quotes import QUOTE_RE
from oversight.transcript import LETTERS, Transcript, View, display_name, render_turn
from oversight.types import Question


class ViewRecordError(ValueError):
    """An episode cannot be re-judged: it records no judge view, or its record does not fit its turns."""


def recorded_question(episode: Episode, record: JudgeView) -> Question:
    """The question as the judge was asked it: the recorded text, the episode's choices (as shown, after any
    reduction to two answers), its gold answer, and the hidden context only when the view showed it."""
    return Question(
        id=episode.question_id,
        text=record.question,
        choices=list(episode.choices),
        answer=episode.gold,
        context=record.context,
    )


def rebuild_transcript(episode: Episode, record: JudgeView) -> tuple[Transcript, View]:
    """A transcript holding exactly the turns `record` says the judge saw (copies, in order), and the view it gives
    the judge: equal, field for field and byte for byte in its text, to the view recorded.

    Raises `ViewRecordError` when the record names turns the episode does not hold or an order that does not fit
    its choices.
    """
    if any(not 0 <= i < len(episode.turns) for i in record.turns):
        raise ViewRecordError(f"episode {episode.id}: its judge view names turns it does not hold ({record.turns})")
    if sorted(record.order) != list(range(len(episode.choices))):
        raise ViewRecordError(f"episode {episode.id}: order {record.order} does not fit {len(episode.choices)} choices")
    question = recorded_question(episode, record)
    t = Transcript(
        question,
        seed=record.seed,
        order=record.order,
        context_roles={record.role} if record.context is not None else (),
        names=record.names,
        rounds=record.rounds,
    )
    t.add(*(episode.turns[i].model_copy(deep=True) for i in record.turns))
    view = t.view_for(
        record.role,
        task=record.task,
        answer=record.answer,
        round=record.round,
        word_limit=record.word_limit,
        **record.extra,
    )
    return t, view


def rebuild_view(episode: Episode, judgment: int = -1) -> View:
    """The view the judge of `episode.judgments[judgment]` was given, rebuilt from the stored episode alone.

    Raises `ViewRecordError` when that judgment records no view (episodes stored before views were recorded, or
    judgments no judge made from a view, such as a multi-agent debate's majority vote).
    """
    try:
        record = episode.judgments[judgment].view
    except IndexError:
        raise ViewRecordError(f"episode {episode.id}: no judgment {judgment}") from None
    if record is None:
        raise ViewRecordError(f"episode {episode.id}: judgment {judgment} records no judge view")
    return rebuild_transcript(episode, record)[1]


# --- the swapped view -------------------------------------------------------------------------------------------

# A letter as an answer reference: after "answer(s)", "option", "choice" or "debater" (with "is", ":", brackets
# or quotes between), a list of such letters ("answers A and B"), or a bracketed letter "(A)". Upper case only:
# "a" is a word, "A" after "answer" is a label.
_KEYWORD_LETTERS = re.compile(
    r"(?P<head>\b(?i:answers?|options?|choices?|debaters?)\s*(?i:is\s*)?[:：]?\s*[\(\[\*\"']*\s*)"
    r"(?P<letters>[A-Z](?:\s*(?:,|/|&|(?i:and|or|vs\.?|versus))\s*[A-Z])*)(?![A-Za-z0-9])"
)
_BRACKETED = re.compile(r"(?<![A-Za-z0-9])\(([A-Z])\)")
_VERDICT_LETTER = re.compile(r"(?<![A-Za-z0-9'])([A-Z])(?=\s+(?i:is\s+(?:correct|right|wrong|true|false|the\b)))")


def relabel_letters(text: str, mapping: Mapping[str, str]) -> str:
    """`text` with its answer-letter references mapped through `mapping` ("answer A", "Answer: B", "(A)",
    "Debater B", "options A and B", "A is correct"); the text of `<quote>` spans is never changed (a quote stays
    what was checked). Other capital letters are left as written."""

    def outside_quotes(segment: str) -> str:
        # Find every letter reference in the original text first, then map each once (patterns may overlap).
        spots: set[int] = set()
        for m in _KEYWORD_LETTERS.finditer(segment):
            start = m.start("letters")
            spots.update(start + i for i, ch in enumerate(m.group("letters")) if "A" <= ch <= "Z")
        spots.update(m.start(1) for m in _BRACKETED.finditer(segment))
        spots.update(m.start(1) for m in _VERDICT_LETTER.finditer(segment))
        if not spots:
            return segment
        chars = list(segment)
        for i in spots:
            chars[i] = mapping.get(chars[i], chars[i])
        return "".join(chars)

    out: list[str] = []
    pos = 0
    for m in QUOTE_RE.finditer(text):
        out.append(outside_quotes(text[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(outside_quotes(text[pos:]))
    return "".join(out)


def positional_letter(role: str, n: int) -> int | None:
    """The answer position a role's name is tied to (`debater_a` -> 0, `debater_b` -> 1), or None."""
    base, _, suffix = role.rpartition("_")
    if base and len(suffix) == 1 and suffix.isalpha() and suffix.islower():
        k = LETTERS.index(suffix.upper())
        return k if k < n else None
    return None


def swapped_view(view: View) -> View:
    """`view` with the answers shown in reverse order: the letters move with the positions, speakers tied to a
    position (`debater_a`, `debater_b`) are renamed to match (Debater A defends answer A in both views), and the
    answer letters the speakers wrote are relabelled (see `relabel_letters`). Everything else is unchanged.
    """
    n = len(view.order)
    mapping = {LETTERS[k]: LETTERS[n - 1 - k] for k in range(n)}
    names = dict(view.names)
    roles = {view.role, *(t.role for t in view.turns), *(str(t.meta["to"]) for t in view.turns if "to" in t.meta)}
    for role in roles:
        if positional_letter(role, n) is not None:  # its name carries its position's letter: move it too
            names[role] = re.sub(r"\b[A-Z]\b", lambda m: mapping.get(m.group(0), m.group(0)), view.speaker(role))

    def name_of(role: str) -> str:
        return names.get(role) or display_name(role)

    turns = [_relabelled(t, mapping) for t in view.turns]
    return dataclasses.replace(
        view,
        name=name_of(view.role),
        choices=tuple(reversed(view.choices)),
        order=tuple(reversed(view.order)),
        transcript="\n\n".join(render_turn(t, name_of) for t in turns),
        turns=turns,
        names=names,
        extra={**view.extra, "swapped": True},
    )


def _relabelled(turn: Turn, mapping: Mapping[str, str]) -> Turn:
    content = relabel_letters(turn.content, mapping)
    if content == turn.content:
        return turn
    return turn.model_copy(update={"content": content})


# --- a preference model's view ----------------------------------------------------------------------------------


def preference_view(view: View, candidate: Turn, extra_turns: Sequence[Turn] = ()) -> View:
    """What a judge would see if `candidate` (an arguer's draft speech, already settled: role, round, answer,
    quotes checked) were added to the transcript `view` shows: the judge's view of the question, without the
    hidden context, deciding. For preference models scoring candidate speeches."""
    turns = [*view.turns, *extra_turns, candidate]
    blocks = [view.transcript] if view.transcript else []
    blocks += [render_turn(t, view.speaker) for t in (*extra_turns, candidate)]
    return dataclasses.replace(
        view,
        role="judge",
        name=display_name("judge"),
        context=None,
        raw_context=None,
        transcript="\n\n".join(blocks),
        turns=turns,
        task="decide",
        answer=None,
        turn_ids=(),
        extra={},
    )


__all__ = [
    "ViewRecordError",
    "positional_letter",
    "preference_view",
    "rebuild_transcript",
    "rebuild_view",
    "recorded_question",
    "relabel_letters",
    "swapped_view",
]
