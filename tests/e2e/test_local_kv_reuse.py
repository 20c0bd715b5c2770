"""Prompt reuse in the embedded model is exact: the same outputs as evaluating every prompt from scratch.

llama.cpp promises equal logits only for equal batch shapes, so reuse keeps whole `n_batch` chunks; these tests
check, on the real SmolLM2-135M, that reuse (from the live context and from saved states) gives bit-identical
text and logprobs to a fresh evaluation with the same batch size, that `kv_reuse=False` is the computation every
call made before reuse existed, and that the thread count does not change outputs with flash attention off.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from oversight.models import get_model
from oversight.models.llamacpp import resolve_gguf
from oversight.types import ChatMessage, GenerateConfig

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SPEC = "local/smollm2-135m"
PASSAGE = " ".join(f"Person {i} was born in Town {i % 7} in {1900 + i}." for i in range(30))
CFG = GenerateConfig(max_tokens=12, logprobs=True, top_logprobs=3)


def debate_prompts() -> list[list[ChatMessage]]:
    """Two speakers taking turns over a growing transcript, then a judge: what a debate sends."""
    history: list[str] = []
    calls = []
    for rnd in range(2):
        for side in ("A", "B"):
            transcript = "\n".join(history)
            calls.append(
                [
                    ChatMessage(role="system", content=f"You are debater {side}. Argue for answer {side}."),
                    ChatMessage(role="user", content=f"{PASSAGE}\n\nTranscript:\n{transcript}\nYour speech:"),
                ]
            )
            history.append(f"Debater {side}, round {rnd}: the passage supports answer {side}, see Person {rnd}.")
    calls.append([ChatMessage(role="user", content="Judge this debate.\n" + "\n".join(history) + "\nAnswer:")])
    return calls


async def outputs(**options) -> tuple[list, dict]:
    model = get_model(SPEC, **options)
    try:
        got = []
        for messages in debate_prompts():
            out = await model.generate(messages, CFG)
            got.append((out.text, [(t.token, t.logprob, [(x.token, x.logprob) for x in t.top]) for t in out.logprobs]))
        return got, model.provider.reuse_stats()
    finally:
        await model.aclose()


async def test_reuse_equals_a_fresh_evaluation_bit_for_bit():
    fresh, fresh_stats = await outputs(kv_reuse=False, n_batch=64)
    reused, stats = await outputs(kv_reuse=True, n_batch=64)
    assert reused == fresh
    assert fresh_stats["evaluated_tokens"] == fresh_stats["prompt_tokens"]
    assert stats["evaluated_tokens"] < 0.75 * stats["prompt_tokens"]  # the shared prefixes were not re-read
    assert stats["reused_saved"] > 0 and stats["states_loaded"] > 0  # B's turn came back from a saved state


async def test_reuse_with_the_old_batch_size_equals_the_old_outputs():
    old, _ = await outputs(kv_reuse=False, flash_attn=True)
    assert (await outputs(kv_reuse=True, n_batch=512, flash_attn=True))[0] == old


def test_kv_reuse_false_is_the_computation_calls_made_before():
    """The old provider: reset, then llama-cpp-python's generate over the whole prompt in 512-token batches."""
    import asyncio

    import llama_cpp
    import numpy as np

    messages = debate_prompts()[2]
    ours, _ = asyncio.run(outputs(kv_reuse=False, flash_attn=True, n_threads=2))
    llm = llama_cpp.Llama(
        model_path=str(resolve_gguf("smollm2-135m")),
        n_ctx=4096,
        n_threads=2,
        n_threads_batch=2,
        flash_attn=True,
        verbose=False,
    )
    try:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        eos = llm.detokenize([llm.token_eos()], special=True).decode()
        bos = llm.detokenize([llm.token_bos()], special=True).decode()
        fmt = Jinja2ChatFormatter(template=llm.metadata["tokenizer.chat_template"], eos_token=eos, bos_token=bos)
        rendered = fmt(messages=[{"role": m.role, "content": m.content} for m in messages])
        prompt = llm.tokenize(rendered.prompt.encode(), add_bos=not rendered.added_special, special=True)
        llm.reset()
        first_logprobs = []
        for token in llm.generate(prompt, temp=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0):
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),))
            logits = np.asarray(logits, dtype=np.float64)
            peak = logits.max()
            first_logprobs.append(float(logits[token] - (peak + np.log(np.exp(logits - peak).sum()))))
            if len(first_logprobs) == 4:
                break
    finally:
        llm.close()
    third_call = ours[2][1]
    assert [lp for _, lp, _ in third_call[:4]] == first_logprobs


async def test_outputs_do_not_depend_on_the_thread_count_with_flash_attention_off():
    one, _ = await outputs(n_threads=1)
    two, _ = await outputs(n_threads=2)
    assert one == two


async def test_two_contexts_serving_calls_at_once_give_the_same_outputs():
    """`n_parallel = 2`: the calls of a round run on two contexts at once, sharing saved states; every output
    equals the one context's, whichever context served it."""
    import asyncio

    rounds = [debate_prompts()[0:2], debate_prompts()[2:4], debate_prompts()[4:]]

    async def play(**options) -> tuple[list, dict, Any]:
        model = get_model(SPEC, **options)
        try:
            got = []
            for calls in rounds:  # the calls of a round are independent: sent together
                outs = await asyncio.gather(*(model.generate(m, CFG) for m in calls for _ in range(2)))
                got += [(o.text, [(t.token, t.logprob) for t in o.logprobs]) for o in outs]
            return got, model.provider.reuse_stats(), [s.stats.calls for s in model.provider._shared.slots]
        finally:
            await model.aclose()

    def fds() -> list[tuple[int, int]]:
        return [(os.fstat(fd).st_dev, os.fstat(fd).st_ino) for fd in (1, 2)]

    before = fds()
    one, one_stats, _ = await play()
    two, stats, per_slot = await play(n_parallel=2)
    # Both contexts loaded at once: each load hides stdout/stderr and restores them; the process keeps its own.
    assert fds() == before
    assert two == one
    assert all(calls > 0 for calls in per_slot) and sum(per_slot) == len(one)  # both contexts served calls
    assert stats["evaluated_tokens"] < stats["prompt_tokens"]  # reuse still works across the two


@pytest.mark.timeout(1200)
async def test_saved_states_stay_within_their_budget():
    def prompt(i: int) -> list[ChatMessage]:  # ~200 tokens: about 4.5 MiB of saved state each
        return [ChatMessage(role="user", content=" ".join(f"Item {i}.{j} is red." for j in range(20)))]

    for budget, keeps_some in ((2, False), (10, True)):
        model = get_model(SPEC, kv_cache_mb=budget)
        try:
            for i in range(3):
                await model.generate(prompt(i), GenerateConfig(max_tokens=1))
            cache = model.provider._shared.slots[0].prompts
            assert cache.saved_bytes <= budget * 2**20
            if keeps_some:  # room for one or two states, not three: the oldest went first
                assert 1 <= len(cache.saved) < 3 and cache.stats.states_saved == 3
                assert all(s.nbytes / len(s.tokens) > 20_000 for s in cache.saved.values())  # ~22.5 KiB/token
            else:  # every state is over the budget: none is kept, the live context still serves
                assert cache.stats.states_saved == 0 and not cache.saved
        finally:
            await model.aclose()
