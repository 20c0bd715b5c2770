"""Debate: two debaters argue the two answers for R rounds in front of a judge who cannot see the text.

Debater A defends the answer shown as A, Debater B the one shown as B. Which answer is shown first (so which
debater is honest) and who speaks first are counterbalanced independently: exactly across a run (the runner's
balance rank), else by a hash of (question id, seed).
Rounds are sequential (each speaker sees the speeches before it) or simultaneous (nobody sees the other's speech
of the current round). Variants: open (each debater picks a side; agreement recorded; if both pick the same, the
first speaker keeps it and the other is assigned the remaining answer), interactive (the judge asks a question
between rounds) and cross-examination (after each round each debater asks the other one question, who must answer).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.base import Arguer
from agents.debater import Debater
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

ROLES = ("debater_a", "debater_b")


class DebateConfig(BaseModel):
    """Rounds, variant switches, counterbalancing overrides, word limits and quote checking of a debate."""

    model_config = ConfigDict(extra="forbid")

    rounds: int = Field(default=2, ge=1)
    simultaneous: bool = False
    open: bool = False
    interactive: bool = False
    cross_examination: bool = False
    order: Literal["balanced", "correct_first", "correct_second"] = "balanced"  # answer shown as A
    first_speaker: Literal["balanced", "a", "b"] = "balanced"
    word_limit: int | None = Field(default=150, ge=1)
    question_word_limit: int | None = Field(default=40, ge=1)
    quotes: QuoteConfig = Field(default_factory=QuoteConfig)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)  # None: each role's own setting
    judge_max_retries: int = Field(default=2, ge=0)
    use_logprobs: bool = True


async def debate(
    question: Question,
    debaters: Sequence[Arguer],
    judge: Judge,
    cfg: DebateConfig,
    seed: int = 0,
    roles: Mapping[str, str] | None = None,
) -> Episode:
    """Run one debate on `question` (reduced to two answers). `debaters` is (the one arguing the correct answer,
    the one arguing the incorrect answer); in the open variant it is simply two debaters who choose.

    Returns the Episode; `meta` records each role's answer, the honest role, order shown, speaking order and
    (open) the choices and whether the debaters agreed. Raises ValueError unless there are exactly two debaters.
    """
    if len(debaters) != 2:
        raise ValueError(f"debate needs exactly two debaters, got {len(debaters)}")
    q, reduced = two_choices(question, seed)
    gold = q.answer if q.answer is not None else 0
    bits = balance_bits(q, seed)
    order = choice_order(q, cfg.order, seed)
    first = {"a": 0, "b": 1}.get(cfg.first_speaker, (bits >> 2) & 1)
    speakers = (ROLES[first], ROLES[1 - first])
    t = Transcript.start(
        q,
        protocol="debate",
        config=cfg,
        seed=seed,
        order=order,
        context_roles=ROLES,
        roles=roles,
        rounds=cfg.rounds,
    )
    answer_of = {"debater_a": order[0], "debater_b": order[1]}  # Debater A defends the answer shown as A
    meta: dict[str, Any] = {}

    if cfg.open:
        agent_of, meta["open"] = await _choose_sides(t, debaters, order, first)
    else:
        honest, liar = debaters
        agent_of = {r: honest if answer_of[r] == gold else liar for r in ROLES}

    def view(role: str, rnd: int, task: str = "argue", limit: int | None = cfg.word_limit, **kw: Any) -> Any:
        return t.view_for(role, task=task, answer=answer_of[role], round=rnd, word_limit=limit, **kw)

    def done(turn: Any, role: str, rnd: int, limit: int | None = cfg.word_limit) -> Any:
        return settle(
            turn, role=role, round=rnd, answer=answer_of[role], word_limit=limit, context=q.context, quotes=cfg.quotes
        )

    for rnd in range(cfg.rounds):
        if cfg.simultaneous:  # nobody sees this round's other speech
            views = [view(r, rnd, hide_round=rnd) for r in speakers]
            speeches = await asyncio.gather(*(agent_of[r].argue(v) for r, v in zip(speakers, views, strict=True)))
            t.add(*(done(s, r, rnd) for r, s in zip(speakers, speeches, strict=True)))
        else:  # each speaks after seeing the speeches before it
            for r in speakers:
                t.add(done(await agent_of[r].argue(view(r, rnd)), r, rnd))
        if cfg.cross_examination:
            for asker, other in (speakers, speakers[::-1]):
                limit = cfg.question_word_limit
                asked = done(await agent_of[asker].ask(view(asker, rnd, "ask", limit)), asker, rnd, limit)
                asked.kind, asked.meta["to"] = "question", other
                t.add(asked)
                reply = done(await agent_of[other].answer(view(other, rnd, "answer")), other, rnd)
                reply.kind, reply.meta["to"] = "answer", asker
                t.add(reply)
        if cfg.interactive and rnd < cfg.rounds - 1:
            asked = await judge.ask(t.view_for("judge", task="ask", round=rnd, word_limit=cfg.question_word_limit))
            asked.role, asked.round, asked.kind = "judge", rnd, "question"
            t.add(limit_words(asked, cfg.question_word_limit))

    verdict = await judge.decide(t.view_for("judge", task="decide", round=cfg.rounds - 1))
    meta.update(
        agents=identities(**agent_of, judge=judge),
        answers=answer_of,
        honest=next(r for r in ROLES if answer_of[r] == gold),
        correct_first=order[0] == gold,
        speaking_order=list(speakers),
    )
    if reduced is not None:
        meta["two_answer"] = reduced
    return t.close(verdict, meta=meta)


async def _choose_sides(
    t: Transcript, debaters: Sequence[Arguer], order: tuple[int, ...], first: int
) -> tuple[dict[str, Arguer], dict[str, Any]]:
    """Open debate: both debaters pick a side without seeing each other's pick. The first speaker's debater keeps
    its pick when they agree (or when only it chose); the other gets the remaining answer."""
    picks = await asyncio.gather(*(d.choose(t.view_for(ROLES[i], task="choose")) for i, d in enumerate(debaters)))
    chosen = [p.answer for p in picks]
    lead = first  # the debater that speaks first keeps its choice
    lead_pick = chosen[lead] if chosen[lead] is not None else chosen[1 - lead]
    if lead_pick is None:
        lead_pick = order[lead]  # neither chose: fall back to positional assignment
        lead_gets = lead_pick
    elif chosen[lead] is None:
        lead_gets = 1 - lead_pick  # only the other debater chose: honour its choice
    else:
        lead_gets = lead_pick
    gets = {lead: lead_gets, 1 - lead: 1 - lead_gets}
    role_of_answer = {order[0]: ROLES[0], order[1]: ROLES[1]}
    agent_of = {role_of_answer[gets[i]]: debaters[i] for i in (0, 1)}
    for i, p in enumerate(picks):
        p.role, p.kind = role_of_answer[gets[i]], "choice"
        t.add(p, visible=False)
    info = {
        "choices": chosen,
        "agreed": chosen[0] is not None and chosen[0] == chosen[1],
        "forced": [chosen[i] != gets[i] for i in (0, 1)],
    }
    return agent_of, info


async def run(question: Question, models_by_role: Mapping[str, Model], config: BaseModel, seed: int) -> Episode:
    """Registry entry point: LLM `Debater`s on the `debater` model (or `debater_correct` / `debater_incorrect`
    for asymmetric studies) and an `LLMJudge` on the `judge` model."""
    cfg = config if isinstance(config, DebateConfig) else DebateConfig.model_validate(config)
    max_tokens = speech_max_tokens(cfg.word_limit)

    def debater(role: str) -> Debater:
        model = models_by_role.get(role) or models_by_role["debater"]
        return Debater(model, temperature=cfg.temperature, max_tokens=max_tokens)

    judge = LLMJudge(
        models_by_role["judge"],
        max_retries=cfg.judge_max_retries,
        temperature=cfg.temperature,
        use_logprobs=cfg.use_logprobs,
    )
    debaters = (debater("debater_correct"), debater("debater_incorrect"))
    return await debate(question, debaters, judge, cfg, seed, model_names(models_by_role))


DEBATE = ProtocolEntry(
    name="debate",
    config=DebateConfig,
    roles=("debater", "judge"),
    optional_roles=("debater_correct", "debater_incorrect"),
    run=run,
    description="Two debaters argue the two answers for R rounds; the judge, without the text, decides.",
)
