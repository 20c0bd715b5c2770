"""Flatten episodes into the few facts the comparison needs, once, so every statistic reads the same numbers.

Conventions (stated in the report too):
* an episode that raised (`error` set) is an infrastructure failure: it is counted in `errors` and left out of
  every statistic;
* an invalid or missing final judgment counts as a wrong answer in accuracy, and is counted in `invalid`;
* calibration uses only judgments that carry probabilities.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from oversight.episode import Episode, ProtocolResult
from oversight.quotes import coverage_by_role

#: Sandwiching tiers: episodes whose result sets `tier` to one of these.
NAIVE, EXPERT = "naive", "expert"


@dataclass(frozen=True, slots=True)
class Debater:
    """One debater of an episode: its role (the side it spoke from), model, the answer it argued."""

    role: str
    model: str
    answer: int


@dataclass(slots=True)
class Record:
    """What the comparison reads from one episode."""

    label: str  # the protocol entry's label (defaults to the protocol name)
    protocol: str
    judge: str
    task: str
    question_id: str
    seed: int
    tier: str | None  # "naive" / "expert" for direct episodes that set a tier
    gold: int | None
    choice: int | None
    valid: bool
    correct: bool  # invalid -> False
    errored: bool
    probabilities: list[float] | None
    tokens: int
    cost: float
    latency: float | None
    rounds: int | None
    interim_correct: list[bool | None] = field(default_factory=list)  # per judgment, last one final
    debaters: list[Debater] = field(default_factory=list)
    #: role -> mean share of its speech words inside verified quotes (roles whose turns were checked)
    quote_coverage: dict[str, float] = field(default_factory=dict)

    @property
    def item(self) -> tuple[str, str, int]:
        return (self.task, self.question_id, self.seed)


def _debater_model(ep: Episode, result: ProtocolResult, role: str, answer: int) -> str:
    """The model behind a debater role: its own role entry, else the correct/incorrect-side entry (asymmetric
    debates), else the shared `debater` entry, else the agent identity the protocol recorded, else the role."""
    side = "debater_correct" if answer == ep.gold else "debater_incorrect"
    return str(ep.roles.get(role) or ep.roles.get(side) or ep.roles.get("debater") or result.agents.get(role) or role)


def _debaters(ep: Episode, result: ProtocolResult) -> list[Debater]:
    """Who argued what, from the result's `sides` (role -> answer argued)."""
    return [Debater(role, _debater_model(ep, result, role, a), a) for role, a in sorted(result.sides.items())]


def _latency(ep: Episode) -> float | None:
    for key in ("duration", "wall"):
        if key in ep.timings:
            return float(ep.timings[key])
    return None


def to_record(ep: Episode, task: str) -> Record:
    """The `Record` of one episode, its task named by the caller."""
    final = ep.final
    valid = bool(final is not None and final.valid and final.choice is not None)
    gold = ep.gold
    result = ProtocolResult.read(ep.meta)
    rounds = ep.protocol_config.get("rounds")
    probs = list(final.probabilities) if valid and final is not None and final.probabilities else None
    interim = [
        (j.choice == gold) if (j.valid and j.choice is not None and gold is not None) else None for j in ep.judgments
    ]
    return Record(
        label=str(ep.meta.get("label") or ep.protocol),
        protocol=ep.protocol,
        judge=ep.judge or ep.roles.get("judge", ""),
        task=task,
        question_id=ep.question_id,
        seed=ep.seed,
        tier=result.tier,
        gold=gold,
        choice=final.choice if final is not None else None,
        valid=valid,
        correct=bool(valid and gold is not None and final is not None and final.choice == gold),
        errored=ep.error is not None,
        probabilities=probs,
        tokens=ep.tokens,
        cost=ep.cost,
        latency=_latency(ep),
        rounds=rounds if isinstance(rounds, int) else None,
        interim_correct=interim,
        debaters=_debaters(ep, result),
        quote_coverage=coverage_by_role(ep.turns),
    )


def to_records(episodes: Iterable[Episode], task_of: Callable[[Episode], str]) -> list[Record]:
    """Records of the episodes that have a gold answer (others cannot be scored and are skipped)."""
    return [to_record(ep, task_of(ep)) for ep in episodes if ep.gold is not None]
