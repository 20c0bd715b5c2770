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
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from agents.base import Arguer
from agents.debater import Debater
from judges.base import Judge
from oversight.counterbalance import Balance, SpeakerPolicy, answer_order, speaking_order
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

ROLES = ("debater_a", "debater_b")


class DebateConfig(SpeechConfig):
    """Rounds, variant switches, counterbalancing overrides, word limits and quote checking of a debate."""

    rounds: int = Field(default=2, ge=1)
    simultaneous: bool = False
    open: bool = False
    interactive: bool = False
    cross_examination: bool = False
    first_speaker: SpeakerPolicy = "balanced"
    persuasion: PersuasionSettings = Field(default_factory=PersuasionSettings)
    retrieval: RetrievalSettings | None = None  # programmatic debaters instead of LLMs (no debater model)

    OMIT_AT_DEFAULT = ("persuasion", "retrieval")


class OpenChoice(BaseModel):
    """Open debate: what each debater picked (None: no usable pick), whether they agreed, who was overruled."""

    choices: list[int | None]
    agreed: bool
    forced: list[bool]


class DebateResult(ProtocolResult):
    """`sides` holds each debater's answer, `honest` the one defending the gold answer."""

    correct_first: bool | None = None
    speaking_order: list[str] = Field(default_factory=list)
    open: OpenChoice | None = None


async def debate(
    question: Question,
    debaters: Sequence[Arguer],
    judge: Judge,
    cfg: DebateConfig,
    seed: int = 0,
    balance: Balance | None = None,
) -> Outcome:
    """Run one debate on `question` (reduced to two answers). `debaters` is (the one arguing the correct answer,
    the one arguing the incorrect answer); in the open variant, or without a gold answer, it is simply two
    debaters (the first defends the answer shown first, or chooses first).

    Returns the Outcome; its `DebateResult` records each role's answer, the honest role, order shown, speaking
    order and (open) the choices and whether the debaters agreed. Raises ValueError unless there are exactly two
    debaters.
    """
    if len(debaters) != 2:
        raise ValueError(f"debate needs exactly two debaters, got {len(debaters)}")
    q, reduced = two_choices(question, seed)
    gold = q.answer
    bal = balance_of(q, seed, balance)
    order = answer_order(q, cfg.order, bal)
    speakers = speaking_order(ROLES, cfg.first_speaker, bal)
    t = Transcript.start(q, seed=seed, order=order, context_roles=ROLES, rounds=cfg.rounds)
    answer_of = {"debater_a": order[0], "debater_b": order[1]}  # Debater A defends the answer shown as A
    result = DebateResult(
        sides=answer_of,
        honest=None if gold is None else next(r for r in ROLES if answer_of[r] == gold),
        correct_first=None if gold is None else order[0] == gold,
        speaking_order=list(speakers),
        two_answer=reduced,
    )

    if cfg.open:
        agent_of, result.open = await _choose_sides(t, debaters, order, ROLES.index(speakers[0]))
    elif gold is None:
        agent_of = dict(zip(ROLES, debaters, strict=True))
    else:
        honest, liar = debaters
        agent_of = {r: honest if answer_of[r] == gold else liar for r in ROLES}

    def view(role: str, rnd: int, task: str = "argue", limit: int | None = cfg.word_limit, **kw: Any) -> Any:
        return t.view_for(role, task=task, answer=answer_of[role], round=rnd, word_limit=limit, **kw)

    def done(turn: Any, role: str, rnd: int, limit: int | None = cfg.word_limit) -> Any:
        return settle(
            turn, role=role, round=rnd, answer=answer_of[role], word_limit=limit, context=q.context, quotes=cfg.quotes
        )

    last = cfg.rounds - 1  # the last round played (earlier when the judge ends the debate)
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
            if ended(await judge_question(t, judge, rnd, cfg.question_word_limit)):
                last = rnd
                break

    verdict = await judge.decide(t.view_for("judge", task="decide", round=last))
    result.agents = identities(**agent_of, judge=judge)
    return t.close(verdict, result=result)


async def _choose_sides(
    t: Transcript, debaters: Sequence[Arguer], order: tuple[int, ...], first: int
) -> tuple[dict[str, Arguer], OpenChoice]:
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
    info = OpenChoice(
        choices=chosen,
        agreed=chosen[0] is not None and chosen[0] == chosen[1],
        forced=[chosen[i] != gets[i] for i in (0, 1)],
    )
    return agent_of, info


async def run(setup: EpisodeSetup) -> Outcome:
    """Registry entry point: LLM `Debater`s on the `debater` model (or `debater_correct` / `debater_incorrect`
    for asymmetric studies), or with `retrieval` set programmatic `RetrievalArguer`s, and the judge of the spec's
    judge entry."""
    cfg = setup.config_as(DebateConfig)
    max_tokens = speech_max_tokens(cfg.word_limit)

    def debater(role: str) -> Arguer:
        if cfg.retrieval is not None:
            agent: Arguer = cfg.retrieval.build()
        else:
            agent = Debater(setup.model(role, "debater"), temperature=cfg.temperature, max_tokens=max_tokens)
        return persuasive(agent, setup, cfg, cfg.persuasion)

    debaters = (debater("debater_correct"), debater("debater_incorrect"))
    return await debate(setup.question, debaters, judge_for(setup, cfg), cfg, setup.seed, setup.balance)


def _roles(cfg: object) -> tuple[str, ...]:
    """The roles a debate config needs beyond the judge: the debaters' model (unless they are programmatic) and
    the persuasion settings' roles."""
    if not isinstance(cfg, DebateConfig):
        return ("debater",)
    return ("debater",) * (cfg.retrieval is None) + cfg.persuasion.roles()


DEBATE = ProtocolEntry(
    name="debate",
    config=DebateConfig,
    roles=("judge",),
    optional_roles=("debater", "debater_correct", "debater_incorrect", "preference", "critic"),
    config_roles=_roles,
    run=run,
    description="Two debaters argue the two answers for R rounds; the judge, without the text, decides.",
)
