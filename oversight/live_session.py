"""What a live judging session needs below its screen: the experiment to run with a person as its judge
(`live_spec`), and a transcript watcher (`LiveWatcher`) that turns each episode's growth into events for the
interface: an episode started, turns to show, who is speaking now.

Everything the watcher sends for display is made from the judge's own view (`Transcript.view_for("judge")`): the
question, the answers in the order shown and the rendered turns, never the hidden context, model names or
timings. Waiting is reported by speaker name ("Debater B"), which the judge's view shows anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from oversight.episode import Turn
from oversight.experiment.spec import Experiment, SpecError
from oversight.judge_entry import check_judge_id
from oversight.transcript import Transcript, View, is_judge_role

#: protocols whose judge sees every turn its transcript shows (so turns may be shown to a human as they arrive);
#: others (multi-agent debate's judge sees only the last round, decomposition's overseers see steps) are refused
LIVE_PROTOCOLS = ("debate", "consultancy", "direct", "rejudge")
#: protocols in which the judge asks questions between rounds (and may end early) when `interactive = true`
INTERACTIVE_PROTOCOLS = ("debate", "consultancy")


@dataclass(frozen=True, slots=True)
class EpisodeStarted:
    """A new episode: the judge's view of it (question and answers, no turns yet). `gold` (the correct choice
    index, or None) and `choices` are for feedback after the decision only: never show them before."""

    view: View
    gold: int | None
    choices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TurnsShown:
    """Turns the judge may see arrived: the judge's view now, and for each new turn (speaker name, round 1-based,
    kind)."""

    view: View
    arrivals: tuple[tuple[str, int, str], ...]


@dataclass(frozen=True, slots=True)
class Waiting:
    """The participants the protocol is waiting for now (speaker names; empty: nobody)."""

    names: tuple[str, ...]


LiveEvent = EpisodeStarted | TurnsShown | Waiting


class LiveWatcher:
    """A `TranscriptWatcher` (see `oversight.transcript.watch_transcripts`) that sends `LiveEvent`s to `sink`.

    `sink` is called synchronously from the protocol's task: it should only queue the event (post a message).
    """

    def __init__(self, sink: Callable[[LiveEvent], None]) -> None:
        self.sink = sink
        self._waiting: dict[int, list[str]] = {}  # id(transcript) -> names of participants asked, not answered

    def started(self, transcript: Transcript) -> None:
        q = transcript.question
        gold = q.answer if q.choices and q.answer is not None else None
        self._waiting[id(transcript)] = []
        self.sink(EpisodeStarted(_judge_view(transcript), gold, tuple(q.choices)))

    def added(self, transcript: Transcript, turns: Sequence[Turn], visible: bool) -> None:
        waiting = self._waiting.setdefault(id(transcript), [])
        before = list(waiting)
        for turn in turns:
            name = transcript.name_of(turn.role)
            if name in waiting:
                waiting.remove(name)
        if visible:
            arrivals = tuple((transcript.name_of(t.role), t.round + 1, t.kind) for t in turns)
            self.sink(TurnsShown(_judge_view(transcript), arrivals))
        if waiting != before:
            self.sink(Waiting(tuple(waiting)))

    def viewed(self, transcript: Transcript, view: View) -> None:
        if is_judge_role(view.role):
            return  # the judge's own turn arrives as a request on its channel (our own watch views too)
        waiting = self._waiting.setdefault(id(transcript), [])
        if view.name not in waiting:
            waiting.append(view.name)
            self.sink(Waiting(tuple(waiting)))


def _judge_view(transcript: Transcript) -> View:
    return transcript.view_for("judge", task="watch")


def spec_human_ids(spec: Experiment) -> list[str]:
    """The human judge ids of a spec's judge entries (jurors included), in order, without repeats."""
    out: list[str] = []
    for judge in spec.judge_list():
        for one in judge.jurors if judge.jurors is not None else [judge]:
            if one.human and one.human not in out:
                out.append(one.human)
    return out


def live_spec(spec: Experiment, judge_id: str | None, *, min_rounds: int | None = None) -> tuple[Experiment, str]:
    """The experiment a live session runs, and the judge id of the person at the terminal.

    A spec with human judges keeps its judges (`judge_id` picks which human is here; others stay pending); a spec
    without any is judged by `judge_id` alone (its own judges are left out). Episodes run one at a time
    (`concurrency = 1`). `min_rounds` sets `judge.min_rounds` of its interactive debates and consultancies.

    Raises `SpecError` for a protocol whose turns cannot be shown as they arrive, the expert tier (its judge reads
    the hidden context), a missing or unknown judge id, or `min_rounds` without an interactive protocol.
    """
    errors: list[str] = []
    for i, proto in enumerate(spec.protocols):
        where = f"protocols[{i}]"
        name = proto.name
        if name not in LIVE_PROTOCOLS:
            errors.append(
                f"{where}: protocol {name!r} cannot be judged live (its judge does not see every turn as it "
                f"arrives); live sessions run {', '.join(LIVE_PROTOCOLS)}"
            )
        elif name == "direct" and proto.config.get("tier") == "expert":
            errors.append(f"{where}: the expert tier's judge reads the hidden context; a human judges it elsewhere")
    humans = spec_human_ids(spec)
    if judge_id is None:
        if len(humans) != 1:
            errors.append(
                "--judge-id: give your judge id"
                + (f" (this spec's human judges: {', '.join(humans)})" if humans else "")
            )
    else:
        try:
            check_judge_id(judge_id)
        except ValueError as err:
            errors.append(f"--judge-id: {err}")
        if humans and judge_id not in humans:
            errors.append(f"--judge-id: {judge_id!r} is not among this spec's human judges ({', '.join(humans)})")
    interactive = [
        i for i, p in enumerate(spec.protocols) if p.name in INTERACTIVE_PROTOCOLS and p.config.get("interactive")
    ]
    if min_rounds is not None:
        if min_rounds < 1:
            errors.append(f"--min-rounds: must be >= 1, got {min_rounds}")
        if not interactive:
            errors.append("--min-rounds: this spec has no interactive debate or consultancy to end early")
    if errors:
        raise SpecError(errors)
    person = judge_id if judge_id is not None else humans[0]

    data: dict[str, Any] = spec.model_dump()
    data["concurrency"] = 1  # one episode at a time: the person watches each one arrive
    if not humans:
        data["judges"] = [{"human": person}]
        data["roles"] = {k: v for k, v in data["roles"].items() if k != "judge"}
    if min_rounds is not None:
        for i in interactive:
            config = data["protocols"][i]["config"]
            config["judge"] = {**(config.get("judge") or {}), "min_rounds": min_rounds}
    return Experiment.from_dict(data, source="live session", base_dir=spec.base_dir), person


__all__ = [
    "INTERACTIVE_PROTOCOLS",
    "LIVE_PROTOCOLS",
    "EpisodeStarted",
    "LiveEvent",
    "LiveWatcher",
    "TurnsShown",
    "Waiting",
    "live_spec",
    "spec_human_ids",
]
