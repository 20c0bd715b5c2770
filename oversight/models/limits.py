"""Concurrency limits shared by every model that talks to the same endpoint."""

from __future__ import annotations

import asyncio


class EndpointLimits:
    """One semaphore per (endpoint, event loop). `limits` overrides the default per endpoint."""

    def __init__(self, default: int = 8, limits: dict[str, int] | None = None) -> None:
        self.default = default
        self.limits = dict(limits or {})
        self._sems: dict[tuple[str, int], asyncio.Semaphore] = {}

    def set(self, endpoint: str, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"concurrency limit for {endpoint!r} must be >= 1, got {limit}")
        self.limits[endpoint] = limit

    def semaphore(self, endpoint: str) -> asyncio.Semaphore:
        # Keyed by loop too: a semaphore used under one loop cannot be awaited under another (tests, re-runs).
        key = (endpoint, id(asyncio.get_running_loop()))
        sem = self._sems.get(key)
        if sem is None:
            sem = self._sems[key] = asyncio.Semaphore(self.limits.get(endpoint, self.default))
        return sem


#: Process-wide default; pass your own `EndpointLimits` to `get_model` to isolate experiments.
DEFAULT_LIMITS = EndpointLimits()
