"""What one protocol run on one question records: turns, judgments, correctness, cost, provenance.

A protocol returns an `Outcome` (its turns, judgments and a typed `ProtocolResult`); `assemble_episode` is the one
place an `Episode` is built from it, by the runner or by a caller running a protocol directly (`Outcome.episode`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from oversight.hashing import stable_hash
from oversight.types import ChatMessage, Question, Usage


class Quote(BaseModel):
    """A `<quote>` span an agent made, checked against the hidden context."""

    text: str
    verified: bool
    score: float = 0.0  # similarity to the best-matching context span, 0..1


class Turn(BaseModel):
    """One utterance. `seen` holds the exact messages sent to produce it (None for programmatic speakers)."""

    role: str  # role id, e.g. "debater_a", "consultant", "judge"
    content: str
    kind: str = "speech"  # speech | question | answer | judgment | ...
    round: int = 0
    seen: list[ChatMessage] | None = None
    answer: int | None = None  # index of the answer this speaker argues or claims
    quotes: list[Quote] = Field(default_factory=list)
    probability: float | None = None
    truncated: bool = False
    model: str | None = None
    usage: Usage = Field(default_factory=Usage)
    latency: float = 0.0
    cached: bool = False
    meta: dict[str, Any] = Field(default_factory=dict)


class Provenance(BaseModel):
    """Who defined "correct" and how a decision was reached (Kirk et al., The Empty Signifier Problem)."""

    gold_source: str = ""  # dataset + version, or generator + seed
    rubric: str | None = None
    rubric_hash: str | None = None
    rubric_author: str | None = None
    judge: str = ""  # model + prompt hash, or a human judge id
    aggregation: str | None = None  # how several judgments became one (majority, mean probability, ...)
    order_shown: list[int] | None = None  # choice indices in the order the judge saw them


class Judgment(BaseModel):
    """A judge's decision: a probability per choice and the chosen index. `valid=False` when unparseable."""

    judge: str
    probabilities: list[float] | None = None
    choice: int | None = None
    valid: bool = True
    method: Literal["logprobs", "stated", "parsed", "majority", "human", "program"] = "parsed"
    rationale: str = ""
    attempts: int = 1
    provenance: Provenance = Field(default_factory=Provenance)


class Episode(BaseModel):
    """One line of `episodes.jsonl`: a protocol run on one question under one seed."""

    id: str
    experiment: str = ""
    question_id: str
    protocol: str
    protocol_config: dict[str, Any] = Field(default_factory=dict)
    roles: dict[str, str] = Field(default_factory=dict)  # role -> model string
    judge: str = ""  # name of the judge entry this episode was judged by
    seed: int = 0
    gold: int | None = None
    choices: list[str] = Field(default_factory=list)
    turns: list[Turn] = Field(default_factory=list)
    judgments: list[Judgment] = Field(default_factory=list)
    correct: bool | None = None  # None when the final judgment is invalid or there is no gold answer
    tokens: int = 0
    cost: float = 0.0
    retries: int = 0  # model calls of this episode that failed transiently and were tried again
    timings: dict[str, float] = Field(default_factory=dict)
    error: str | None = None
    error_type: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @property
    def final(self) -> Judgment | None:
        return self.judgments[-1] if self.judgments else None


def episode_id(
    experiment: str, question_id: str, protocol_config: dict[str, Any], roles: dict[str, str], seed: int
) -> str:
    """Stable id of an episode: the same inputs give the same id, so resume is exact."""
    return stable_hash(
        {"e": experiment, "q": question_id, "p": protocol_config, "r": roles, "s": seed},
        length=20,
    )


class ProtocolResult(BaseModel):
    """What a protocol reports about an episode beyond turns and judgments; stored as the Episode's `meta`.

    The fields here are the ones `oversight.comparison` reads, whatever the protocol. A protocol's own result model
    subclasses this and adds its outcomes (a market's trajectory, a decomposition tree, ...).
    """

    model_config = ConfigDict(extra="forbid")

    #: choice indices in the order the judge was shown them
    order_shown: list[int] = Field(default_factory=list)
    #: role -> the choice index that role argued (debaters, a consultant); empty when nobody argued a side
    sides: dict[str, int] = Field(default_factory=dict)
    #: the role that argued the gold answer (None without a gold answer, or when nobody argued a side)
    honest: str | None = None
    #: sandwiching tier of a direct answer ("naive": the judge alone, "expert": with the hidden context)
    tier: Literal["naive", "expert"] | None = None
    #: role -> identity of the agent or judge in it (model + prompt hash, or a program name)
    agents: dict[str, str] = Field(default_factory=dict)
    #: how a many-choice question was reduced to two answers (None when it was not)
    two_answer: dict[str, Any] | None = None

    #: meta keys the runner adds beside a result (read back by `read`, never by a protocol)
    RUNNER_KEYS: ClassVar[tuple[str, ...]] = ("label", "task")

    @classmethod
    def read(cls, meta: Mapping[str, Any]) -> ProtocolResult:
        """The comparison-readable fields of an episode's `meta`, from this or an older version of the store
        (older debate runs recorded `answers` {role: answer}, older consultancy runs `consultant_answer`)."""
        values = {k: meta[k] for k in ProtocolResult.model_fields if k in meta}
        if "sides" not in values:
            declared = meta.get("answers")
            if isinstance(declared, dict):
                values["sides"] = {str(r): a for r, a in declared.items() if isinstance(a, int)}
            elif isinstance(meta.get("consultant_answer"), int):
                values["sides"] = {"consultant": meta["consultant_answer"]}
        try:
            return ProtocolResult.model_validate(values)
        except ValueError:
            return ProtocolResult()


