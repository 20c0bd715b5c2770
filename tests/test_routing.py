"""Prefix-aware scheduling in the model layer: busy endpoints admit the earliest-started episode first, and a
multi-server vLLM model keeps each episode (and a question's next episodes) on one server."""

from __future__ import annotations

import asyncio

import pytest

from oversight.models import EndpointLimits, get_model
from oversight.models.base import ModelAPIError
from oversight.models.retry import RetryPolicy
from oversight.models.routing import PrioritySlots, current_route, episode_scope
from oversight.models.vllm import VLLMProvider
from oversight.types import ChatMessage, GenerateConfig, ModelOutput

A, B = "http://gpu-a:8000/v1", "http://gpu-b:8000/v1"
MSGS = [ChatMessage(role="user", content="Sky colour?")]


async def _admission_order(slots: PrioritySlots, priorities: list[int | None]) -> list[int | None]:
    order: list[int | None] = []
    await slots.acquire()  # hold the only slot while the others queue

    async def wait(p: int | None) -> None:
        if p is None:
            await slots.acquire()
        else:
            with episode_scope(p):
                await slots.acquire()
        order.append(p)
        slots.release()

    tasks = [asyncio.ensure_future(wait(p)) for p in priorities]
    await asyncio.sleep(0)
    assert slots.waiting == len(priorities) and slots.in_use == 1
    slots.release()
    await asyncio.gather(*tasks)
    assert slots.in_use == 0 and slots.waiting == 0
    return order


async def test_waiting_calls_go_earliest_episode_first_then_unscoped_in_arrival_order():
    order = await _admission_order(PrioritySlots(1), [7, None, 2, 5, None, 2])
    assert order == [2, 2, 5, 7, None, None]


async def test_fifo_slots_admit_in_arrival_order():
    assert await _admission_order(PrioritySlots(1, fifo=True), [7, None, 2, 5]) == [7, None, 2, 5]


async def test_a_cancelled_waiter_gives_up_its_place_and_never_leaks_a_slot():
    slots = PrioritySlots(1)
    await slots.acquire()
    waiter = asyncio.ensure_future(slots.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert slots.waiting == 0
    slots.release()
    assert slots.in_use == 0
    # handed the slot, then cancelled before it ran: the slot passes on instead of being lost
    await slots.acquire()
    first, second = asyncio.ensure_future(slots.acquire()), asyncio.ensure_future(slots.acquire())
    await asyncio.sleep(0)
    slots.release()  # hands the slot to `first` ...
    first.cancel()  # ... which is cancelled before it resumes
    await asyncio.gather(first, return_exceptions=True)
    await asyncio.wait_for(second, 1)
    assert slots.in_use == 1
    slots.release()
    assert slots.in_use == 0


async def test_the_limit_holds_under_load():
    slots, now, peak = PrioritySlots(3), [0], [0]

    async def call(i: int) -> None:
        with episode_scope(i % 4):
            async with slots:
                now[0] += 1
                peak[0] = max(peak[0], now[0])
                await asyncio.sleep(0.001)
                now[0] -= 1

    await asyncio.gather(*(call(i) for i in range(40)))
    assert peak[0] == 3 and slots.in_use == 0
    with pytest.raises(ValueError, match=">= 1"):
        PrioritySlots(0)


async def test_an_episode_scope_reaches_the_tasks_it_starts():
    async def inner() -> int | None:
        route = current_route()
        return route.priority if route else None

    with episode_scope(4, "q1") as route:
        got = await asyncio.gather(inner(), inner())
        route.servers[1] = A
    assert got == [4, 4] and current_route() is None


class Recording:
    """Stands in for one server's client: answers after `delay`, remembering each prompt it got; raises a
    retryable error for the first `fail` calls."""

    def __init__(self, delay: float = 0.0, fail: int = 0) -> None:
        self.delay, self.fail, self.seen = delay, fail, []

    async def generate(self, messages, config):
        self.seen.append(messages[-1].content)
        if self.fail:
            self.fail -= 1
            raise ModelAPIError("connection refused", reason="connection", retryable=True)
        await asyncio.sleep(self.delay)
        return ModelOutput(text="ok")

    async def aclose(self):
        pass


def _two_servers(**options) -> tuple:
    model = get_model("vllm/m", base_url=[A, B], limits=EndpointLimits(default=4), **options)
    fakes = model.provider.clients = [Recording(0.01), Recording(0.01)]
    return model, fakes


async def _episode(model, name: str, calls: int, group: str = "", priority: int = 0) -> None:
    with episode_scope(priority, group or name):
        for turn in range(calls):
            await model.generate([ChatMessage(role="user", content=f"{name} turn {turn}")])


async def test_each_episode_stays_on_one_server_and_episodes_spread():
    model, (a, b) = _two_servers()
    await asyncio.gather(*(_episode(model, f"e{i}", 5, priority=i) for i in range(6)))
    for i in range(6):
        where = {s for s, fake in (("a", a), ("b", b)) for p in fake.seen if p.startswith(f"e{i} ")}
        assert len(where) == 1, f"episode e{i} went to {where}"
    assert len(a.seen) == len(b.seen) == 15  # three episodes each: the first calls went to the least loaded


async def test_a_question_goes_back_to_the_server_that_ran_it():
    model, (a, b) = _two_servers()
    await _episode(model, "first", 2, group="q7")
    where = a if a.seen else b
    for i in range(3):  # later episodes of q7, one at a time: the server is as idle as the other
        await _episode(model, f"again{i}", 2, group="q7")
    assert len(where.seen) == 8 and not (b if where is a else a).seen


async def test_round_robin_and_calls_outside_episodes_are_not_sticky():
    model, (a, b) = _two_servers(balance="round_robin")
    await _episode(model, "e", 4)
    assert len(a.seen) == len(b.seen) == 2
    provider = VLLMProvider("m", base_url=[A, B])
    provider.clients = [Recording(), Recording()]
    for _ in range(4):
        await provider.generate(MSGS, GenerateConfig())
    assert provider.calls == {A: 2, B: 2}


async def test_a_retry_after_a_failure_may_move_the_episode():
    model = get_model(
        "vllm/m", base_url=[A, B], limits=EndpointLimits(default=4), retry=RetryPolicy(max_attempts=3, base=0.0)
    )
    down, up = model.provider.clients = [Recording(fail=5), Recording()]
    model.provider.in_flight[B] = 1  # the first pick is A, the idle-looking one
    await _episode(model, "e", 3)
    model.provider.in_flight[B] = 0
    assert len(down.seen) == 1 and up.seen == ["e turn 0", "e turn 1", "e turn 2"]
