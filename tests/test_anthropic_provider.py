"""The Anthropic provider through `get_model` (our middleware on top), the real `anthropic` SDK below, HTTP mocked."""

from __future__ import annotations

import json

import httpx
import pytest

from oversight.models import CallCache, MalformedResponseError, ModelAPIError, ModelConfigError, RetryPolicy, get_model
from oversight.types import ChatMessage, GenerateConfig

pytest_plugins = ["respx_httpx2"]  # the http_mock and recorded_sleeps fixtures

URL = "https://api.anthropic.com/v1/messages"
RETRY = RetryPolicy(max_attempts=3, base=0.001, cap=5.0)
MESSAGES = [
    ChatMessage(role="system", content="You are terse."),
    ChatMessage(role="system", content="Answer with a number."),
    ChatMessage(role="user", content="2+2?"),
    ChatMessage(role="user", content="Quickly."),
    ChatMessage(role="assistant", content="Thinking"),
    ChatMessage(role="user", content="Well?"),
]


def message(*texts: str, stop_reason: str = "end_turn") -> dict:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-haiku-20241022",
        "content": [{"type": "text", "text": t} for t in texts],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 20, "output_tokens": 2, "cache_read_input_tokens": 5},
    }


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-000000")
    for var in ("ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OVERSIGHT_CONFIG", "/nonexistent/oversight.toml")


async def test_success_maps_system_turns_and_usage(http_mock):
    route = http_mock.post(URL).mock(return_value=httpx.Response(200, json=message("4", "!")))
    model = get_model("anthropic/claude-3-5-haiku-latest", retry=RETRY)
    config = GenerateConfig(temperature=0.3, max_tokens=7, seed=5, stop=("END",), extra={"top_k": 5})

    out = await model.generate(MESSAGES, config)

    assert out.text == "4!"
    assert out.model == "anthropic/claude-3-5-haiku-latest"
    assert out.finish_reason == "stop"
    assert (out.usage.input_tokens, out.usage.output_tokens) == (25, 2)
    assert out.logprobs is None and out.latency > 0
    request = route.calls.last.request
    assert request.headers["authorization"] == "Bearer sk-ant-test-000000"  # anthropic>=2 sends the key as a bearer
    assert "anthropic-version" in request.headers
    assert json.loads(request.content) == {
        "model": "claude-3-5-haiku-latest",
        "system": "You are terse.\n\nAnswer with a number.",
        "messages": [
            {"role": "user", "content": "2+2?\n\nQuickly."},
            {"role": "assistant", "content": "Thinking"},
            {"role": "user", "content": "Well?"},
        ],
        "max_tokens": 7,
        "temperature": 0.3,
        "stop_sequences": ["END"],
        "top_k": 5,
    }
    await model.aclose()


async def test_max_tokens_stop_and_logprobs_request(http_mock):
    route = http_mock.post(URL).mock(
        return_value=httpx.Response(200, json=message("partial", stop_reason="max_tokens"))
    )
    out = await get_model("anthropic/claude-x", retry=RETRY).generate(
        [ChatMessage(role="user", content="hi")], GenerateConfig(logprobs=True, top_logprobs=3)
    )
    assert out.finish_reason == "length" and out.logprobs is None
    body = json.loads(route.calls.last.request.content)
    assert "system" not in body and "logprobs" not in body


