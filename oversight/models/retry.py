"""Retries with capped exponential backoff and jitter, honouring a server's Retry-After."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from oversight.models.base import ModelError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """`max_attempts` counts the first try. Delays grow as base * 2**n, with full jitter, never above `cap`."""

    max_attempts: int = 6
    base: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before try number `attempt + 1` (attempt counts from 0)."""
        if retry_after is not None:
            return min(self.cap, max(0.0, retry_after))
        return min(self.cap, self.base * 2**attempt) * (0.5 + 0.5 * rng.random())


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    rng: random.Random | None = None,
    on_retry: Callable[[ModelError, float], None] | None = None,
    failed: ModelError | None = None,
) -> T:
    """Return `call()`'s result, retrying retryable `ModelError`s (rate limits, 408/409/5xx, timeouts, connection
    errors, malformed bodies); raises the last error when tries run out. `on_retry(error, wait)` is called before
    each retry (the middleware counts them).

    Non-retryable errors (4xx other than 408/409/429, config errors, exhausted scripts) are raised at once.
    `failed` is the error of a first try the caller made itself: the retries go on from there.
    """
    attempt = 0
    err = failed
    while True:
        if err is None:
            try:
                return await call()
            except ModelError as raised:
                err = raised
        attempt += 1
        if not err.retryable or attempt >= policy.max_attempts:
            raise err
        rng = rng or random.Random()  # made only when needed: seeding costs ~10 µs per call
        wait = policy.delay(attempt - 1, err.retry_after, rng)
        if on_retry is not None:
            on_retry(err, wait)
        await sleep(wait)
        err = None


def status_is_retryable(status: int) -> bool:
    """Rate limits, request timeouts, conflicts and server errors are worth another try; other 4xx are not."""
    return status in (408, 409, 429) or status >= 500


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` (or `retry-after-ms`-style numeric) header value; None when absent/unparsable."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
