"""Core value types shared by every layer: chat messages, generation settings, model outputs, questions."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

Role = Literal["system", "user", "assistant"]

M = TypeVar("M", bound=BaseModel)


_FIELD_COUNTS: dict[type[BaseModel], int] = {}
# BaseModel's own slots, set through their descriptors: half the cost of `object.__setattr__` by name
_set_dict = object.__setattr__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def trusted(cls: type[M], **values: Any) -> M:
    """An instance of `cls` from values we built ourselves: no validation and no defaults, so every field must be
    given (raises TypeError otherwise). About 4x cheaper than `model_construct`, for per-call hot paths."""
    n = _FIELD_COUNTS.get(cls)
    if n is None:
        n = _FIELD_COUNTS[cls] = len(cls.model_fields)  # a class property: dearer than the rest of this function
    if len(values) != n:
        missing = set(cls.model_fields) - set(values)
        raise TypeError(f"{cls.__name__}: trusted() needs every field; missing {sorted(missing)}")
    obj = object.__new__(cls)
    _set_dict(obj, "__dict__", values)
    _set_fields_set(obj, set(values))
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


def trusted_copy(model: M, update: dict[str, Any]) -> M:
    """`model.model_copy(update=update)` for a model without extra or private attributes, at a fraction of its cost:
    a shallow copy with `update` applied (not validated) and its keys added to the fields set, as `model_copy`
    does. Falls back to `model_copy` for models it does not cover."""
    if model.__pydantic_extra__ is not None or model.__pydantic_private__ is not None:
        return model.model_copy(update=update)
    obj = object.__new__(model.__class__)
    _set_dict(obj, "__dict__", {**model.__dict__, **update})
    _set_fields_set(obj, model.__pydantic_fields_set__.union(update))
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


_PLAIN_SETATTR: dict[type[BaseModel], bool] = {}  # class -> whether its setattr only stores (see set_fields)


def set_fields(model: BaseModel, **values: Any) -> None:
    """`setattr(model, name, value)` for each of `values`, as pydantic does it for a model that neither validates
    assignments nor is frozen (the value into `__dict__`, the name into the fields set), without its per-attribute
    `__setattr__`; other models get plain `setattr`. For fields only (no private attributes or properties)."""
    cls = type(model)
    plain = _PLAIN_SETATTR.get(cls)
    if plain is None:
        config = cls.model_config
        plain = _PLAIN_SETATTR[cls] = not (config.get("validate_assignment") or config.get("frozen"))
    if not plain:
        for name, value in values.items():
            setattr(model, name, value)
        return
    model.__dict__.update(values)
    model.__pydantic_fields_set__.update(values)


class ChatMessage(BaseModel):
    """One message of a chat prompt."""

    model_config = ConfigDict(frozen=True)

    role: Role
    content: str


class GenerateConfig(BaseModel):
    """How to sample. `extra` passes provider-specific options through (e.g. vLLM `structured_outputs`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=256, ge=1)
    seed: int | None = None
    stop: tuple[str, ...] = ()
    logprobs: bool = False
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    extra: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _top_implies_logprobs(self) -> GenerateConfig:
        if self.top_logprobs and not self.logprobs:
            object.__setattr__(self, "logprobs", True)
        return self


# Backends report -inf for impossible tokens; plain JSON has no -inf, so write it as -Infinity (Python's json
# and pydantic read it back) instead of null, which would not load.
_INF_SAFE = ConfigDict(ser_json_inf_nan="constants")


class TopLogprob(BaseModel):
    """One alternative token at a position, with its log probability."""

    model_config = _INF_SAFE

    token: str
    logprob: float


class TokenLogprob(BaseModel):
    """The sampled token at one position, its log probability and the top alternatives there."""

    model_config = _INF_SAFE

    token: str
    logprob: float
    top: list[TopLogprob] = Field(default_factory=list)


class Usage(BaseModel):
    """Token counts of one call."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class ModelOutput(BaseModel):
    """What a model call returned. `latency` is seconds of wall time; `cached` is true when no backend was asked."""

    text: str
    model: str = ""
    logprobs: list[TokenLogprob] | None = None
    usage: Usage = Field(default_factory=Usage)
    latency: float = 0.0
    finish_reason: str | None = None
    cached: bool = False


class Source(BaseModel):
    """Where a question came from (Kirk et al.: record who defined "correct")."""

    dataset: str
    split: str | None = None
    licence: str | None = None
    package: str | None = None
    version: str | None = None
    file: str | None = None
    sha256: str | None = None


class Question(BaseModel):
    """A task item with ground truth. `context` is the hidden material experts see and judges never do.

    `answer` indexes `choices`; `None` means the question has no gold answer (an opinion or jury question, or a
    free-form task scored otherwise): its episodes are judged but never scored as correct or wrong.
    """

    id: str
    text: str
    choices: list[str] = Field(default_factory=list)
    answer: int | None = None
    context: str | None = None
    source: Source | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _answer_in_range(self) -> Question:
        if self.choices and self.answer is not None:
            if not 0 <= self.answer < len(self.choices):
                raise ValueError(f"answer: {self.answer} is out of range for {len(self.choices)} choices")
        return self
