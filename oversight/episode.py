"""What one protocol run on one question records: turns, judgments, correctness, cost, provenance."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from oversight.hashing import stable_hash
from oversight.types import ChatMessage, Usage


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
