"""The judge settings every protocol's config shares, and the builders that turn them (and a spec's judge entry:
a model, a simulated judge, a human or a jury) into a judge. Every protocol gets every judge mode from here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from judges.base import Judge
from judges.human import HumanJudge, live_channel
from judges.jury import Juror, Jury
from judges.llm_judge import JudgeMode, LLMJudge
from judges.simulated import SimulatedJudge
from judges.swap import SwapJudge
from oversight.judge_entry import JudgeEntry
from oversight.models.base import Model

#: settings added after episode ids were first hashed from configs: left out of a config's dump at their
#: defaults, so the episode ids of specs that do not set them stay what they were
_OMIT_AT_DEFAULT = {"mode": "logprobs", "swap": False, "reason_words": 80, "max_tokens": None, "min_rounds": None}


class JudgeSettings(BaseModel):
    """How a protocol's LLM judge decides. In a spec: `judge = { mode = "reason", swap = true }`.

    `mode`: `logprobs` (probability from the answer letter's top logprobs), `stated` (from a stated confidence)
    or `reason` (a short rationale first, then answer and confidence). `swap`: decide twice with the answer order
    (and A/B speaker labels) swapped and average the two (both verdicts kept; position bias recorded).
    `min_rounds`: a live human judge of an interactive protocol may end it once this many rounds are played, as
    in Khan et al. 2024 (None: every round is played; model judges never end early).
    """

    model_config = ConfigDict(extra="forbid")

    max_retries: int = Field(default=2, ge=0)  # extra tries when the judge's output has no usable answer
    use_logprobs: bool = True  # ask the backend for top logprobs of the answer letter (modes logprobs, reason)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)  # None: the protocol's temperature
    mode: JudgeMode = "logprobs"
    swap: bool = False
    reason_words: int = Field(default=80, ge=1)  # the rationale's word limit in mode "reason"
    max_tokens: int | None = Field(default=None, ge=1)  # None: 96, or 320 in mode "reason"
    min_rounds: int | None = Field(default=None, ge=1)  # None: a human judge cannot end the debate early

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for key, default in _OMIT_AT_DEFAULT.items():
                if key in data and data[key] == default:
                    del data[key]
        return data


def build_judge(
    model: Model, settings: JudgeSettings, *, temperature: float | None = None, persona: str | None = None
) -> Judge:
    """The LLM judge `settings` describe, on `model` (wrapped in a `SwapJudge` when `settings.swap`).
    `temperature` is the protocol's, used unless the settings set their own; both None leave it to the judge
    role's own setting. `persona` makes it a persona juror."""
    judge = LLMJudge(
        model,
        mode=settings.mode,
        max_retries=settings.max_retries,
        temperature=settings.temperature if settings.temperature is not None else temperature,
        use_logprobs=settings.use_logprobs,
        max_tokens=settings.max_tokens,
        reason_words=settings.reason_words,
        persona=persona,
    )
    return SwapJudge(judge) if settings.swap else judge


def build_entry_judge(
    entry: JudgeEntry,
    models: Mapping[str, Model],
    settings: JudgeSettings,
    *,
    temperature: float | None = None,
    truth: str | None = None,
) -> Judge:
    """The judge `entry` describes for one episode. `settings` (the protocol's judge settings) shape every LLM
    judge in it (mode, retries, temperature) and `swap` wraps every model and simulated judge; human judges
    decide in the order shown. `truth` is the gold answer's text, for simulated judges only. Raises KeyError
    when a model judge's role has no model bound, ValueError for an empty jury or a sparse-pixel judge (which
    decides on pixels, only in the pixel protocols: `protocols.pixel_debate`)."""
    if entry.kind == "model":
        if entry.role is None or entry.role not in models:
            raise KeyError(f"judge {entry.name!r}: no model bound to role {entry.role!r}")
        return build_judge(models[entry.role], settings, temperature=temperature, persona=entry.persona)
    if entry.kind == "simulated":
        judge: Judge = SimulatedJudge(entry.simulated, truth=truth, name=entry.name)
        return SwapJudge(judge) if settings.swap else judge
    if entry.kind == "pixel":
        raise ValueError(f"judge {entry.name!r} is a sparse-pixel judge: it decides only in the pixel protocols")
    if entry.kind == "human":
        judge_id = entry.human or entry.name
        return HumanJudge(judge_id, live_channel(judge_id), min_rounds=settings.min_rounds)
    jurors = [
        Juror(
            build_entry_judge(j, models, settings, temperature=temperature, truth=truth),
            population=j.population,
            persona=j.persona,
            name=j.name,
        )
        for j in entry.jurors
    ]
    return Jury(jurors, entry.rule, name=entry.name)


__all__ = ["JudgeEntry", "JudgeSettings", "build_entry_judge", "build_judge"]
