"""Flatten episodes into the few facts the comparison needs, once, so every statistic reads the same numbers.

Conventions (stated in the report too):
* an episode that raised (`error` set) is an infrastructure failure: it is counted in `errors` and left out of
  every statistic;
* a pending final judgment (a human who has not judged yet) is counted in `pending` and left out of every
  statistic: never counted as wrong;
* an invalid or missing final judgment counts as a wrong answer in accuracy, and is counted in `invalid`;
* calibration uses only judgments that carry probabilities;
* a re-judged episode is reported under the label, task, question and seed of the episode whose transcript it
  judged, so its judge is compared with the original one on the identical transcript (`transcript`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from oversight.episode import (
    Episode,
    Judgment,
    MarketTrace,
    ProtocolResult,
    SupervisionScore,
    answered,
    report_judge,
    report_label,
    scored_correct,
)
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
    supervision: dict[str, SupervisionScore] = field(default_factory=dict)  # overseer -> its check
    pending: bool = False  # the final judgment waits for a human
    transcript: str = ""  # the id of the episode whose agents made the transcript judged
    first_picks: list[bool] = field(default_factory=list)  # per verdict (both orders of a swap): first shown picked?
    position_bias: float | None = None  # a swapped judgment's mean p(first shown) - 1/k
    swap_consistent: bool | None = None  # a swapped judgment: both orders picked the same answer
    votes: list[int] | None = None  # a jury's votes per choice
    jury_entropy: float | None = None
    jury_agreement: float | None = None
    choices: list[str] = field(default_factory=list)
    #: role -> mean share of its speech words inside verified quotes (roles whose turns were checked)
    quote_coverage: dict[str, float] = field(default_factory=dict)
    order_shown: list[int] = field(default_factory=list)  # choice indices in the order the judge saw them
    market: MarketTrace | None = None  # a market's predictions of the judge (market making)

    @property
    def item(self) -> tuple[str, str, int]:
        return (self.task, self.question_id, self.seed)

    @property
    def scored(self) -> bool:
        """Whether the record enters the statistics: it neither errored nor waits for a human."""
        return not self.errored and not self.pending


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


def first_shown_picks(j: Judgment) -> list[bool]:
    """Whether each verdict behind `j` picked the answer shown first: both orders of a swapped judgment, else `j`
    itself (nothing for invalid verdicts or unknown orders)."""
    verdicts = j.parts if j.position is not None else [j]
    out = []
    for v in verdicts:
        order = v.provenance.order_shown
        if v.valid and not v.pending and v.choice is not None and order:
            out.append(v.choice == order[0])
    return out


def to_record(ep: Episode, task: str) -> Record:
    """The `Record` of one episode, its task named by the caller (a re-judged episode keeps its source's)."""
    final = ep.final
    valid = answered(final)
    gold = ep.gold
    result = ProtocolResult.read(ep.meta)
    source = result.source
    position = final.position if final is not None else None
    jury = final.jury if final is not None else None
    consistent = None
    if position is not None and final is not None and len(final.parts) == 2 and all(p.valid for p in final.parts):
        consistent = final.parts[0].choice == final.parts[1].choice
    rounds = ep.protocol_config.get("rounds")
    probs = list(final.probabilities) if valid and final is not None and final.probabilities else None
    interim = [scored_correct(j, gold, ep.gold_answers) for j in ep.judgments]
    return Record(
        label=report_label(ep),
        protocol=source.protocol if source and source.protocol else ep.protocol,
        judge=report_judge(ep),
        task=source.task if source and source.task else task,
        question_id=source.question if source and source.question else ep.question_id,
        seed=source.seed if source else ep.seed,
        tier=result.tier,
        gold=gold,
        choice=final.choice if final is not None else None,
        valid=valid,
        correct=bool(scored_correct(final, gold, ep.gold_answers)),
        errored=ep.error is not None,
        probabilities=probs,
        tokens=ep.tokens,
        cost=ep.cost,
        latency=_latency(ep),
        rounds=rounds if isinstance(rounds, int) else None,
        interim_correct=interim,
        debaters=_debaters(ep, result),
        supervision=result.supervision,
        pending=bool(final is not None and final.pending),
        transcript=(source.transcript or source.episode) if source else ep.id,
        first_picks=first_shown_picks(final) if final is not None and valid else [],
        position_bias=position.bias if position is not None else None,
        swap_consistent=consistent,
        votes=list(jury.votes) if jury is not None and jury.valid else None,
        jury_entropy=jury.entropy if jury is not None else None,
        jury_agreement=jury.agreement if jury is not None else None,
        choices=list(ep.choices),
        quote_coverage=coverage_by_role(ep.turns),
        order_shown=list(result.order_shown),
        market=result.market,
    )


def to_records(episodes: Iterable[Episode], task_of: Callable[[Episode], str]) -> list[Record]:
    """Records of the episodes that have a gold answer (others cannot be scored and are skipped)."""
    return [to_record(ep, task_of(ep)) for ep in episodes if ep.scorable]