@dataclass(slots=True)
class Outcome:
    """What a protocol returns: the question as shown (after any reduction to two answers), every turn in order
    (unseen judge attempts included), the judgments (the last is final) and the typed result."""

    question: Question
    turns: list[Turn]
    judgments: list[Judgment]
    result: ProtocolResult
    wall: float = 0.0
    extra_timings: dict[str, float] = field(default_factory=dict)

    @property
    def final(self) -> Judgment | None:
        return self.judgments[-1] if self.judgments else None

    def episode(self, **fields: Any) -> Episode:
        """This outcome as an Episode (ids and accounting from `fields`, see `assemble_episode`)."""
        return assemble_episode(self, question=self.question, **fields)


def gold_source(question: Question) -> str:
    """Who defined the gold answer: the dataset (and version) or generator the question came from."""
    src = question.source
    if src is None:
        return ""
    return src.dataset + (f"@{src.version}" if src.version else "")


def assemble_episode(
    outcome: Outcome | None,
    *,
    question: Question,
    protocol: str = "",
    id: str = "",
    experiment: str = "",
    protocol_config: dict[str, Any] | None = None,
    roles: Mapping[str, str] | None = None,
    judge: str = "",
    seed: int = 0,
    tokens: int | None = None,
    cost: float = 0.0,
    retries: int = 0,
    timings: Mapping[str, float] | None = None,
    error: BaseException | None = None,
    partial_turns: Sequence[Turn] = (),
    extra_meta: Mapping[str, Any] | None = None,
) -> Episode:
    """The one place an Episode is built: from a protocol's `outcome`, or (`outcome=None`) from the `error` it raised
    with whatever turns it had recorded (`partial_turns`: tokens already paid for are kept).

    Gold and choices are the question as shown. `correct` is None when the final judgment is invalid, the episode
    errored, or there is no gold answer (an explicit case, never choice 0). `tokens` defaults to the turns' usage.
    """
    shown = outcome.question if outcome is not None else question
    turns = list(outcome.turns) if outcome is not None else list(partial_turns)
    judgments = list(outcome.judgments) if outcome is not None else []
    source = gold_source(shown)
    for j in judgments:
        if not j.provenance.gold_source:
            j.provenance.gold_source = source
    gold = shown.answer
    final = judgments[-1] if judgments else None
    correct = None
    if error is None and final is not None and final.valid and final.choice is not None and gold is not None:
        correct = final.choice == gold
    meta: dict[str, Any] = outcome.result.model_dump(mode="json") if outcome is not None else {}
    if extra_meta:
        meta.update(extra_meta)
    all_timings = {"wall": outcome.wall, **outcome.extra_timings} if outcome is not None else {}
    all_timings.update(timings or {})
    if tokens is None:
        tokens = sum(t.usage.input_tokens + t.usage.output_tokens for t in turns)
    return Episode.model_construct(
        id=id,
        experiment=experiment,
        question_id=question.id,
        protocol=protocol,
        protocol_config=dict(protocol_config or {}),
        roles=dict(roles or {}),
        judge=judge,
        seed=seed,
        gold=gold,
        choices=list(shown.choices),
        turns=turns,
        judgments=judgments,
        correct=correct,
        tokens=tokens,
        cost=cost,
        retries=retries,
        timings=all_timings,
        error=None if error is None else (str(error) or repr(error)),
        error_type=None if error is None else type(error).__name__,
        meta=meta,
    )


__all__ = [
    "Episode",
    "Judgment",
    "Outcome",
    "ProtocolResult",
    "Provenance",
    "Quote",
    "Turn",
    "assemble_episode",
    "episode_id",
]
