"""What the runner tells the model layer about the episode a call belongs to, for prefix-aware scheduling.

A server with a prefix cache (vLLM's automatic prefix caching) answers the part of a prompt it has seen recently
without computing it again. A debate's calls share long prefixes (the hidden passage, the transcript so far), so
the runner marks each episode's calls (`episode_scope`):

* `call_priority()`: the episode's start ordinal. Where calls wait for an endpoint's concurrency limit, the
  earliest-started episode goes first (`PrioritySlots`), so an episode's next turn follows its last one while
  that prefix is still cached, instead of queueing behind the first turns of newer episodes.
* `episode_affinity()`: a per-episode map of provider -> the server its calls went to. A provider with several
  servers (vLLM `base_url` lists) sends every call of an episode to the same server, so the turns of one
  transcript meet their own prefix. Episodes of the same question (`group`) start on the server that last ran
  that question when it has a free slot.

Outside an episode (direct calls of `get_model`) both are None: plain first-come order and least-loaded routing.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(slots=True)
class EpisodeRoute:
    """The scheduling facts of one episode: its start ordinal (lower: sooner), its prefix group (the question id)
    and the server each provider sent its calls to."""

    priority: int
    group: str = ""
    servers: dict[int, str] = field(default_factory=dict)  # id(provider) -> endpoint


_ROUTE: ContextVar[EpisodeRoute | None] = ContextVar("oversight_episode_route", default=None)


@contextmanager
def episode_scope(priority: int, group: str = "") -> Iterator[EpisodeRoute]:
    """Mark the calls made inside (and in tasks started inside) as one episode's; yields its `EpisodeRoute`."""
    route = EpisodeRoute(priority, group)
    token = _ROUTE.set(route)
    try:
        yield route
    finally:
        _ROUTE.reset(token)


def current_route() -> EpisodeRoute | None:
    """The `EpisodeRoute` of the episode the running call belongs to, or None outside one."""
    return _ROUTE.get()


class GroupServers:
    """A bounded map of prefix group -> the server that last ran it (recent groups only: their prefixes are the
    ones a server may still hold)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._last: OrderedDict[str, str] = OrderedDict()

    def get(self, group: str) -> str | None:
        return self._last.get(group)

    def remember(self, group: str, server: str) -> None:
        self._last[group] = server
        self._last.move_to_end(group)
        if len(self._last) > self.size:
            self._last.popitem(last=False)


class PrioritySlots:
    """A concurrency limit whose waiters are admitted lowest priority first (ties: arrival order). The priority of a
    waiter is its episode's `call_priority`, else it queues after every episode's calls in arrival order.

    `async with slots:` holds one slot. `fifo=True` admits in plain arrival order (the behaviour of
    `asyncio.Semaphore`).
    """

    def __init__(self, limit: int, *, fifo: bool = False) -> None:
        if limit < 1:
            raise ValueError(f"a concurrency limit must be >= 1, got {limit}")
        self.limit = limit
        self.fifo = fifo
        self.in_use = 0
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    @property
    def waiting(self) -> int:
        """Calls waiting for a slot."""
        return len(self._waiters)

    async def acquire(self) -> None:
        if self.in_use < self.limit and not self._waiters:
            self.in_use += 1
            return
        route = None if self.fifo else _ROUTE.get()
        priority = float("inf") if route is None else route.priority
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._arrivals), fut))
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():  # the slot was handed over just as we were cancelled
                self._release()
            else:
                self._waiters = [w for w in self._waiters if w[2] is not fut]
                heapq.heapify(self._waiters)
            raise

    def release(self) -> None:
        self._release()

    def _release(self) -> None:
        while self._waiters:
            *_, fut = heapq.heappop(self._waiters)
            if not fut.done():
                fut.set_result(None)  # the slot passes straight to the next waiter: in_use is unchanged
                return
        self.in_use -= 1

    async def __aenter__(self) -> PrioritySlots:
        if self.in_use < self.limit and not self._waiters:  # `acquire`'s free slot, without its coroutine
            self.in_use += 1
            return self
        await self.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release()
