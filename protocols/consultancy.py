"""Consultancy: one consultant argues an answer to the judge for R rounds; the judge then decides.

Assigned (default): the consultant argues the correct or the incorrect answer, balanced exactly across a run
(the runner's balance rank; a hash of (question id, seed) when called directly). Interactive: the judge asks a
question between rounds. Open: the consultant picks its side
first (recorded); the judge never sees that choice being made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.base import Arguer
from agents.consultant import Consultant
from judges.base import Judge
from judges.llm_judge import LLMJudge
from oversight.episode import Episode
from oversight.models.base import Model
from oversight.protocol_registry import ProtocolEntry
from oversight.quotes import QuoteConfig
from oversight.transcript import Transcript, limit_words
from oversight.types import Question
from protocols._common import (
    balance_bits,
    choice_order,
    identities,
    model_names,
    settle,
    speech_max_tokens,
    two_choices,
)


class ConsultancyConfig(BaseModel):
    """Rounds, variant switches, word limits and quote checking of a consultancy."""

    model_config = ConfigDict(extra="forbid")

    rounds: int = Field(default=2, ge=1)
    interactive: bool = False  # the judge asks a question between rounds
    open: bool = False  # the consultant picks its side
    side: Literal["balanced", "correct", "incorrect"] = "balanced"  # assigned side (ignored when open)
    order: Literal["balanced", "correct_first", "correct_second"] = "balanced"
    word_limit: int | None = Field(default=150, ge=1)
    question_word_limit: int | None = Field(default=40, ge=1)
    quotes: QuoteConfig = Field(default_factory=QuoteConfig)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)  # None: each role's own setting
    judge_max_retries: int = Field(default=2, ge=0)
    use_logprobs: bool = True


async def consultancy(
    question: Question,
    consultant: Arguer,
    judge: Judge,
    cfg: ConsultancyConfig,
    seed: int = 0,
    roles: Mapping[str, str] | None = None,
) -> Episode:
    """Run one consultancy on `question` (reduced to two answers). Returns the Episode; `meta` records the side
    argued, whether it was correct, and (open variant) whether the consultant chose it."""
    q, reduced = two_choices(question, seed)
    gold = q.answer if q.answer is not None else 0
    bits = balance_bits(q, seed)
    t = Transcript.start(
        q,
        protocol="consultancy",
        config=cfg,
        seed=seed,
        order=choice_order(q, cfg.order, seed),
        context_roles={"consultant"},
        roles=roles,
        rounds=cfg.rounds,
    )
    meta: dict = {"agents": identities(consultant=consultant, judge=judge)}

    if cfg.open:
        pick = await consultant.choose(t.view_for("consultant", task="choose"))
        t.add(
            settle(pick, role="consultant", round=0, answer=pick.answer, word_limit=None, context=None), visible=False
        )
        side = pick.answer if pick.answer is not None else (gold if not bits & 1 else 1 - gold)
        meta["chosen"] = pick.answer is not None
    else:
        argue_correct = cfg.side == "correct" or (cfg.side == "balanced" and not bits & 1)
        side = gold if argue_correct else 1 - gold

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
            asked = await judge.ask(t.view_for("judge", task="ask", round=rnd, word_limit=cfg.question_word_limit))
            asked.role, asked.round, asked.kind = "judge", rnd, "question"
            t.add(limit_words(asked, cfg.question_word_limit))

    verdict = await judge.decide(t.view_for("judge", task="decide", round=cfg.rounds - 1))
    meta.update(consultant_answer=side, consultant_correct=side == gold, open=cfg.open)
    if reduced is not None:
        meta["two_answer"] = reduced
    return t.close(verdict, meta=meta)


async def run(question: Question, models_by_role: Mapping[str, Model], config: BaseModel, seed: int) -> Episode:
    """Registry entry point: an LLM `Consultant` on the `consultant` model, an `LLMJudge` on the `judge` model."""
    cfg = config if isinstance(config, ConsultancyConfig) else ConsultancyConfig.model_validate(config)
    consultant = Consultant(
        models_by_role["consultant"], temperature=cfg.temperature, max_tokens=speech_max_tokens(cfg.word_limit)
    )
    judge = LLMJudge(
        models_by_role["judge"],
        max_retries=cfg.judge_max_retries,
        temperature=cfg.temperature,
        use_logprobs=cfg.use_logprobs,
    )
    return await consultancy(question, consultant, judge, cfg, seed, model_names(models_by_role))


CONSULTANCY = ProtocolEntry(
    name="consultancy",
    config=ConsultancyConfig,
    roles=("consultant", "judge"),
    run=run,
    description="One consultant argues an assigned (or chosen) answer to the judge for R rounds.",
)
