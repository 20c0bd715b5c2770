"""The one layer around every provider: concurrency limit, retries, call cache, usage/cost, secret hygiene."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from oversight.models.accounting import UsageLedger
from oversight.models.base import ModelError, Provider
from oversight.models.cache import CallCache, call_key
from oversight.models.limits import DEFAULT_LIMITS, EndpointLimits
from oversight.models.retry import RetryPolicy, call_with_retries
from oversight.models.secrets import redact
from oversight.types import ChatMessage, GenerateConfig, ModelOutput

_DEFAULT_CONFIG = GenerateConfig()


class ManagedModel:
    """A provider wrapped with the shared middleware. Implements the `Model` protocol.

    `for_role(role)` gives a view that shares provider, cache, limits and ledger but books usage to `role`.
    `retries` counts the retries this view made (transient failures that were tried again).
    """

    def __init__(
        self,
        provider: Provider,
        *,
        role: str = "default",
        cache: CallCache | None = None,
        limits: EndpointLimits | None = None,
        retry: RetryPolicy | None = None,
        ledger: UsageLedger | None = None,
    ) -> None:
        self.provider = provider
        self.name = provider.name
        self.role = role
        self.cache = cache
        self.limits = limits or DEFAULT_LIMITS
        self.retry = retry or RetryPolicy()
        self.ledger = ledger if ledger is not None else UsageLedger()
        self.retries = 0
        self._identity = provider.cache_identity()

    @property
    def identity(self) -> str:
        """The provider's `cache_identity()`: the model and the options that change its outputs."""
        return self._identity

    def for_role(self, role: str) -> ManagedModel:
        view = ManagedModel.__new__(ManagedModel)
        view.__dict__.update(self.__dict__)
        view.role = role
        return view

    async def generate(
        self,
        messages: list[ChatMessage],
        config: GenerateConfig | None = None,
        *,
        on_retry: Callable[[ModelError, float], None] | None = None,
    ) -> ModelOutput:
        """The model's output for `messages`; raises a `ModelError` subclass (message free of API keys).

        `on_retry(error, wait)` is called before each retry of this call (the runner counts them per episode).
        """
        config = config or _DEFAULT_CONFIG
        key = None
        if self.cache is not None and self.provider.cacheable:
            key = call_key(self._identity, messages, config)
            hit = self.cache.get(key)
            if hit is not None:
                self.ledger.record(self.name, self.role, hit, free=self.provider.free)
                return hit
        try:
            failed: ModelError | None = None
            try:
                out = await self._attempt(messages, config)  # the first try, without the retry loop's closures
            except ModelError as first:
                failed = first
            if failed is not None:  # retried outside the handler, so no error raised later has it as __context__

                def attempt() -> Awaitable[ModelOutput]:
                    return self._attempt(messages, config)

                def count(err: ModelError, wait: float) -> None:
                    self.retries += 1
                    if on_retry is not None:
                        on_retry(err, wait)

                out = await call_with_retries(attempt, self.retry, on_retry=count, failed=failed)
        except ModelError as err:
            err.args = (redact(str(err)),)
            raise
        if key is not None:
            self.cache.put(key, out)  # type: ignore[union-attr]
        self.ledger.record(self.name, self.role, out, free=self.provider.free)
        return out

    async def _attempt(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        provider = self.provider
        endpoint = provider.pick_endpoint()  # per attempt: a retry may go to another server
        async with self.limits.semaphore(endpoint):
            return await provider.generate_at(endpoint, messages, config)

    async def aclose(self) -> None:
        await self.provider.aclose()

    def __repr__(self) -> str:
        return f"ManagedModel({self.name!r}, role={self.role!r})"
