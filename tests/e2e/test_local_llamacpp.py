"""Real generation with the embedded SmolLM2-135M GGUF through llama.cpp (needs `oversight[local]`; ~1 min)."""

import ast
import asyncio
import math
import subprocess
import sys
from collections.abc import Iterator

import pytest

from oversight.models import ManagedModel, ModelConfigError, get_model
from oversight.types import ChatMessage, GenerateConfig

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SPEC = "local/smollm2-135m"
GREEDY_LP = GenerateConfig(temperature=0.0, max_tokens=24, logprobs=True, top_logprobs=5)


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


@pytest.fixture(scope="module")
def model() -> Iterator[ManagedModel]:
    m = get_model(SPEC)  # no call cache: every call below really runs the model
    yield m
    asyncio.run(m.aclose())


async def test_generates_text_with_usage_and_finish_reason(model: ManagedModel):
    out = await model.generate(user("What is the capital of France?"), GenerateConfig(max_tokens=24))
    assert out.text.strip()
    assert out.model == SPEC and not out.cached
    assert out.usage.input_tokens > 5 and 0 < out.usage.output_tokens <= 24
    assert out.finish_reason in {"stop", "length"}
    assert out.latency > 0 and out.logprobs is None


async def test_top_logprobs_are_a_sane_distribution(model: ManagedModel):
    out = await model.generate(user("Name three primary colours."), GREEDY_LP)
    assert out.finish_reason == "length" and out.logprobs is not None
    assert len(out.logprobs) == out.usage.output_tokens == 24
    for pos in out.logprobs:
        assert len(pos.top) == 5
        values = [t.logprob for t in pos.top]
        assert values == sorted(values, reverse=True) and all(v <= 0 for v in values)
        assert sum(math.exp(v) for v in values) <= 1 + 1e-6
        # greedy: the sampled token is the most likely one, with the same logprob
        assert pos.top[0].token == pos.token and pos.top[0].logprob == pytest.approx(pos.logprob)
    assert "".join(t.token for t in out.logprobs) == out.text


async def test_logprobs_without_top_give_the_sampled_token_only(model: ManagedModel):
    out = await model.generate(user("Say hi."), GenerateConfig(max_tokens=4, logprobs=True))
    assert out.logprobs and all(t.top == [] and t.logprob <= 0 for t in out.logprobs)


async def test_temperature_zero_is_deterministic(model: ManagedModel):
    a = await model.generate(user("Write one sentence about rivers."), GREEDY_LP)
    b = await model.generate(user("Write one sentence about rivers."), GREEDY_LP)
    assert not a.cached and not b.cached
    assert a.text == b.text
    assert [t.logprob for t in a.logprobs or []] == [t.logprob for t in b.logprobs or []]


async def test_seeded_sampling_repeats(model: ManagedModel):
    cfg = GenerateConfig(temperature=1.0, max_tokens=16, seed=7)
    a = await model.generate(user("Invent a name for a cat."), cfg)
    b = await model.generate(user("Invent a name for a cat."), cfg)
    assert a.text == b.text


async def test_stop_sequence_cuts_text_and_logprobs(model: ManagedModel):
    cfg = GenerateConfig(max_tokens=48, stop=("\n",), logprobs=True, top_logprobs=2)
    out = await model.generate(user("List three fruits, one per line."), cfg)
    assert "\n" not in out.text and out.finish_reason == "stop"
    assert "".join(t.token for t in out.logprobs or []).startswith(out.text)


async def test_concurrent_calls_queue_and_match_sequential_results(model: ManagedModel):
    prompts = [f"Give one fact about the number {n}." for n in range(4)]
    cfg = GenerateConfig(max_tokens=12, logprobs=True, top_logprobs=3)
    together = await asyncio.gather(*(model.generate(user(p), cfg) for p in prompts))
    alone = [await model.generate(user(p), cfg) for p in prompts]
    assert all(o.text and o.logprobs for o in together)
    assert [o.text for o in together] == [o.text for o in alone]


async def test_providers_share_one_loaded_model(model: ManagedModel):
    other = get_model(SPEC)
    await other.generate(user("Hi"), GenerateConfig(max_tokens=2))
    await model.generate(user("Hi"), GenerateConfig(max_tokens=2))
    assert other.provider._shared is model.provider._shared  # type: ignore[attr-defined]
    await other.aclose()
    await other.aclose()  # twice is fine, and the first model keeps working
    assert (await model.generate(user("Hi"), GenerateConfig(max_tokens=2))).usage.output_tokens > 0


def test_cli_models_check_prints_a_real_completion_with_logprobs():
    proc = subprocess.run(
        [sys.executable, "-m", "oversight", "models", "check", SPEC, "--max-tokens", "16"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(":", 1) for line in proc.stdout.splitlines() if ":" in line)
    assert lines["model"].strip() == SPEC
    assert ast.literal_eval(lines["completion"].strip())  # the CLI prints repr() of the text
    assert "logprobs:    yes (16 positions)" in proc.stdout


async def test_judge_style_single_token_answer_has_both_choices_in_the_top_list(model: ManagedModel):
    prompt = "Is the sky blue on a clear day? Reply with exactly one letter.\nA) yes\nB) no\nAnswer:"
    out = await model.generate(user(prompt), GenerateConfig(max_tokens=1, logprobs=True, top_logprobs=20))
    assert out.logprobs is not None and len(out.logprobs) == 1
    top = {t.token.strip(): t.logprob for t in out.logprobs[0].top}
    assert "A" in top and "B" in top


async def test_prompt_longer_than_the_context_is_a_config_error():
    small = get_model(SPEC, n_ctx=64)
    try:
        with pytest.raises(ModelConfigError, match=r"prompt is \d+ tokens, n_ctx is 64"):
            await small.generate(user("word " * 100))
    finally:
        await small.aclose()


async def test_unknown_extra_option_is_a_config_error(model: ManagedModel):
    with pytest.raises(ModelConfigError, match="unsupported extra option"):
        await model.generate(user("Hi"), GenerateConfig(extra={"guided_choice": ["A", "B"]}))
    out = await model.generate(user("Hi"), GenerateConfig(max_tokens=4, temperature=0.7, seed=1, extra={"top_k": 40}))
    assert out.usage.output_tokens > 0
