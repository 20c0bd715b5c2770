"""API keys never leak: not into errors (whole traceback chain), reprs, logs, or anything written to disk."""

from __future__ import annotations

import logging
import traceback

import httpx
import pytest

from oversight.models import CallCache, ModelError, RetryPolicy, get_model
from oversight.types import ChatMessage, GenerateConfig

pytest_plugins = ["respx_httpx2"]  # the http_mock and recorded_sleeps fixtures

KEY = "sk-test-SECRET-123456"
EXPLICIT_KEY = "sk-explicit-SECRET-987654"
RETRY = RetryPolicy(max_attempts=2, base=0.001, cap=1.0)
MESSAGES = [ChatMessage(role="system", content="s"), ChatMessage(role="user", content="hello")]

PROVIDERS = {
    "openai/gpt-4o-mini": (
        "https://api.openai.com/v1/chat/completions",
        {
            "id": "c",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3},
        },
    ),
    "anthropic/claude-x": (
        "https://api.anthropic.com/v1/messages",
        {
            "id": "m",
            "type": "message",
            "role": "assistant",
            "model": "claude-x",
            "content": [{"type": "text", "text": "hi"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 2, "output_tokens": 1},
        },
    ),
}


def failures(key: str) -> list[httpx.Response | Exception]:
    """Failures whose bodies echo the key, as a careless server or proxy might, and plain transport errors."""
    echo = {"error": {"message": f"Incorrect API key provided: {key}", "type": "invalid_request_error"}}
    return [
        httpx.Response(401, json=echo),
        httpx.Response(500, json={"error": {"message": f"internal error for {key}"}}),
        httpx.Response(429, json=echo, headers={"retry-after": "0"}),
        httpx.Response(200, json={"choices": f"{key}", "content": f"{key}"}),
        httpx.Response(200, text=f"<html>{key}</html>", headers={"content-type": "application/json"}),
        httpx.ReadTimeout("timed out"),
        httpx.ConnectError("connection refused"),
    ]


def echoing_transport_errors(key: str) -> list[Exception]:
    """Transport errors whose own text holds the key (contrived: the SDKs' debug logs record such text verbatim,
    which we do not control, so these are checked against our errors only, not the logs)."""
    return [httpx.ReadTimeout(f"timed out talking with {key}"), httpx.ConnectError(f"refused for {key}")]


def everything_said_about(err: BaseException) -> str:
    """The formatted traceback plus str/repr/args of every exception in the chain (cause and context)."""
    parts = ["".join(traceback.format_exception(err))]
    seen: set[int] = set()
    stack: list[BaseException | None] = [err]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        parts += [str(e), repr(e), repr(e.args), repr(vars(e))]
        stack += [e.__cause__, e.__context__]
    return "\n".join(parts)


def files_under(path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file())


@pytest.fixture(autouse=True)
def _env(monkeypatch, caplog):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    for var in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OPENAI_LOG", "debug")
    monkeypatch.setenv("ANTHROPIC_LOG", "debug")
    caplog.set_level(logging.DEBUG)


@pytest.mark.parametrize("spec", list(PROVIDERS))
async def test_key_never_leaks_from_env(spec, http_mock, recorded_sleeps, tmp_path, caplog):
    url, ok_body = PROVIDERS[spec]
    route = http_mock.post(url)
    cache = CallCache(tmp_path / "cache" / "calls.sqlite")
    model = get_model(spec, retry=RETRY, cache=cache)

    route.mock(return_value=httpx.Response(200, json=ok_body))
    out = await model.generate(MESSAGES, GenerateConfig(seed=1))
    assert out.text == "hi"
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"  # the key did reach the server

    said = []
    for i, failure in enumerate(failures(KEY)):
        route.mock(side_effect=[failure] * RETRY.max_attempts)
        with pytest.raises(ModelError) as info:
            await model.generate(MESSAGES, GenerateConfig(seed=100 + i))
        said.append(everything_said_about(info.value))
    cache.close()

    for text in said:
        assert KEY not in text
    assert KEY not in repr(model) and KEY not in repr(model.provider)
    assert KEY not in repr(vars(model.provider)) and KEY not in str(vars(model))
    assert KEY not in caplog.text
    assert KEY.encode() not in files_under(tmp_path)


@pytest.mark.parametrize("spec", list(PROVIDERS))
async def test_explicit_key_is_redacted_by_the_provider(spec, http_mock, recorded_sleeps, monkeypatch, caplog):
    """A key passed as an option is not in any env var, so the middleware's redaction cannot know it."""
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    url, _ = PROVIDERS[spec]
    route = http_mock.post(url)
    model = get_model(spec, retry=RETRY, api_key=EXPLICIT_KEY)
    for failure in failures(EXPLICIT_KEY):
        route.mock(side_effect=[failure] * RETRY.max_attempts)
        with pytest.raises(ModelError) as info:
            await model.generate(MESSAGES)
        assert EXPLICIT_KEY not in everything_said_about(info.value)
    assert EXPLICIT_KEY not in repr(model.provider) and EXPLICIT_KEY not in repr(vars(model.provider))
    assert EXPLICIT_KEY not in caplog.text


@pytest.mark.parametrize("explicit", [False, True])
@pytest.mark.parametrize("spec", list(PROVIDERS))
async def test_transport_errors_quoting_the_key_are_redacted(spec, explicit, http_mock, recorded_sleeps, monkeypatch):
    key = EXPLICIT_KEY if explicit else KEY
    if explicit:
        monkeypatch.delenv("OPENAI_API_KEY")
        monkeypatch.delenv("ANTHROPIC_API_KEY")
    route = http_mock.post(PROVIDERS[spec][0])
    model = get_model(spec, retry=RETRY, **({"api_key": key} if explicit else {}))
    for failure in echoing_transport_errors(key):
        route.mock(side_effect=[failure] * RETRY.max_attempts)
        with pytest.raises(ModelError) as info:
            await model.generate(MESSAGES)
        text = everything_said_about(info.value)
        assert key not in text


async def test_error_messages_stay_useful(http_mock, recorded_sleeps):
    http_mock.post(PROVIDERS["openai/gpt-4o-mini"][0]).mock(
        return_value=httpx.Response(401, json={"error": {"message": f"Incorrect API key provided: {KEY}"}})
    )
    with pytest.raises(ModelError) as info:
        await get_model("openai/gpt-4o-mini", retry=RETRY).generate(MESSAGES)
    assert str(info.value) == (
        "openai/gpt-4o-mini: HTTP 401 from https://api.openai.com/v1: Incorrect API key provided: ***"
    )
