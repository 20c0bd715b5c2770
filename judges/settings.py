"""The judge settings every protocol's config shares, and the one builder that turns them into a judge."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from judges.base import Judge
from judges.llm_judge import LLMJudge
from oversight.models.base import Model


class JudgeSettings(BaseModel):
    """How a protocol's LLM judge decides. In a spec: `judge = { max_retries = 1, use_logprobs = false }`."""

    model_config = ConfigDict(extra="forbid")

    max_retries: int = Field(default=2, ge=0)  # extra tries when the judge's output has no usable answer
    use_logprobs: bool = True  # ask the backend for top logprobs of the answer letter
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)  # None: the protocol's temperature


def build_judge(model: Model, settings: JudgeSettings, *, temperature: float | None = None) -> Judge:
    """The judge `settings` describe, on `model`. `temperature` is the protocol's, used unless the settings set
    their own; both None leave it to the judge role's own setting."""
    return LLMJudge(
        model,
        max_retries=settings.max_retries,
        temperature=settings.temperature if settings.temperature is not None else temperature,
        use_logprobs=settings.use_logprobs,
    )
