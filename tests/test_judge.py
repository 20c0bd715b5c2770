"""The LLM judge: probabilities from logprobs or stated confidence, bounded retries, invalid judgments."""

import math

import pytest

from judges import LLMJudge, read_logprob_answer, read_stated_answer
from oversight.models import get_model
from oversight.transcript import Transcript
from oversight.types import ModelOutput, Question, TokenLogprob, TopLogprob

Q = Question(id="q1", text="Who wins?", choices=["red", "blue"], answer=1, context="Blue wins the race.")


def view(order=(0, 1), role="judge", seed=0):
    t = Transcript.start(Q, seed=seed, order=order)
    return t.view_for(role, task="decide")


def lp_output(text_tokens, answer_top):
    toks = [TokenLogprob(token=t, logprob=-0.1) for t in text_tokens]
    i = next(k for k, t in enumerate(text_tokens) if t.strip() in "AB" and t.strip())
    toks[i] = TokenLogprob(
        token=text_tokens[i],
        logprob=answer_top[0][1],
        top=[TopLogprob(token=t, logprob=lp) for t, lp in answer_top],
    )
    return ModelOutput(text="".join(text_tokens), logprobs=toks)


def test_logprob_probability_normalised_over_the_two_letters():
    out = lp_output(["Answer", ":", " B", "\n"], [(" B", math.log(0.6)), (" A", math.log(0.2)), (" C", -1.0)])
    assert read_logprob_answer(out, "AB") == pytest.approx([0.25, 0.75])


def test_logprob_sums_spelling_variants_of_a_letter():
    out = lp_output(["Answer", ":", " A"], [(" A", math.log(0.4)), ("A", math.log(0.1)), (" B", math.log(0.5))])
    assert read_logprob_answer(out, "AB") == pytest.approx([0.5, 0.5])


def test_stated_confidence_and_case_rules():
    assert read_stated_answer("Answer: B\nConfidence: 80%", "AB") == ("B", 0.8)
    assert read_stated_answer("answer (A) confidence 0.3", "AB") == ("A", 0.3)
    assert read_stated_answer("I will answer a question first. Answer: B", "AB") == ("B", None)
    assert read_stated_answer("Answer: C", "AB") is None
    assert read_stated_answer("A lot depends on it.", "AB") is None
    assert read_stated_answer("B.", "AB") == ("B", None)


async def test_judge_maps_letters_back_through_order_shown():
    model = get_model("scripted/j", outputs=["Answer: A\nConfidence: 90%"])
    judge = LLMJudge(model)
    v = await judge.decide(view(order=(1, 0)))  # letter A shows choice 1
    j = v.judgment
    assert j.valid and j.method == "stated" and j.choice == 1
    assert j.probabilities == pytest.approx([0.1, 0.9])
    assert j.provenance.order_shown == [1, 0]
    assert j.provenance.judge == judge.identity and judge.identity.startswith("scripted/j#")


async def test_judge_prefers_logprobs_and_requests_them():
    seen = []

    def fn(messages, config):
        seen.append(config)
        return lp_output(["Answer", ":", " A"], [(" A", math.log(0.7)), (" B", math.log(0.3))]).model_dump()

    judge = LLMJudge(get_model("scripted/j", fn=fn))
    j = (await judge.decide(view())).judgment
    assert j.method == "logprobs" and j.choice == 0
    assert j.probabilities == pytest.approx([0.7, 0.3])
    assert seen[0].logprobs and seen[0].top_logprobs == 10


async def test_unparseable_output_is_retried_then_recorded_invalid():
    model = get_model("scripted/j", outputs=["I cannot say.", "Hmm.", "Still unsure."])
    v = await LLMJudge(model, max_retries=2).decide(view())
    assert not v.judgment.valid and v.judgment.choice is None and v.judgment.probabilities is None
    assert v.judgment.attempts == 3 and len(v.turns) == 3
    seeds = [t.meta["attempt"] for t in v.turns]
    assert seeds == [0, 1, 2]


async def test_retry_uses_new_seed_and_recovers():
    configs = []
    outputs = iter(["no idea", "Answer: B\nConfidence: 70%"])

    def fn(messages, config):
        configs.append(config)
        return next(outputs)

    v = await LLMJudge(get_model("scripted/j", fn=fn), max_retries=3).decide(view(seed=5))
    assert v.judgment.valid and v.judgment.attempts == 2 and v.judgment.choice == 1
    assert [c.seed for c in configs] == [5, 6] and configs[1].temperature > 0


async def test_require_probability_rejects_a_bare_letter():
    model = get_model("scripted/j", outputs=["Answer: A", "Answer: A"])
    v = await LLMJudge(model, max_retries=1, require_probability=True).decide(view())
    assert not v.judgment.valid


async def test_judge_prompt_never_contains_context():
    model = get_model("scripted/j", outputs=["Answer: B"])
    v = await LLMJudge(model).decide(view())
    sent = " ".join(m.content for m in v.turns[0].seen)
    assert "Blue wins the race" not in sent and "Who wins?" in sent


def test_prompt_override_changes_identity():
    m = get_model("scripted/j", outputs=["x"])
    assert LLMJudge(m).identity != LLMJudge(m, prompts={"judge_decide": "Q {question} {choices}"}).identity


def test_logprob_fallback_only_reads_a_leading_letter():
    lead = lp_output([" B", ".", " Because"], [(" B", math.log(0.8)), (" A", math.log(0.2))])
    assert read_logprob_answer(lead, "AB") == pytest.approx([0.2, 0.8])
    article = lp_output(["The", " text", " has", " A"], [(" A", math.log(0.8)), (" B", math.log(0.2))])
    assert read_logprob_answer(article, "AB") is None
