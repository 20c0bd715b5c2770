"""Concurrency limits shared by every model that talks to the same endpoint."""

from __future__ import annotations

import asyncio

from oversight.models.routing import PrioritySlots


class EndpointLimits:
    """One limit per (endpoint, event loop). `limits` overrides the default per endpoint.

    Waiting calls are admitted earliest-started episode first (`oversight.models.routing`), so an episode's next
    turn reaches a prefix-caching server while its prefix is still cached; `fifo=True` admits them in plain
    arrival order instead.
    """

    def __init__(self, default: int = 8, limits: dict[str, int] | None = None, *, fifo: bool = False) -> None:
        self.default = default
        self.limits = dict(limits or {})
        self.fifo = fifo
        self._sems: dict[tuple[str, int], PrioritySlots] = {}

    def set(self, endpoint: str, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"concurrency limit for {endpoint!r} must be >= 1, got {limit}")
        self.limits[endpoint] = limit

    def limit(self, endpoint: str) -> int:
        """The number of calls `endpoint` may have in flight."""
        return self.limits.get(endpoint, self.default)

    def semaphore(self, endpoint: str) -> PrioritySlots:
        """The limit of `endpoint` in the running event loop (`async with` holds one of its slots)."""
        # Keyed by loop too: a limit used under one loop cannot be awaited under another (tests, re-runs).
        key = (endpoint, id(asyncio.get_running_loop()))
        sem = self._sems.get(key)
        if sem is None:
            sem = self._sems[key] = PrioritySlots(self.limit(endpoint), fifo=self.fifo)
        return sem


#: Process-wide default; pass your own `EndpointLimits` to `get_model` to isolate experiments.
DEFAULT_LIMITS = EndpointLimits()
