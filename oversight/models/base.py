"""The `Model` interface every provider implements, and the error types callers can rely on."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from oversight.types import ChatMessage, GenerateConfig, ModelOutput


@runtime_checkable
class Model(Protocol):
    """Anything that turns chat messages into a `ModelOutput`."""

    name: str

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput: ...


class Provider:
    """Base class of backends. `endpoint` names what the concurrency limit is shared by (a URL, or the process).

    Providers only talk to their backend and raise `ModelError`s; limits, retries, caching and accounting
    live once, in `oversight.models.managed.ManagedModel`.
    """

    provider: str = ""
    #: True for backends that cost nothing per token (local, scripted, self-hosted servers): no price needed
    free: bool = False
    #: False when outputs are not a function of (identity, messages, config), e.g. scripts played in order: such
    #: calls never go through the call cache
    cacheable: bool = True

    def __init__(self, model: str, endpoint: str) -> None:
        self.model = model
        self.endpoint = endpoint
        self.name = f"{self.provider}/{model}"

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        raise NotImplementedError

    def pick_endpoint(self) -> str:
        """The endpoint the next call goes to; providers that spread load over several servers override it."""
        return self.endpoint

    def endpoints(self) -> list[str]:
        """Every endpoint this provider may send calls to (one, unless it spreads load over several servers): the
        runner sizes the episodes it keeps in flight from their concurrency limits."""
        return [self.endpoint]

    async def generate_at(self, endpoint: str, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        """`generate` on the endpoint `pick_endpoint` chose (the middleware holds that endpoint's limit)."""
        return await self.generate(messages, config)

    def cache_identity(self) -> str:
        """What, besides messages and config, decides the output: the model string plus every provider option that
        changes outputs (a non-default base URL, a model folder, a GGUF fingerprint, a script's content). Stable
        across processes and free of secrets; the call cache keys on it and a resumed run must see the same one."""
        return self.name

    async def aclose(self) -> None:
        """Release clients, threads or subprocesses; safe to call twice."""


class ModelError(Exception):
    """Base of every error a model call raises through our API. `retryable` says whether another try may succeed
    (the middleware retries those); `reason` names the failure briefly for retry counts (`"http 429"`,
    `"timeout"`, `"connection"`, `"malformed"`, ...)."""

    retryable: bool = False
    retry_after: float | None = None
    reason: str = "error"

    def __init__(self, message: str, *, model: str = "") -> None:
        super().__init__(f"{model}: {message}" if model else message)
        self.model = model


class ModelAPIError(ModelError):
    """The backend answered with an error or could not be reached.

    `retryable` is true for rate limits, 5xx, timeouts and connection errors; `retry_after` carries the
    server's `Retry-After` in seconds when it sent one. `reason` is `"http <status>"` when there is a status,
    else the `reason` given (`"timeout"`, `"connection"`), else `"api"`.
    """

    def __init__(
        self,
        message: str,
        *,
        model: str = "",
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message, model=model)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.reason = f"http {status}" if status is not None else (reason or "api")


class MalformedResponseError(ModelError):
    """The backend answered 2xx but the body is not what its API promises (truncated or invalid JSON, no choices,
    ...). Retried like other transient failures: a flaky server or proxy sends such bodies now and then."""

    retryable = True
    reason = "malformed"


class ScriptExhaustedError(ModelError):
    """A scripted model was asked for more outputs than it holds."""


class ModelConfigError(ModelError):
    """A model string, option or required file/key is wrong; the message says which."""
