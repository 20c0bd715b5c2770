"""Consultancy: one consultant argues an answer to the judge for R rounds; the judge then decides.

Assigned (default): the consultant argues the correct or the incorrect answer, balanced exactly across a run
(the runner's balance rank; a hash of (question id, seed) when called directly). Interactive: the judge asks a
question between rounds. Open: the consultant picks its side
first (recorded); the judge never sees that choice being made.
"""

from __future__ import annotations

from pydantic import Field

from agents.base import Arguer
from agents.consultant import Consultant
from judges.base import Judge
from oversight.counterbalance import Balance, SidePolicy, answer_order, assigned_side
from oversight.episode import Outcome, ProtocolResult
from oversight.protocol_registry import EpisodeSetup, ProtocolEntry
from oversight.transcript import Transcript
from oversight.types import Question
from protocols.kit import (
    PersuasionSettings,
    RetrievalSettings,
    SpeechConfig,
    balance_of,
    ended,
    identities,
    judge_for,
    judge_question,
    persuasive,
    settle,
    speech_max_tokens,
    two_choices,
)


class ConsultancyConfig(SpeechConfig):
    """Rounds, variant switches, word limits and quote checking of a consultancy."""

    rounds: int = Field(default=2, ge=1)
    interactive: bool = False  # the judge asks a question between rounds
    open: bool = False  # the consultant picks its side
    side: SidePolicy = "balanced"  # assigned side (ignored when open)
    persuasion: PersuasionSettings = Field(default_factory=PersuasionSettings)
    retrieval: RetrievalSettings | None = None  # a programmatic consultant instead of an LLM (no consultant model)

    OMIT_AT_DEFAULT = ("persuasion", "retrieval")


class ConsultancyResult(ProtocolResult):
    """`sides["consultant"]` is the answer argued; `consultant_correct` whether it is the gold one (None without
    gold); `chosen` (open only) whether the consultant made a usable pick."""

    consultant_correct: bool | None = None
    open: bool = False
    chosen: bool | None = None


async def consultancy(
    question: Question,
    consultant: Arguer,
    judge: Judge,
    cfg: ConsultancyConfig,
    seed: int = 0,
    balance: Balance | None = None,
) -> Outcome:
    """Run one consultancy on `question` (reduced to two answers). Returns the Outcome; its `ConsultancyResult`
    records the side argued, whether it was correct, and (open variant) whether the consultant chose it."""
    q, reduced = two_choices(question, seed)
    bal = balance_of(q, seed, balance)
    t = Transcript.start(
        q, seed=seed, order=answer_order(q, cfg.order, bal), context_roles={"consultant"}, rounds=cfg.rounds
    )
    result = ConsultancyResult(open=cfg.open, two_answer=reduced)
    # the assigned side (balanced), also the fallback when an open consultant gives no usable pick
    side = assigned_side(q, "balanced" if cfg.open else cfg.side, bal)

    if cfg.open:
        pick = await consultant.choose(t.view_for("consultant", task="choose"))
        t.add(
            settle(pick, role="consultant", round=0, answer=pick.answer, word_limit=None, context=None), visible=False
        )
        if pick.answer is not None:
            side = pick.answer
        result.chosen = pick.answer is not None

    last = cfg.rounds - 1  # the last round played (earlier when the judge ends the consultancy)
    for rnd in range(cfg.rounds):
        view = t.view_for("consultant", answer=side, round=rnd, word_limit=cfg.word_limit)
        speech = await consultant.argue(view)
        t.add(
            settle(
                speech,
                role="consultant",
                round=rnd,
                answer=side,
                word_limit=cfg.word_limit,
                context=q.context,
                quotes=cfg.quotes,
            )
        )
        if cfg.interactive and rnd < cfg.rounds - 1:
            if ended(await judge_question(t, judge, rnd, cfg.question_word_limit)):
                last = rnd
                break

    verdict = await judge.decide(t.view_for("judge", task="decide", round=last))
    result.sides = {"consultant": side}
    if q.answer is not None:
        result.consultant_correct = side == q.answer
        result.honest = "consultant" if side == q.answer else None
    result.agents = identities(consultant=consultant, judge=judge)
    return t.close(verdict, result=result)


async def run(setup: EpisodeSetup) -> Outcome:
    """Registry entry point: an LLM `Consultant` on the `consultant` model (or with `retrieval` set a programmatic
    `RetrievalArguer`), and the judge of the spec's judge entry."""
    cfg = setup.config_as(ConsultancyConfig)
    agent: Arguer
    if cfg.retrieval is not None:
        agent = cfg.retrieval.build()
    else:
        agent = Consultant(
            setup.model("consultant"), temperature=cfg.temperature, max_tokens=speech_max_tokens(cfg.word_limit)
        )
    consultant = persuasive(agent, setup, cfg, cfg.persuasion)
    return await consultancy(setup.question, consultant, judge_for(setup, cfg), cfg, setup.seed, setup.balance)


def _roles(cfg: object) -> tuple[str, ...]:
    """The roles a consultancy config needs beyond the judge: the consultant's model (unless it is programmatic)
    and the persuasion settings' roles."""
    if not isinstance(cfg, ConsultancyConfig):
        return ("consultant",)
    return ("consultant",) * (cfg.retrieval is None) + cfg.persuasion.roles()


CONSULTANCY = ProtocolEntry(
    name="consultancy",
    config=ConsultancyConfig,
    roles=("judge",),
    optional_roles=("consultant", "preference", "critic"),
    config_roles=_roles,
    run=run,
    description="One consultant argues an assigned (or chosen) answer to the judge for R rounds.",
)
