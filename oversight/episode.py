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
    rubric: str | None = None  # what the judge was told "correct" means: a prompt file, a program, instructions
    rubric_hash: str | None = None  # hash of the rubric's text (equal to its hash in spec.json's prompt hashes)
    rubric_author: str | None = None  # who wrote the rubric: "oversight" (shipped), "user" (an override), ...
    judge: str = ""  # model + prompt hash, or a human judge id
    aggregation: str | None = None  # how several judgments became one (majority, mean probability, ...)
    order_shown: list[int] | None = None  # choice indices in the order the judge saw them
    #: juries: whether jurors' disagreement is information to report ("signal") or error to average out ("noise")
    disagreement: Literal["signal", "noise"] | None = None
    persona: str | None = None  # a persona juror's persona (a prompt on its model)
    population: str | None = None  # the population a juror stands for (a label of the spec's)


class JudgeView(BaseModel):
    """What a judge was shown, recorded so the view can be rebuilt from the episode alone (re-judging).

    `turns` index the episode's turns shown, in order; the question as asked, the answer order, the speaker names
    and the view's fields complete it. `context` is set only when the view showed the hidden context (the expert
    tier). `oversight.judge_view.rebuild_view` turns it back into the identical `View`.
    """

    role: str = "judge"
    task: str = "decide"
    round: int = 0
    rounds: int = 1
    seed: int = 0
    word_limit: int | None = None
    answer: int | None = None
    order: list[int] = Field(default_factory=list)
    turns: list[int] = Field(default_factory=list)
    names: dict[str, str] = Field(default_factory=dict)  # speaker names shown, where not the default one
    question: str = ""
    context: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


class PositionCheck(BaseModel):
    """A position-swapped judgment: the judge decided twice, with the answer order (and A/B speaker labels) swapped.

    Per order: the order shown, the probability the judge put on the answer shown first (None: that verdict was
    invalid) and whether it picked that answer. `bias` is the mean of those probabilities minus 1/k (k answers):
    0 for a judge whom the order does not move, (k-1)/k for one that always backs the first answer shown.
    `used` says which verdicts the final probabilities average; `tie` that the average left answers level and a
    seeded coin picked among them.
    """

    orders: list[list[int]]
    p_first: list[float | None]
    picked_first: list[bool | None]
    bias: float | None = None
    used: Literal["both", "first", "second", "none"] = "both"
    tie: bool = False


class JuryStats(BaseModel):
    """How a jury decided: the rule, the votes per choice, and how much the jurors disagreed.

    `entropy` is the Shannon entropy (bits) of the valid votes, `agreement` the share of juror pairs that chose
    alike (None with fewer than two valid votes), `welfare` the rule's value per choice (welfare rules only).
    """

    rule: str
    aggregate: str
    alpha: float | None = None
    threshold: float | None = None
    jurors: int
    valid: int
    pending: int = 0
    votes: list[int] = Field(default_factory=list)
    entropy: float | None = None
    agreement: float | None = None
    welfare: list[float] | None = None
    tie: bool = False
    seed: str = ""  # seeds the tie-break coin (so a pending juror's late verdict re-aggregates the same way)

    model_config = ConfigDict(ser_json_inf_nan="constants")  # alpha may be inf (the minimum rule)


class Judgment(BaseModel):
    """A judge's decision: a probability per choice and the chosen index. `valid=False` when unparseable.

    `pending=True` marks a human judgment not given yet (offline judging): neither valid nor invalid, never
    scored. `parts` holds the judgments this one combines (the two orders of a swapped judge, every juror of a
    jury); `view` records what the judge saw (for re-judging); `position` and `jury` describe swapped and jury
    decisions; `meta` holds judge-specific detail (a human judge's trajectory, a simulated judge's scores).
    """

    judge: str
    probabilities: list[float] | None = None
    choice: int | None = None
    #: the free-form answer, for questions without choices (scored against the question's gold answers)
    answer: str | None = None
    valid: bool = True
    method: Literal[
        "logprobs", "stated", "parsed", "majority", "human", "program", "swap", "jury", "simulated"
    ] = "parsed"
    rationale: str = ""
    attempts: int = 1
    provenance: Provenance = Field(default_factory=Provenance)
    pending: bool = False
    view: JudgeView | None = None
    parts: list[Judgment] = Field(default_factory=list)
    position: PositionCheck | None = None
    jury: JuryStats | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    def leaves(self) -> list[Judgment]:
        """This judgment's innermost parts (itself when it has none), depth first."""
        if not self.parts:
            return [self]
        return [leaf for part in self.parts for leaf in part.leaves()]


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
    #: gold answers of a question without choices (its `meta["answers"]`), scored by `answers_match`
    gold_answers: list[str] = Field(default_factory=list)
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

    @property
    def scorable(self) -> bool:
        """Whether the episode has a gold answer to be scored against (a choice, or free-form gold answers)."""
        return self.gold is not None or bool(self.gold_answers)


def report_label(ep: Episode) -> str:
    """The protocol label an episode is reported under: its entry's label (default the protocol name), or, for a
    re-judged episode, the label of the episode whose transcript it judged."""
    source = ep.meta.get("source")
    if isinstance(source, dict) and source.get("label"):
        return str(source["label"])
    return str(ep.meta.get("label") or ep.protocol)


