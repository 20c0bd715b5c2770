import json

import pytest

from oversight.models import ModelConfigError, ScriptExhaustedError, get_model
from oversight.types import ChatMessage, GenerateConfig, ModelOutput


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


async def test_list_outputs_play_in_order_then_exhaust_with_a_clear_error():
    model = get_model("scripted/judge", outputs=["A", "B"])
    assert (await model.generate(user("q1"))).text == "A"
    assert (await model.generate(user("q2"))).text == "B"
    with pytest.raises(
        ScriptExhaustedError, match=r"scripted/judge: script exhausted: asked for output #3 but it holds 2"
    ):
        await model.generate(user("q3"))


async def test_cycle_repeats_the_list():
    model = get_model("scripted/x", outputs=["A", "B"], cycle=True)
    texts = [(await model.generate(user(str(i)))).text for i in range(5)]
    assert texts == ["A", "B", "A", "B", "A"]


async def test_callable_sees_messages_and_config():
    def fn(messages: list[ChatMessage], config: GenerateConfig) -> str:
        return f"{messages[-1].content.upper()} t={config.temperature}"

    model = get_model("scripted/fn", fn=fn)
    out = await model.generate(user("hello"), GenerateConfig(temperature=0.5))
    assert out.text == "HELLO t=0.5"
    assert out.usage.input_tokens == 1 and out.usage.output_tokens == 2
    assert out.finish_reason == "stop" and out.model == "scripted/fn"


def test_fn_import_path_that_does_not_resolve_is_a_config_error():
    with pytest.raises(ModelConfigError, match="cannot import fn 'nope.module:f'"):
        get_model("scripted/q", fn="nope.module:f")


async def test_structured_items_carry_logprobs():
    item = {"text": "A", "logprobs": [{"token": "A", "logprob": -0.1, "top": [{"token": "A", "logprob": -0.1}]}]}
    model = get_model("scripted/lp", outputs=[item, ModelOutput(text="B")])
    first = await model.generate(user("q"))
    assert first.logprobs is not None and first.logprobs[0].top[0].token == "A"
    second = await model.generate(user("q"))
    assert second.text == "B" and second.model == "scripted/lp"


async def test_replay_matches_recorded_prompts_and_plays_the_rest_in_order(tmp_path):
    path = tmp_path / "replay.jsonl"
    rows = [
        {"messages": [{"role": "user", "content": "known"}], "output": {"text": "recorded"}},
        {"text": "first"},
        {"output": {"text": "second", "finish_reason": "length"}},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    model = get_model("scripted/replay", replay=str(path))
    assert (await model.generate(user("known"))).text == "recorded"
    assert (await model.generate(user("other"))).text == "first"
    out = await model.generate(user("another"))
    assert (out.text, out.finish_reason) == ("second", "length")
    with pytest.raises(ScriptExhaustedError):
        await model.generate(user("more"))


def test_bad_replay_file_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok"}\n{not json\n')
    with pytest.raises(ModelConfigError, match=r"bad\.jsonl:2: expected a JSON object"):
        get_model("scripted/r", replay=str(path))
    with pytest.raises(ModelConfigError, match="replay file not found"):
        get_model("scripted/r", replay=str(tmp_path / "missing.jsonl"))


def test_only_one_source_and_unknown_options():
    with pytest.raises(ModelConfigError, match="only one of"):
        get_model("scripted/x", outputs=["a"], fn=lambda m, c: "b")
    with pytest.raises(ModelConfigError, match="bad option"):
        get_model("scripted/x", outputz=["a"])


def test_model_strings_are_checked():
    with pytest.raises(ModelConfigError, match="must look like PROVIDER/NAME"):
        get_model("gpt-4o")
    with pytest.raises(ModelConfigError, match="unknown provider 'foo'"):
        get_model("foo/bar")
