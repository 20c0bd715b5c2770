"""Escapes assembled from noted pieces are exactly `json.dumps(text, ensure_ascii=False)`, so cache keys built
from them equal the generic key (an old cache file still hits)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from oversight import json_escape
from oversight.json_escape import concat, json_string, note_format, note_join
from oversight.models.cache import call_key, legacy_call_key
from oversight.prompts import PromptSet
from oversight.types import ChatMessage, GenerateConfig, trusted

# every character class the escape treats apart: quotes, backslashes, controls, non-ASCII, astral, lone surrogates
texts = st.text(
    alphabet=st.one_of(
        st.sampled_from('"\\\n\r\t\b\f\x00\x1f\x7f{}é—😀\u2028'), st.characters(), st.characters(codec="ascii")
    ),
    max_size=200,
)


def dumps(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


@given(st.lists(texts, max_size=6))
def test_a_noted_concatenation_escapes_as_the_whole(parts: list[str]) -> None:
    text = concat(*parts)
    assert json_string(text) == dumps(text)


@given(texts, st.lists(texts, max_size=6))
def test_a_noted_join_escapes_as_the_whole(sep: str, parts: list[str]) -> None:
    blocks = [concat("<", p, ">") for p in parts]  # noted pieces inside a noted join
    text = note_join(sep.join(blocks), sep, blocks)
    assert json_string(text) == dumps(text)
    assert json_string(text) == dumps(text)  # again, from the remembered pieces


@given(texts, texts, st.integers())
def test_a_noted_template_escapes_as_the_filled_template(a: str, b: str, n: int) -> None:
    template = 'Say "{a}" \\ then\n{b} and {{literal}} {n}.'
    fields = {"a": concat("[", a, "]"), "b": b, "n": n}
    text = note_format(template.format_map(fields), template, fields)
    assert json_string(text) == dumps(text)


def test_templates_with_conversions_or_specs_fall_back_to_the_whole_escape() -> None:
    for template in ("{a!r} x", "{a:>12}", "{a[0]}", "{b.real}"):
        fields = {"a": 'q"uote\n', "b": 1.5}
        text = note_format(template.format_map(fields), template, fields)
        assert json_string(text) == dumps(text)
    fields = {"x": 1.25, "y": None}  # values that format themselves
    text = note_format("{x} {y}".format_map(fields), "{x} {y}", fields)
    assert json_string(text) == dumps(text)


def test_a_result_that_is_its_own_input_is_not_noted() -> None:
    block = 'one "block"\n' * 10
    joined = "\n\n".join([block])  # a one-item join is the item itself
    assert joined is block
    note_join(joined, "\n\n", [block])
    template = "{x}"
    filled = template.format_map({"x": block})
    note_format(filled, template, {"x": block})
    assert json_string(block) == dumps(block)


def test_full_tables_are_emptied_and_answers_stay_exact(monkeypatch: object) -> None:
    monkeypatch.setattr(json_escape, "TABLE_SIZE", 4)  # type: ignore[attr-defined]
    made = [concat("a\n" * 40, str(i), '"' * 70) for i in range(20)]
    for text in made:
        assert json_string(text) == dumps(text)


@settings(max_examples=50)
@given(texts, st.lists(texts, min_size=1, max_size=5), texts, st.integers(0, 2**31))
def test_call_keys_from_rendered_prompts_equal_the_generic_key(
    context: str, speeches: list[str], question: str, seed: int
) -> None:
    prompts = PromptSet.from_texts({"sys": "You argue. {word_limit} words.", "user": "{context_section}Q: {q}\n{ts}"})
    section = concat("The text:\n<source>\n", context, "\n</source>\n\n")
    joined = note_join("\n\n".join(speeches), "\n\n", speeches)
    ts = concat("\nTranscript so far:\n", joined, "\n")
    messages = [
        trusted(ChatMessage, role="system", content=prompts.render("sys", word_limit=150)),
        trusted(ChatMessage, role="user", content=prompts.render("user", context_section=section, q=question, ts=ts)),
    ]
    config = GenerateConfig(seed=seed, max_tokens=332)
    assert call_key("scripted/x", messages, config) == legacy_call_key("scripted/x", messages, config)