def report_judge(ep: Episode) -> str:
    """The judge an episode is reported under: its judge entry's name (else the judge role's model); for a
    re-judged episode whose re-judging entry has a label, `name/label` (one judge, judging in two ways)."""
    judge = ep.judge or ep.roles.get("judge", "")
    if isinstance(ep.meta.get("source"), dict) and ep.meta.get("label"):
        return f"{judge}/{ep.meta['label']}"
    return judge


def episode_id(
    experiment: str, question_id: str, protocol_config: dict[str, Any], roles: dict[str, str], seed: int
) -> str:
    """Stable id of an episode: the same inputs give the same id, so resume is exact."""
    return stable_hash(
        {"e": experiment, "q": question_id, "p": protocol_config, "r": roles, "s": seed},
        length=20,
    )


class SupervisionScore(BaseModel):
    """One overseer's check of a protocol's answer: `process` supervision checks every step of the work, `outcome`
    supervision only the final answer. Step counts cover the checked steps that have a gold answer."""

    model_config = ConfigDict(extra="forbid")

    #: whether the overseer accepted the answer (None: it gave no valid check)
    accepted: bool | None = None
    #: whether accepting or rejecting was right: `accepted` == (the answer is correct); None without both
    correct: bool | None = None
    #: checks made (valid ones)
    checked: int = 0
    #: checked steps with a gold answer to compare with
    gold_steps: int = 0
    #: checked steps whose answer contradicts their gold answer
    wrong_steps: int = 0
    #: wrong steps the overseer rejected
    caught: int = 0
    #: steps matching their gold answer that the overseer rejected
    false_alarms: int = 0


#: how a move of a market's prediction is measured: total variation, KL(new ‖ old), or |Δp| on one answer
ShiftMeasure = Literal["tv", "kl", "answer"]


class MarketTrace(BaseModel):
    """A market's predictions of its judge's final distribution over one episode (market making): p_0 before any
    argument, then one per step. Distributions are indexed like the question's choices; None marks a prediction
    that gave no usable distribution. `shifts[t-1]` is how far p_t moved from p_{t-1} under `measure` (None when
    either is None); `stopped_early` that the market was stable before the last configured step."""

    model_config = ConfigDict(extra="forbid")

    measure: ShiftMeasure = "tv"
    trajectory: list[list[float] | None] = Field(default_factory=list)
    shifts: list[float | None] = Field(default_factory=list)
    stopped_early: bool = False

    @property
    def final(self) -> list[float] | None:
        """The market's last prediction (p_T; None when it was invalid or there is none)."""
        return self.trajectory[-1] if self.trajectory else None


class EpisodeSource(BaseModel):
    """A re-judged episode's link to the episode it judged again: run, episode id, which judgment's view, and the
    source's label, task, judge and protocol (so `oversight compare` pairs judges on identical transcripts)."""

    run: str
    run_id: str = ""
    episode: str
    judgment: int = -1  # index into the source episode's judgments of the one whose view was rebuilt
    label: str = ""
    task: str = ""
    judge: str = ""
    protocol: str = ""
    transcript: str = ""  # the episode whose agents made the transcript (the source's own source, if re-judged)
    question: str = ""  # the source episode's question id
    seed: int = 0  # the source episode's seed


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
    #: overseer ("process", "outcome") -> its check of the protocol's answer (protocols with overseers only)
    supervision: dict[str, SupervisionScore] = Field(default_factory=dict)
    #: a market's predictions of the judge over the episode (market making; None for other protocols)
    market: MarketTrace | None = None
    #: the recorded episode whose transcript this one judged again (None: the transcript was made here)
    source: EpisodeSource | None = None

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


def answered(judgment: Judgment | None) -> bool:
    """Whether `judgment` gives a usable answer: valid, not pending, and a choice (or a free-form answer)."""
    if judgment is None or judgment.pending or not judgment.valid:
        return False
    return judgment.choice is not None or judgment.answer is not None


def scored_correct(final: Judgment | None, gold: int | None, gold_answers: Sequence[str] = ()) -> bool | None:
    """Whether `final` is right: its choice is `gold`, or (a question without choices) its free-form answer
    matches one of `gold_answers` (`oversight.tasks.answers.answers_match`: numbers by value, text normalised).
    None when there is no gold answer or no usable (or a pending) final judgment."""
    if not answered(final):
        return None
    assert final is not None
    if gold is not None:
        return None if final.choice is None else final.choice == gold
    if gold_answers and final.answer is not None:
        from oversight.tasks.answers import answers_match

        return any(answers_match(final.answer, g) for g in gold_answers)
    return None


def _nested(j: Judgment) -> list[Judgment]:
    return [n for p in j.parts for n in (p, *_nested(p))]


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
    for top in judgments:
        for j in (top, *_nested(top)):
            if not j.provenance.gold_source:
                j.provenance.gold_source = source
    gold = shown.answer
    gold_answers = [] if shown.choices else [str(a) for a in shown.meta.get("answers") or []]
    final = judgments[-1] if judgments else None
    correct = scored_correct(final, gold, gold_answers) if error is None else None
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
        gold_answers=gold_answers,
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
    "EpisodeSource",
    "JudgeView",
    "Judgment",
    "JuryStats",
    "MarketTrace",
    "PositionCheck",
    "Outcome",
    "ProtocolResult",
    "Provenance",
    "Quote",
    "ShiftMeasure",
    "SupervisionScore",
    "Turn",
    "assemble_episode",
    "episode_id",
    "report_judge",
    "report_label",
    "scored_correct",
]
