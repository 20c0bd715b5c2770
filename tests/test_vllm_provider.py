"""The vLLM provider without a server: request bodies (HTTP mocked), options, and spreading calls over servers.
The real server is exercised in tests/e2e/test_vllm.py."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from oversight.models import EndpointLimits, ModelConfigError, get_model
from oversight.models.vllm import VLLMProvider, translate_guided
from oversight.types import ChatMessage, GenerateConfig, ModelOutput

pytest_plugins = ["respx_httpx2"]  # the `http_mock` fixture

A, B = "http://gpu-a:8000/v1", "http://gpu-b:8000/v1"
MSGS = [ChatMessage(role="user", content="Sky colour?")]


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.delenv("VLLM_API_KEY", raising=False)
    monkeypatch.delenv("VLLM_BASE_URL", raising=False)


def completion(text: str) -> dict:
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "smollm2",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
    }


def test_guided_fields_become_structured_outputs():
    assert translate_guided({"top_k": 5}) == {"top_k": 5}
    assert translate_guided({"guided_choice": ["a", "b"], "guided_decoding_backend": "xgrammar", "top_k": 5}) == {
        "top_k": 5,
        "structured_outputs": {"choice": ["a", "b"]},
    }
    with pytest.raises(ModelConfigError, match="guided_regex"):
        translate_guided({"guided_regex": "x", "structured_outputs": {"regex": "y"}})


async def test_request_body_carries_extras_and_a_placeholder_key(http_mock):
    route = http_mock.post(f"{A}/chat/completions").mock(return_value=httpx.Response(200, json=completion("blue")))
    model = get_model("vllm/smollm2", base_url=A)
    config = GenerateConfig(max_tokens=7, top_logprobs=3, extra={"guided_choice": ["blue", "red"], "top_k": 4})

    out = await model.generate(MSGS, config)

    assert out.text == "blue" and out.model == "vllm/smollm2"
    request = route.calls.last.request
    body = json.loads(request.content)
    assert body["model"] == "smollm2" and body["max_tokens"] == 7
    assert body["logprobs"] is True and body["top_logprobs"] == 3
    assert body["structured_outputs"] == {"choice": ["blue", "red"]} and body["top_k"] == 4
    assert "guided_choice" not in body
    assert request.headers["authorization"] == "Bearer EMPTY"


async def test_guided_pass_and_api_key_from_env(http_mock, monkeypatch):
    monkeypatch.setenv("VLLM_API_KEY", "vllm-key-123456")
    route = http_mock.post(f"{A}/chat/completions").mock(return_value=httpx.Response(200, json=completion("x")))
    await get_model("vllm/m", base_url=A, guided="pass").generate(MSGS, GenerateConfig(extra={"guided_choice": ["x"]}))
    assert json.loads(route.calls.last.request.content)["guided_choice"] == ["x"]
    assert route.calls.last.request.headers["authorization"] == "Bearer vllm-key-123456"


def test_option_errors(monkeypatch):
    with pytest.raises(ModelConfigError, match="base_url"):
        get_model("vllm/m")
    with pytest.raises(ModelConfigError, match="not both"):
        get_model("vllm/m", base_url=A, launch={"model_dir": "x"})
    with pytest.raises(ModelConfigError, match="model_dir"):
        get_model("vllm/m", launch={"command": ["x"]})
    with pytest.raises(ModelConfigError, match="unknown launch option"):
        get_model("vllm/m", launch={"model_dir": "x", "gpus": 2})
    with pytest.raises(ModelConfigError, match="twice"):
        get_model("vllm/m", base_url=[A, A + "/"])
    monkeypatch.setenv("VLLM_BASE_URL", B)
    assert get_model("vllm/m").provider.urls == [B]


def test_cache_identity_does_not_depend_on_order_or_port(tmp_path):
    assert VLLMProvider("m", base_url=[A, B]).cache_identity() == VLLMProvider("m", base_url=[B, A]).cache_identity()
    launched = VLLMProvider("m", launch={"model_dir": str(tmp_path)})
    assert launched.cache_identity() == f"vllm/m@{tmp_path}"


class Slow:
    """Stands in for one server's client: answers after `delay`, recording the most calls it had at once."""

    def __init__(self, delay: float) -> None:
        self.delay, self.now, self.peak = delay, 0, 0

    async def generate(self, messages, config):
        self.now += 1
        self.peak = max(self.peak, self.now)
        await asyncio.sleep(self.delay)
        self.now -= 1
        return ModelOutput(text="ok")

    async def aclose(self):
        pass


@pytest.mark.parametrize("balance", ["least_in_flight", "round_robin"])
async def test_calls_spread_over_servers_and_the_limit_applies_per_server(balance):
    model = get_model("vllm/m", base_url=[A, B], balance=balance, limits=EndpointLimits(default=2))
    fakes = model.provider.clients = [Slow(0.05), Slow(0.05)]

    await asyncio.gather(*(model.generate(MSGS) for _ in range(8)))

    assert model.provider.calls == {A: 4, B: 4}
    assert [f.peak for f in fakes] == [2, 2]  # two per server: the limit is per URL, not per model


async def test_least_in_flight_prefers_the_idle_server():
    provider = VLLMProvider("m", base_url=[A, B])
    slow, fast = Slow(0.3), Slow(0.0)
    provider.clients = [slow, fast]
    provider.in_flight[A] = 5  # A is busy
    for _ in range(4):
        await provider.generate(MSGS, GenerateConfig())
    assert provider.calls == {A: 0, B: 4}
