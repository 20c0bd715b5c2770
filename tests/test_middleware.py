import asyncio
import random

import pytest

from oversight.models import (
    CallCache,
    EndpointLimits,
    ModelAPIError,
    PriceTable,
    RetryPolicy,
    UsageLedger,
    get_model,
)
from oversight.models.base import Provider
from oversight.models.managed import ManagedModel
from oversight.models.retry import call_with_retries, parse_retry_after, status_is_retryable
from oversight.types import ChatMessage, GenerateConfig, ModelOutput, Usage

MSGS = [ChatMessage(role="user", content="hi")]


class CountingProvider(Provider):
    """A backend that records each call and can fail a given number of times first."""

    provider = "test"

    def __init__(self, failures: list[ModelAPIError] | None = None, delay: float = 0.0) -> None:
        super().__init__("count", "test-endpoint")
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.failures = list(failures or [])
        self.delay = delay

    async def generate(self, messages, config):
        self.calls += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.failures:
                raise self.failures.pop(0)
            return ModelOutput(
                text=f"out{self.calls} seed={config.seed}", usage=Usage(input_tokens=1000, output_tokens=500)
            )
        finally:
            self.in_flight -= 1


FAST = RetryPolicy(max_attempts=4, base=0.001, cap=0.01)


async def test_cache_hit_reaches_no_backend_and_seed_or_config_change_misses(tmp_path):
    cache = CallCache(tmp_path / "c.sqlite")
    provider = CountingProvider()
    model = ManagedModel(provider, cache=cache)
    first = await model.generate(MSGS, GenerateConfig(seed=1))
    again = await model.generate(MSGS, GenerateConfig(seed=1))
    assert provider.calls == 1 and again.cached and not first.cached and again.text == first.text
    await model.generate(MSGS, GenerateConfig(seed=2))
    await model.generate(MSGS, GenerateConfig(seed=1, temperature=0.7))
    await model.generate(MSGS + [ChatMessage(role="user", content="more")], GenerateConfig(seed=1))
    assert provider.calls == 4
    assert cache.stats() == {"hits": 1, "misses": 4}
    cache.close()
    # persisted: a new cache object on the same file serves the call without the backend
    reopened = CallCache(tmp_path / "c.sqlite")
    fresh = CountingProvider()
    out = await ManagedModel(fresh, cache=reopened).generate(MSGS, GenerateConfig(seed=1))
    assert fresh.calls == 0 and out.cached and out.text == first.text
    reopened.close()


async def test_retryable_errors_are_retried_and_others_are_not():
    provider = CountingProvider([ModelAPIError("busy", status=429, retryable=True)] * 2)
    out = await ManagedModel(provider, retry=FAST).generate(MSGS)
    assert provider.calls == 3 and out.text.startswith("out3")

    provider = CountingProvider([ModelAPIError("bad request", status=400, retryable=False)])
    with pytest.raises(ModelAPIError, match="bad request"):
        await ManagedModel(provider, retry=FAST).generate(MSGS)
    assert provider.calls == 1

    provider = CountingProvider([ModelAPIError("down", status=503, retryable=True)] * 10)
    with pytest.raises(ModelAPIError, match="down"):
        await ManagedModel(provider, retry=FAST).generate(MSGS)
    assert provider.calls == FAST.max_attempts


async def test_retry_after_is_honoured_and_capped():
    waits: list[float] = []

    async def fake_sleep(s: float) -> None:
        waits.append(s)

    errors = [
        ModelAPIError("slow down", status=429, retryable=True, retry_after=7.0),
        ModelAPIError("slow down", status=429, retryable=True, retry_after=999.0),
        ModelAPIError("boom", status=500, retryable=True),
    ]

    async def call() -> str:
        if errors:
            raise errors.pop(0)
        return "ok"

    policy = RetryPolicy(max_attempts=5, base=1.0, cap=30.0)
    assert await call_with_retries(call, policy, sleep=fake_sleep, rng=random.Random(0)) == "ok"
    assert waits[0] == 7.0 and waits[1] == 30.0
    assert 2.0 <= waits[2] <= 4.0  # base * 2**2 with jitter in [0.5, 1]


