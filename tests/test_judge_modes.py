"""LLM judge modes (logprobs, stated, reason) each with its own prompt and identity, persona jurors, rubric
provenance, and position-swap debiasing on a scripted judge with a known position bias."""

from __future__ import annotations

import math
import re

import pytest

from judges import JudgeSettings, LLMJudge, SwapJudge, build_judge
from oversight.experiment.provenance import prompt_hashes
from oversight.models import get_model
from oversight.transcript import Transcript
from oversight.types import ModelOutput, Question, TokenLogprob, TopLogprob

Q = Question(id="q", text="In which year?", choices=["1926", "1936"], answer=0)


def view(order=(0, 1), seed=0):
    return Transcript(Q, seed=seed, order=order).view_for("judge", task="decide")


def test_each_mode_has_its_own_prompt_hash_and_identity():
    m = get_model("scripted/j", outputs=["x"])
    ids = {mode: LLMJudge(m, mode=mode).identity for mode in ("logprobs", "stated", "reason")}
    assert len(set(ids.values())) == 3
    assert LLMJudge(m).identity == ids["logprobs"]  # the default mode
    assert LLMJudge(m, persona="a tired lawyer").identity not in ids.values()
    assert LLMJudge(m, persona="a tired lawyer").identity != LLMJudge(m, persona="a student").identity
    with pytest.raises(ValueError, match="mode"):
        LLMJudge(m, mode="vibes")


async def test_stated_mode_asks_for_no_logprobs_and_reads_the_confidence():
    configs = []

    def fn(messages, config):
        configs.append((messages, config))
        return "Answer: B\nConfidence: 65%"

    j = (await LLMJudge(get_model("scripted/j", fn=fn), mode="stated").decide(view())).judgment
    assert j.method == "stated" and j.choice == 1 and j.probabilities == pytest.approx([0.35, 0.65])
    messages, config = configs[0]
    assert not config.logprobs and config.top_logprobs is None
    assert "100 if you are certain" in messages[-1].content  # the stated prompt, not the logprobs one


async def test_reason_mode_reads_the_last_answer_after_the_rationale():
    text = "The debater says answer A is wrong, and the verified quote backs B.\nAnswer: B\nConfidence: 80%"
    judge = LLMJudge(get_model("scripted/j", outputs=[text]), mode="reason")
    assert "at most 80 words" in judge.messages(view())[-1].content
    j = (await judge.decide(view())).judgment
    assert j.choice == 1 and j.probabilities == pytest.approx([0.2, 0.8]) and j.method == "stated"


async def test_reason_mode_takes_logprobs_at_the_final_answer_letter():
    tokens = ["Answer", " A", " looks", " weak", ".\n", "Answer", ":", " B", "\n"]
    lps = [TokenLogprob(token=t, logprob=-0.1) for t in tokens]
    lps[7] = TokenLogprob(
        token=" B",
        logprob=math.log(0.9),
        top=[TopLogprob(token=" B", logprob=math.log(0.9)), TopLogprob(token=" A", logprob=math.log(0.1))],
    )
    out = ModelOutput(text="".join(tokens), logprobs=lps)
    judge = LLMJudge(get_model("scripted/j", outputs=[out]), mode="reason")
    j = (await judge.decide(view())).judgment
    assert j.method == "logprobs" and j.probabilities == pytest.approx([0.1, 0.9])


async def test_rubric_provenance_names_the_prompt_and_its_hash():
    j = (await LLMJudge(get_model("scripted/j", outputs=["Answer: A"])).decide(view())).judgment
    assert j.provenance.rubric == "judges/prompts/judge_decide.txt" and j.provenance.rubric_author == "oversight"
    assert j.provenance.rubric_hash == prompt_hashes()["judges/prompts/judge_decide.txt"]
    custom = LLMJudge(get_model("scripted/j", outputs=["Answer: A"]), prompts={"judge_decide": "{question} {choices}"})
    j = (await custom.decide(view())).judgment
    assert j.provenance.rubric_author == "user" and j.provenance.rubric == "override:judge_decide"


