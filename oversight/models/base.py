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

    def __init__(self, model: str, endpoint: str) -> None:
        self.model = model
        self.endpoint = endpoint
        self.name = f"{self.provider}/{model}"

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        raise NotImplementedError

    def pick_endpoint(self) -> str:
        """The endpoint the next call goes to; providers that spread load over several servers override it."""
        return self.endpoint

    async def generate_at(self, endpoint: str, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        """`generate` on the endpoint `pick_endpoint` chose (the middleware holds that endpoint's limit)."""
        return await self.generate(messages, config)

    def cache_identity(self) -> str:
        """What, besides messages and config, decides the output (the cache key includes it)."""
        return self.name

    async def aclose(self) -> None:
        """Release clients, threads or subprocesses; safe to call twice."""


class ModelError(Exception):
    """Base of every error a model call raises through our API."""

    def __init__(self, message: str, *, model: str = "") -> None:
        super().__init__(f"{model}: {message}" if model else message)
        self.model = model


class ModelAPIError(ModelError):
    """The backend answered with an error or could not be reached.

    `retryable` is true for rate limits, 5xx, timeouts and connection errors; `retry_after` carries the
    server's `Retry-After` in seconds when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        model: str = "",
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, model=model)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class MalformedResponseError(ModelError):
    """The backend answered 2xx but the body is not what its API promises."""


class ScriptExhaustedError(ModelError):
    """A scripted model was asked for more outputs than it holds."""


class ModelConfigError(ModelError):
    """A model string, option or required file/key is wrong; the message says which."""