async def test_rate_limit_honours_retry_after_then_succeeds(http_mock, recorded_sleeps):
    route = http_mock.post(URL).mock(
        side_effect=[
            httpx.Response(
                429,
                headers={"retry-after": "3"},
                json={"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}},
            ),
            httpx.Response(200, json=message("ok")),
        ]
    )
    model = get_model("anthropic/claude-x", retry=RETRY)
    out = await model.generate(MESSAGES)
    assert out.text == "ok" and route.call_count == 2
    assert recorded_sleeps == [3.0] and model.retries == 1


async def test_overloaded_529_is_retried_then_raises(http_mock, recorded_sleeps):
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    route = http_mock.post(URL).mock(return_value=httpx.Response(529, json=body))
    with pytest.raises(ModelAPIError) as info:
        await get_model("anthropic/claude-x", retry=RETRY).generate(MESSAGES)
    assert route.call_count == RETRY.max_attempts and len(recorded_sleeps) == RETRY.max_attempts - 1
    assert info.value.status == 529 and info.value.retryable and "Overloaded" in str(info.value)


async def test_repeated_500s_raise_after_max_attempts(http_mock, recorded_sleeps):
    route = http_mock.post(URL).mock(
        return_value=httpx.Response(500, json={"type": "error", "error": {"message": "x"}})
    )
    with pytest.raises(ModelAPIError) as info:
        await get_model("anthropic/claude-x", retry=RETRY).generate(MESSAGES)
    assert route.call_count == RETRY.max_attempts
    assert info.value.status == 500 and info.value.__cause__ is None and info.value.__context__ is None


async def test_400_is_not_retried(http_mock, recorded_sleeps):
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: too large"}}
    route = http_mock.post(URL).mock(return_value=httpx.Response(400, json=body))
    with pytest.raises(ModelAPIError) as info:
        await get_model("anthropic/claude-x", retry=RETRY).generate(MESSAGES)
    assert route.call_count == 1 and recorded_sleeps == []
    assert info.value.status == 400 and not info.value.retryable and "max_tokens: too large" in str(info.value)


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("read timed out"), httpx.ConnectTimeout("connect timed out")])
async def test_timeouts_are_retried_then_raise(http_mock, recorded_sleeps, exc):
    route = http_mock.post(URL).mock(side_effect=exc)
    with pytest.raises(ModelAPIError, match="timed out") as info:
        await get_model("anthropic/claude-x", retry=RETRY).generate(MESSAGES)
    assert route.call_count == RETRY.max_attempts and info.value.retryable


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"id": "msg_1", "type": "message"}),
        httpx.Response(200, json={**message(), "content": "text"}),
        httpx.Response(200, json={**message(), "content": [{"type": "text", "text": 5}]}),
        httpx.Response(200, json={**message("a"), "usage": {"input_tokens": "lots", "output_tokens": 1}}),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(200, content=b"{truncated", headers={"content-type": "application/json"}),
        httpx.Response(200, text="<html>proxy</html>"),
    ],
    ids=["no-content", "content-str", "text-int", "bad-usage", "list", "bad-json", "html"],
)
async def test_malformed_2xx_bodies(http_mock, recorded_sleeps, response):
    route = http_mock.post(URL).mock(return_value=response)
    with pytest.raises(MalformedResponseError):
        await get_model("anthropic/claude-x", retry=RETRY).generate(MESSAGES)
    assert route.call_count == RETRY.max_attempts  # retried like other transient failures, then raised


async def test_cache_hit_reaches_no_backend_and_config_changes_miss(http_mock, tmp_path):
    route = http_mock.post(URL).mock(return_value=httpx.Response(200, json=message("ok")))
    cache = CallCache(tmp_path / "calls.sqlite")
    model = get_model("anthropic/claude-x", retry=RETRY, cache=cache)

    first = await model.generate(MESSAGES, GenerateConfig(seed=1))
    second = await model.generate(MESSAGES, GenerateConfig(seed=1))
    assert route.call_count == 1 and second.cached and second.text == first.text
    await model.generate(MESSAGES, GenerateConfig(seed=2))
    await model.generate(MESSAGES, GenerateConfig(seed=1, stop=("x",)))
    assert route.call_count == 3
    cache.close()


async def test_bad_requests_fail_before_any_http(http_mock):
    route = http_mock.post(URL).mock(return_value=httpx.Response(200, json=message("ok")))
    model = get_model("anthropic/claude-x", retry=RETRY)
    with pytest.raises(ModelConfigError, match="temperature"):
        await model.generate(MESSAGES, GenerateConfig(temperature=1.5))
    with pytest.raises(ModelConfigError, match="at least one"):
        await model.generate([ChatMessage(role="system", content="only a system prompt")])
    assert route.call_count == 0


async def test_send_temperature_false_omits_it(http_mock):
    route = http_mock.post(URL).mock(return_value=httpx.Response(200, json=message("ok")))
    model = get_model("anthropic/claude-x", retry=RETRY, send_temperature=False)
    await model.generate(MESSAGES, GenerateConfig(temperature=1.5))
    assert "temperature" not in json.loads(route.calls.last.request.content)


async def test_missing_key_is_a_config_error(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(ModelConfigError, match="ANTHROPIC_API_KEY"):
        get_model("anthropic/claude-x")
