"""Direct answering: the sandwiching tiers. `naive` is the judge alone, without the hidden context; `expert` is the
same role's model reading the context. Debate and consultancy should land between the two."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from judges.base import Judge
from judges.llm_judge import LLMJudge
from oversight.episode import Episode
from oversight.models.base import Model
from oversight.protocol_registry import ProtocolEntry
from oversight.transcript import Transcript
from oversight.types import Question
from protocols._common import choice_order, model_names, two_choices


class DirectConfig(BaseModel):
    """`tier`: "naive" (question and answers only) or "expert" (the context too). `two_choice` reduces questions
    to the correct answer and one distractor, as debate and consultancy see them."""

    model_config = ConfigDict(extra="forbid")

    tier: Literal["naive", "expert"] = "naive"
    two_choice: bool = True
    order: Literal["balanced", "correct_first", "correct_second"] = "balanced"
    judge_max_retries: int = Field(default=2, ge=0)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)  # None: each role's own setting
    use_logprobs: bool = True


async def direct(
    question: Question, judge: Judge, cfg: DirectConfig, seed: int = 0, roles: Mapping[str, str] | None = None
) -> Episode:
    """One direct answer to `question` by `judge`, naive or expert per `cfg.tier`. Returns the Episode."""
    q, reduced = two_choices(question, seed) if cfg.two_choice else (question, None)
    order = choice_order(q, cfg.order, seed)
    role = "expert" if cfg.tier == "expert" else "judge"
    transcript = Transcript.start(
        q, protocol="direct", config=cfg, seed=seed, order=order, context_roles={"expert"}, roles=roles
    )
    verdict = await judge.decide(transcript.view_for(role, task="decide"))
    meta = {"tier": cfg.tier, "context_shown": cfg.tier == "expert" and bool(q.context)}
    if reduced is not None:
        meta["two_answer"] = reduced
    return transcript.close(verdict, meta=meta)


async def run(question: Question, models_by_role: Mapping[str, Model], config: BaseModel, seed: int) -> Episode:
    """Registry entry point: an `LLMJudge` on the `judge` role's model."""
    cfg = config if isinstance(config, DirectConfig) else DirectConfig.model_validate(config)
    judge = LLMJudge(
        models_by_role["judge"],
        max_retries=cfg.judge_max_retries,
        temperature=cfg.temperature,
        use_logprobs=cfg.use_logprobs,
    )
    return await direct(question, judge, cfg, seed, model_names(models_by_role))


DIRECT = ProtocolEntry(
    name="direct",
    config=DirectConfig,
    roles=("judge",),
    run=run,
    description="The judge answers alone (naive) or with the hidden context (expert): the sandwiching tiers.",
)