def biased_judge(messages, config):
    """Believes the right answer (1926) with p = 0.6, plus 0.2 for whatever is shown first."""
    shown = dict(re.findall(r"^([AB]): (\d+)$", messages[-1].content, flags=re.M))
    first_is_right = shown["A"] == "1926"
    p_right = 0.6 + (0.2 if first_is_right else -0.2)
    p_a = p_right if first_is_right else 1 - p_right
    letter, p = ("A", p_a) if p_a >= 0.5 else ("B", 1 - p_a)
    return f"Answer: {letter}\nConfidence: {round(p * 100)}%"


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
async def test_swap_averaging_removes_a_known_position_bias_and_keeps_both_verdicts(order):
    plain = LLMJudge(get_model("scripted/biased", fn=biased_judge))
    alone = (await plain.decide(view(order))).judgment
    assert alone.probabilities[0] == pytest.approx(0.8 if order == (0, 1) else 0.4)  # moved by the order

    verdict = await SwapJudge(plain).decide(view(order))
    j = verdict.judgment
    assert j.method == "swap" and j.probabilities == pytest.approx([0.6, 0.4]) and j.choice == 0
    assert [p.provenance.order_shown for p in j.parts] == [list(order), list(reversed(order))]
    assert sorted(p.probabilities[0] for p in j.parts) == pytest.approx([0.4, 0.8])
    assert j.position.bias == pytest.approx(0.2)  # mean p(first shown) = (0.8 + 0.6) / 2, minus 1/2
    assert j.position.picked_first == [True, True]  # alone it always picks the first answer; averaged, 1926
    assert j.position.used == "both" and not j.position.tie
    assert [t.meta["swap"] for t in verdict.turns] == [0, 1]
    assert j.provenance.aggregation == "mean of both answer orders" and j.provenance.judge == plain.identity + "+swap"


async def test_a_judge_that_always_backs_the_first_answer_ties_and_a_seeded_coin_decides():
    always_a = LLMJudge(get_model("scripted/first", outputs=["Answer: A\nConfidence: 90%"], cycle=True))
    choices = set()
    for seed in range(12):
        j = (await SwapJudge(always_a).decide(view(seed=seed))).judgment
        assert j.probabilities == pytest.approx([0.5, 0.5]) and j.position.tie and j.valid
        assert j.position.bias == pytest.approx(0.4) and j.position.picked_first == [True, True]
        again = (await SwapJudge(always_a).decide(view(seed=seed))).judgment
        assert again.choice == j.choice  # the coin is seeded
        choices.add(j.choice)
    assert choices == {0, 1}


async def test_one_invalid_order_leaves_the_other_standing_and_two_make_it_invalid():
    half = LLMJudge(get_model("scripted/half", outputs=["Answer: B\nConfidence: 70%", "no idea"]), max_retries=0)
    j = (await SwapJudge(half).decide(view())).judgment
    assert j.valid and j.position.used == "first" and j.probabilities == pytest.approx([0.3, 0.7])
    mute = LLMJudge(get_model("scripted/mute", outputs=["hm"], cycle=True), max_retries=0)
    j = (await SwapJudge(mute).decide(view())).judgment
    assert not j.valid and j.position.used == "none" and len(j.parts) == 2


def test_settings_build_each_mode_and_swap():
    m = get_model("scripted/j", outputs=["x"])
    judge = build_judge(m, JudgeSettings(mode="reason", swap=True, reason_words=30))
    assert isinstance(judge, SwapJudge) and judge.inner.mode == "reason" and judge.inner.reason_words == 30
    assert judge.identity.endswith("+swap")
    assert JudgeSettings().model_dump() == {"max_retries": 2, "use_logprobs": True, "temperature": None}