def test_backoff_grows_exponentially_with_jitter_and_cap():
    policy = RetryPolicy(base=0.5, cap=5.0)
    rng = random.Random(1)
    delays = [policy.delay(n, None, rng) for n in range(8)]
    for n, d in enumerate(delays):
        full = min(5.0, 0.5 * 2**n)
        assert full / 2 <= d <= full


def test_retry_helpers():
    assert [status_is_retryable(s) for s in (400, 401, 404, 408, 409, 422, 429, 500, 529)] == [
        False, False, False, True, True, False, True, True, True,
    ]  # fmt: skip
    assert parse_retry_after("3") == 3.0 and parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past means now


async def test_concurrency_limit_is_per_endpoint():
    limits = EndpointLimits(default=2)
    provider = CountingProvider(delay=0.01)
    model = ManagedModel(provider, limits=limits)
    await asyncio.gather(*(model.generate(MSGS) for _ in range(10)))
    assert provider.max_in_flight == 2
    limits.set("test-endpoint", 5)
    limits2 = EndpointLimits(limits={"test-endpoint": 5})
    provider2 = CountingProvider(delay=0.01)
    await asyncio.gather(*(ManagedModel(provider2, limits=limits2).generate(MSGS) for _ in range(10)))
    assert provider2.max_in_flight == 5
    with pytest.raises(ValueError, match="must be >= 1"):
        limits.set("x", 0)


async def test_usage_and_cost_per_model_and_role(tmp_path):
    ledger = UsageLedger(PriceTable({"test/count": (2.0, 10.0)}))
    cache = CallCache(tmp_path / "c.sqlite")
    model = ManagedModel(CountingProvider(), ledger=ledger, cache=cache)
    judge, debater = model.for_role("judge"), model.for_role("debater")
    await debater.generate(MSGS, GenerateConfig(seed=1))
    await debater.generate(MSGS, GenerateConfig(seed=2))
    await judge.generate(MSGS, GenerateConfig(seed=1))  # cache hit: counted, free
    rows = {r["role"]: r for r in ledger.rows()}
    assert rows["debater"]["calls"] == 2 and rows["debater"]["input_tokens"] == 2000
    assert rows["debater"]["cost"] == pytest.approx(2 * (1000 * 2.0 + 500 * 10.0) / 1e6)
    assert rows["judge"]["calls"] == 1 and rows["judge"]["cached_calls"] == 1 and rows["judge"]["cost"] == 0
    assert ledger.total_tokens == 3000
    assert ledger.total_cost == pytest.approx(0.014)
    cache.close()


def test_unknown_hosted_models_are_listed_as_unpriced():
    prices = PriceTable()
    assert prices.cost("openai/gpt-4o-mini", 1_000_000, 0) == pytest.approx(0.15)
    assert prices.cost("openai/some-new-model", 10, 10) == 0.0
    assert prices.cost("local/smollm2-135m", 10, 10, free=True) == 0.0  # Provider.free, not a name prefix
    assert prices.unpriced == {"openai/some-new-model"}


async def test_free_providers_are_never_listed_as_unpriced():
    ledger = UsageLedger()
    await get_model("scripted/free", outputs=["a b c"], ledger=ledger).generate(MSGS)
    assert ledger.prices.unpriced == set() and ledger.total_cost == 0


async def test_scripted_model_through_get_model_uses_shared_ledger():
    ledger = UsageLedger()
    model = get_model("scripted/x", outputs=["a b c"], ledger=ledger, role="judge")
    await model.generate(MSGS)
    assert ledger.rows()[0]["role"] == "judge" and ledger.rows()[0]["output_tokens"] == 3


async def test_cache_round_trips_minus_infinity_logprobs(tmp_path):
    from oversight.types import TokenLogprob, TopLogprob

    class InfProvider(CountingProvider):
        async def generate(self, messages, config):
            self.calls += 1
            top = [TopLogprob(token="A", logprob=0.0), TopLogprob(token="B", logprob=float("-inf"))]
            return ModelOutput(text="A", logprobs=[TokenLogprob(token="A", logprob=0.0, top=top)])

    cache = CallCache(tmp_path / "c.sqlite")
    model = ManagedModel(InfProvider(), cache=cache)
    await model.generate(MSGS)
    cache.flush()
    again = await ManagedModel(InfProvider(), cache=cache).generate(MSGS)
    assert again.cached and again.logprobs[0].top[1].logprob == float("-inf")
    cache.close()
