"""Direct answering: the sandwiching tiers. `naive` is the judge alone, without the hidden context; `expert` is the
same role's model reading the context. Debate and consultancy should land between the two."""

from __future__ import annotations

from typing import Literal

from judges.base import Judge
from oversight.counterbalance import Balance, answer_order
from oversight.episode import Outcome, ProtocolResult
from oversight.protocol_registry import EpisodeSetup, ProtocolEntry
from oversight.transcript import Transcript
from oversight.types import Question
from protocols.kit import OrderedConfig, balance_of, identities, judge_for, two_choices


class DirectConfig(OrderedConfig):
    """`tier`: "naive" (question and answers only) or "expert" (the context too). `two_choice` reduces questions
    to the correct answer and one distractor, as debate and consultancy see them."""

    tier: Literal["naive", "expert"] = "naive"
    two_choice: bool = True


class DirectResult(ProtocolResult):
    """`tier` (in the base) says which sandwiching tier; `context_shown` whether the judge read a context."""

    context_shown: bool = False


async def direct(
    question: Question, judge: Judge, cfg: DirectConfig, seed: int = 0, balance: Balance | None = None
) -> Outcome:
    """One direct answer to `question` by `judge`, naive or expert per `cfg.tier`. Returns the Outcome."""
    q, reduced = two_choices(question, seed) if cfg.two_choice else (question, None)
    order = answer_order(q, cfg.order, balance_of(q, seed, balance))
    role = "expert" if cfg.tier == "expert" else "judge"
    transcript = Transcript.start(q, seed=seed, order=order, context_roles={"expert"})
    verdict = await judge.decide(transcript.view_for(role, task="decide"))
    result = DirectResult(
        tier=cfg.tier,
        context_shown=cfg.tier == "expert" and bool(q.context),
        two_answer=reduced,
        agents=identities(judge=judge),
    )
    return transcript.close(verdict, result=result)


async def run(setup: EpisodeSetup) -> Outcome:
    """Registry entry point: an `LLMJudge` on the `judge` role's model."""
    cfg = setup.config_as(DirectConfig)
    return await direct(setup.question, judge_for(setup, cfg), cfg, setup.seed, setup.balance)


DIRECT = ProtocolEntry(
    name="direct",
    config=DirectConfig,
    roles=("judge",),
    run=run,
    description="The judge answers alone (naive) or with the hidden context (expert): the sandwiching tiers.",
)
