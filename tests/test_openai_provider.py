"""The OpenAI provider through `get_model` (our middleware on top), the real `openai` SDK below, HTTP mocked."""

from __future__ import annotations

import json

import httpx
import pytest

from oversight.models import (
    CallCache,
    MalformedResponseError,
    ModelAPIError,
    ModelConfigError,
    RetryPolicy,
    get_model,
)
from oversight.models.openai_api import OpenAIProvider
from oversight.types import ChatMessage, GenerateConfig, TokenLogprob, TopLogprob

pytest_plugins = ["respx_httpx2"]  # the http_mock and recorded_sleeps fixtures

URL = "https://api.openai.com/v1/chat/completions"
MESSAGES = [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="2+2?")]
RETRY = RetryPolicy(max_attempts=3, base=0.001, cap=5.0)


def completion(text: str = "4", *, finish_reason: str = "stop", logprobs: object = None) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason,
                "logprobs": logprobs,
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13},
    }


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key-000000")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("OVERSIGHT_CONFIG", "/nonexistent/oversight.toml")


async def test_success_maps_request_and_response(http_mock):
    route = http_mock.post(URL).mock(return_value=httpx.Response(200, json=completion("4")))
    model = get_model("openai/gpt-4o-mini", retry=RETRY)
    config = GenerateConfig(temperature=0.7, max_tokens=5, seed=3, stop=("\n",), extra={"top_p": 0.9, "user": "u1"})

    out = await model.generate(MESSAGES, config)

    assert out.text == "4"
    assert out.model == "openai/gpt-4o-mini"
    assert out.finish_reason == "stop"
    assert (out.usage.input_tokens, out.usage.output_tokens) == (12, 1)
    assert out.latency > 0 and not out.cached
    assert out.logprobs is None
    assert route.call_count == 1
    request = route.calls.last.request
    assert request.headers["authorization"] == "Bearer sk-test-key-000000"
    assert json.loads(request.content) == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}],
        "temperature": 0.7,
        "max_completion_tokens": 5,
        "seed": 3,
        "stop": ["\n"],
        "top_p": 0.9,
        "user": "u1",
    }
    await model.aclose()


async def test_logprobs_are_mapped(http_mock):
    logprobs = {
        "content": [
            {
                "token": "A",
                "logprob": -0.1,
                "bytes": [65],
                "top_logprobs": [{"token": "A", "logprob": -0.1, "bytes": [65]}, {"token": "B", "logprob": -2.5}],
            },
            {"token": ".", "logprob": -0.01, "bytes": [46], "top_logprobs": []},
        ],
        "refusal": None,
    }
    route = http_mock.post(URL).mock(return_value=httpx.Response(200, json=completion("A.", logprobs=logprobs)))
    model = get_model("openai/gpt-4o-mini", retry=RETRY)

    out = await model.generate(MESSAGES, GenerateConfig(top_logprobs=2))

    body = json.loads(route.calls.last.request.content)
    assert body["logprobs"] is True and body["top_logprobs"] == 2
    assert out.logprobs == [
        TokenLogprob(
            token="A", logprob=-0.1, top=[TopLogprob(token="A", logprob=-0.1), TopLogprob(token="B", logprob=-2.5)]
        ),
        TokenLogprob(token=".", logprob=-0.01, top=[]),
    ]


async def test_rate_limit_honours_retry_after_then_succeeds(http_mock, recorded_sleeps):
    route = http_mock.post(URL).mock(
        side_effect=[
            httpx.Response(429, headers={"retry-after": "2"}, json={"error": {"message": "slow down"}}),
            httpx.Response(200, json=completion()),
        ]
    )
    model = get_model("openai/gpt-4o-mini", retry=RETRY)

    out = await model.generate(MESSAGES)

    assert out.text == "4"
    assert route.call_count == 2
    assert recorded_sleeps == [2.0]
    assert model.retries == 1


async def test_retry_after_ms_is_preferred(http_mock, recorded_sleeps):
    http_mock.post(URL).mock(
        side_effect=[
            httpx.Response(429, headers={"retry-after-ms": "250", "retry-after": "1"}),
            httpx.Response(200, json=completion()),
        ]
    )
    await get_model("openai/gpt-4o-mini", retry=RETRY).generate(MESSAGES)
    assert recorded_sleeps == [0.25]


async def test_repeated_500s_raise_after_max_attempts(http_mock, recorded_sleeps):
    route = http_mock.post(URL).mock(return_value=httpx.Response(500, json={"error": {"message": "boom"}}))
    model = get_model("openai/gpt-4o-mini", retry=RETRY)

    with pytest.raises(ModelAPIError) as info:
        await model.generate(MESSAGES)

    assert route.call_count == RETRY.max_attempts
    assert len(recorded_sleeps) == RETRY.max_attempts - 1
    assert info.value.status == 500 and info.value.retryable
    assert "HTTP 500" in str(info.value) and "boom" in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None


async def test_400_is_not_retried(http_mock, recorded_sleeps):
    route = http_mock.post(URL).mock(return_value=httpx.Response(400, json={"error": {"message": "bad param"}}))
    model = get_model("openai/gpt-4o-mini", retry=RETRY)

    with pytest.raises(ModelAPIError) as info:
        await model.generate(MESSAGES)

    assert route.call_count == 1
    assert recorded_sleeps == []
    assert info.value.status == 400 and not info.value.retryable
    assert "bad param" in str(info.value)


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("read timed out"), httpx.ConnectTimeout("connect timed out")])
async def test_timeouts_are_retried_then_raise(http_mock, recorded_sleeps, exc):
    route = http_mock.post(URL).mock(side_effect=exc)
    model = get_model("openai/gpt-4o-mini", retry=RETRY)

    with pytest.raises(ModelAPIError) as info:
        await model.generate(MESSAGES)

    assert route.call_count == RETRY.max_attempts
    assert info.value.retryable and info.value.status is None
    assert "timed out" in str(info.value)


async def test_timeout_then_success(http_mock, recorded_sleeps):
    route = http_mock.post(URL).mock(side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json=completion())])
    out = await get_model("openai/gpt-4o-mini", retry=RETRY).generate(MESSAGES)
    assert out.text == "4" and route.call_count == 2 and len(recorded_sleeps) == 1


async def test_connection_error_is_retried(http_mock, recorded_sleeps):
    route = http_mock.post(URL).mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(ModelAPIError, match="could not connect") as info:
        await get_model("openai/gpt-4o-mini", retry=RETRY).generate(MESSAGES)
    assert info.value.retryable and route.call_count == RETRY.max_attempts


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"id": "x", "object": "chat.completion"}),
        httpx.Response(200, json={"choices": []}),
        httpx.Response(200, json={"choices": "nope"}),
        httpx.Response(200, json={"choices": [{"finish_reason": "stop"}]}),
        httpx.Response(200, json={"choices": [{"message": {"content": 7}, "finish_reason": "stop"}]}),
        httpx.Response(200, json={**completion(), "usage": {"prompt_tokens": "many"}}),
        httpx.Response(200, json=[1, 2, 3]),
        httpx.Response(200, content=b"{not json", headers={"content-type": "application/json"}),
        httpx.Response(200, text="<html>gateway</html>"),
    ],
    ids=["no-choices", "empty", "choices-str", "no-message", "content-int", "bad-usage", "list", "bad-json", "html"],
)
async def test_malformed_2xx_bodies(http_mock, recorded_sleeps, response):
    route = http_mock.post(URL).mock(return_value=response)
    with pytest.raises(MalformedResponseError) as info:
        await get_model("openai/gpt-4o-mini", retry=RETRY).generate(MESSAGES)
    assert route.call_count == RETRY.max_attempts  # retried like other transient failures, then raised
    assert info.value.__cause__ is None and info.value.__context__ is None


async def test_cache_hit_reaches_no_backend_and_config_changes_miss(http_mock, tmp_path):
    route = http_mock.post(URL).mock(return_value=httpx.Response(200, json=completion()))
    cache = CallCache(tmp_path / "calls.sqlite")
    model = get_model("openai/gpt-4o-mini", retry=RETRY, cache=cache)
    config = GenerateConfig(seed=1)

    first = await model.generate(MESSAGES, config)
    second = await model.generate(MESSAGES, config)
    assert route.call_count == 1
    assert not first.cached and second.cached and second.text == first.text

    await model.generate(MESSAGES, GenerateConfig(seed=2))
    assert route.call_count == 2
    await model.generate(MESSAGES, GenerateConfig(seed=1, temperature=0.5))
    assert route.call_count == 3
    await model.generate(MESSAGES, GenerateConfig(seed=1, max_tokens=9))
    assert route.call_count == 4
    await get_model("openai/gpt-4o", retry=RETRY, cache=cache).generate(MESSAGES, config)
    assert route.call_count == 5
    cache.close()

    reopened = CallCache(tmp_path / "calls.sqlite")
    again = await get_model("openai/gpt-4o-mini", cache=reopened).generate(MESSAGES, config)
    assert again.cached and route.call_count == 5
    reopened.close()


async def test_base_url_from_env_sets_endpoint_and_cache_identity(http_mock, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://proxy.local:8080/v1/")
    route = http_mock.post("http://proxy.local:8080/v1/chat/completions").mock(
        return_value=httpx.Response(200, json=completion())
    )
    provider = OpenAIProvider("gpt-4o-mini")
    assert provider.endpoint == "http://proxy.local:8080/v1"
    assert provider.cache_identity() == "openai/gpt-4o-mini@http://proxy.local:8080/v1"
    assert OpenAIProvider("m", base_url="https://api.openai.com/v1").cache_identity() == "openai/m"
    out = await get_model("openai/gpt-4o-mini", retry=RETRY).generate(MESSAGES)
    assert out.text == "4" and route.call_count == 1


async def test_missing_key_is_a_config_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ModelConfigError, match="OPENAI_API_KEY"):
        get_model("openai/gpt-4o-mini")


async def test_null_content_and_missing_usage_are_tolerated(http_mock):
    body = completion()
    body["choices"][0]["message"]["content"] = None
    body["choices"][0]["finish_reason"] = "length"
    del body["usage"]
    http_mock.post(URL).mock(return_value=httpx.Response(200, json=body))
    out = await get_model("openai/gpt-4o-mini", retry=RETRY).generate(MESSAGES)
    assert out.text == "" and out.finish_reason == "length" and out.usage.total_tokens == 0
