"""Market-making agents: the market's reply format and parser, LLM markets reading logprobs or a stated
distribution (with retries), the simulated market, the adversaries and the questioner's verdict."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from protocol_support import CONTEXT, Q

from agents import LLMAdversary, LLMMarket, RetrievalAdversary, SimulatedMarket, format_distribution, read_distribution
from agents.adversary import parse_verdict
from oversight.judge_entry import SimulatedJudgeParams
from oversight.models import get_model
from oversight.quotes import verify_quotes
from oversight.transcript import Transcript, make_turn
from oversight.types import ModelOutput, TokenLogprob, TopLogprob

distributions = st.integers(min_value=2, max_value=6).flatmap(
    lambda n: st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=n, max_size=n).filter(lambda p: sum(p) > 0.01)
)


@given(distributions)
def test_format_then_read_gives_the_distribution_back(p):
    p = [x / sum(p) for x in p]
    letters = "ABCDEF"[: len(p)]
    text = format_distribution(p, letters)
    assert text.startswith(f"Answer: {letters[max(range(len(p)), key=lambda k: (p[k], -k))]}\n")
    back = read_distribution(text, letters)
    assert back is not None and back == pytest.approx(p, abs=2e-3)


@given(st.text(max_size=200), st.sampled_from(["AB", "ABC", "ABCD"]))
def test_read_distribution_is_none_or_a_distribution(text, letters):
    p = read_distribution(text, letters)
    if p is not None:
        assert len(p) == len(letters) and all(x >= 0 for x in p) and math.isclose(sum(p), 1.0)


@pytest.mark.parametrize(
    ("text", "letters", "expected"),
    [
        ("Answer: B\nA: 30%, B: 70%", "AB", [0.3, 0.7]),
        ("A = 20 %\nB = 60 %", "AB", [0.25, 0.75]),  # normalised
        ("(A) 10% (B) 90%", "AB", [0.1, 0.9]),
        ("Answer: A\nA: 70%", "AB", [0.7, 0.3]),  # the other letters share the rest
        ("A: 40%", "ABC", [0.4, 0.3, 0.3]),
        ("Answer: B\nConfidence: 80%", "AB", [0.2, 0.8]),  # an answer with a stated confidence
        ("Answer: B", "AB", None),  # a bare letter is not a distribution
        ("A: 150%, B: 10%", "AB", None),
        ("A: 80%", "A", [1.0]),
        ("A: 90%, C: 40%", "ABC", None),  # more than 100% with a letter missing
        ("A: 0%, B: 0%", "AB", None),
        ("The judge will pick answer C: 90%", "AB", None),  # C is not offered
        ("Nothing to say.", "AB", None),
    ],
)
def test_read_distribution_cases(text, letters, expected):
    got = read_distribution(text, letters)
    assert got == (None if expected is None else pytest.approx(expected))


def view(q=Q, order=(1, 0), **kw):
    return Transcript(q, order=order).view_for("market", task="predict", **kw)


def letter_output(letter_probs: dict[str, float], text: str) -> ModelOutput:
    """A reply whose first token is "Answer", then ":", then the letter with these top logprobs."""
    top = [TopLogprob(token=f" {c}", logprob=math.log(p)) for c, p in letter_probs.items()]
    first = max(letter_probs, key=letter_probs.get)
    tokens = [TokenLogprob(token="Answer", logprob=0.0), TokenLogprob(token=":", logprob=0.0),
              TokenLogprob(token=f" {first}", logprob=math.log(letter_probs[first]), top=top)]  # fmt: skip
    return ModelOutput(text=text, logprobs=tokens)


async def test_llm_market_reads_letter_logprobs_and_maps_letters_to_choices():
    out = letter_output({"A": 0.6, "B": 0.2}, "Answer: A\nA: 99%, B: 1%")
    market = LLMMarket(get_model("scripted/lp", outputs=[out]))
    turn = await market.predict(view())  # A shows choice 1, B choice 0
    assert turn.meta["method"] == "logprobs" and turn.meta["valid"] is True
    assert turn.meta["distribution"] == pytest.approx([0.25, 0.75])  # renormalised over A and B, by choice
    assert turn.answer == 1 and turn.probability == pytest.approx(0.75) and turn.seen is not None


async def test_llm_market_auto_falls_back_to_the_stated_distribution():
    no_letter = letter_output({"C": 0.9}, "Answer: A\nA: 60%, B: 40%")  # logprobs, but no offered letter in them
    for item in (no_letter, "Answer: A\nA: 60%, B: 40%"):
        turn = await LLMMarket(get_model("scripted/x", outputs=[item])).predict(view())
        assert turn.meta["method"] == "elicited" and turn.meta["distribution"] == pytest.approx([0.4, 0.6])
    strict = LLMMarket(get_model("scripted/x", outputs=[no_letter, no_letter]), mode="logprobs", max_retries=1)
    turn = await strict.predict(view())
    assert turn.meta["valid"] is False and turn.answer is None and turn.meta["attempts"] == 2
    elicited = LLMMarket(get_model("scripted/x", outputs=[letter_output({"A": 0.9, "B": 0.1}, "A: 20%")]),
                         mode="elicited")  # fmt: skip
    turn = await elicited.predict(view())
    assert turn.meta["method"] == "elicited" and turn.meta["distribution"] == pytest.approx([0.8, 0.2])


async def test_llm_market_retries_with_a_new_seed_and_some_temperature():
    seen = []

    def fn(messages, config):
        seen.append((config.seed, config.temperature, config.logprobs))
        return "Hmm." if len(seen) < 3 else "A: 10%, B: 90%"

    market = LLMMarket(get_model("scripted/retry", fn=fn), mode="elicited", max_retries=2, temperature=0.0)
    turn = await market.predict(view())
    assert turn.meta["attempts"] == 3 and turn.meta["failed"] == ["Hmm.", "Hmm."]
    assert [s for s, _, _ in seen] == [seen[0][0], seen[0][0] + 1, seen[0][0] + 2]
    assert [t for _, t, _ in seen] == [0.0, 0.7, 0.7] and not any(lp for _, _, lp in seen)
    assert turn.usage.output_tokens == 1 + 1 + 4  # every attempt is paid for


async def test_llm_market_prompt_shows_the_letters_and_whether_arguments_were_made():
    market = LLMMarket(get_model("scripted/x", outputs=["A: 50%, B: 50%"]))
    system, user = market.messages(view(order=(0, 1, 2, 3), q=Q.model_copy(update={"choices": list("wxyz")})))
    assert '"A: NN%, B: NN%, C: NN%, D: NN%"' in user.content and "no arguments" in user.content
    assert read_distribution(user.content, "ABCD") is None  # a reply copying the prompt's example states nothing
    assert "predict what this judge will choose" in system.content.lower() and "<source>" not in system.content
    t = Transcript(Q, context_roles={"market"})
    with_context = market.messages(t.view_for("market", task="predict"))
    assert CONTEXT.splitlines()[0] in with_context[0].content


async def test_simulated_market_follows_the_evidence_and_is_seeded():
    t = Transcript(Q, order=(0, 1), context_roles={"adversary_1"})
    market = SimulatedMarket(SimulatedJudgeParams(signal_weight=0.0, verified_weight=1.0, unverified_weight=-1.0))
    first = await market.predict(t.view_for("market", task="predict"))
    assert first.meta["distribution"] == [0.5, 0.5] and first.meta["method"] == "simulated"
    quote = "<quote>Faerma Company was founded in 1926</quote>"  # five words: QuoteConfig.min_words
    t.add(verify_quotes(make_turn("adversary_1", quote, answer=0), CONTEXT))
    after = await market.predict(t.view_for("market", task="predict"))
    assert after.meta["distribution"][0] == pytest.approx(1 / (1 + math.exp(-1)))
    again = await market.predict(t.view_for("market", task="predict"))
    assert again.meta["distribution"] == after.meta["distribution"]
    assert market.identity.startswith("simulated/market#")


async def test_retrieval_adversary_candidates_differ_and_misquotes_can_be_caught():
    adv = RetrievalAdversary(quotes_per_turn=1, fabricate=1.0)
    t = Transcript(Q, order=(0, 1), context_roles={"adversary_1", "adversary_2"})
    views = [t.view_for("adversary_1", answer=0, candidate=j) for j in (0, 2)]
    a, b = [await adv.argue(v) for v in views]
    assert a.content != b.content and a.answer == b.answer == 0  # candidate 2 takes the next batch for answer 0
    verify_quotes(a, CONTEXT)
    assert not a.quotes[0].verified and "because of 1926" in a.quotes[0].text
    t.add(a)
    asked = await adv.ask(t.view_for("adversary_2", task="ask", about="adversary_1"))
    assert asked.meta["flagged"] is True and "but the text says <quote>" in asked.content
    verify_quotes(asked, CONTEXT)
    assert asked.quotes and all(q.verified for q in asked.quotes)
    honest = RetrievalAdversary(quotes_per_turn=1)
    t2 = Transcript(Q, order=(0, 1), context_roles={"adversary_1", "adversary_2"})
    t2.add(verify_quotes(await honest.argue(t2.view_for("adversary_1", answer=0, candidate=0)), CONTEXT))
    plain = await honest.ask(t2.view_for("adversary_2", task="ask", about="adversary_1"))
    assert plain.meta["flagged"] is False and "<quote>" not in plain.content
    with pytest.raises(ValueError, match="fabricate"):
        RetrievalAdversary(fabricate=2.0)


async def test_llm_adversary_fills_the_protocol_fields_and_reads_its_verdict():
    calls = []

    def fn(messages, config):
        calls.append(messages[-1].content)
        return "Why quote that?\nVerdict: misleading"

    adv = LLMAdversary(get_model("scripted/adv", fn=fn))
    t = Transcript(Q, order=(0, 1), context_roles={"adversary_2"})
    asked = await adv.ask(t.view_for("adversary_2", task="ask", about="adversary_1", about_name="Adversary 1",
                                     about_step=1))  # fmt: skip
    assert asked.meta["flagged"] is True and "ask Adversary 1, who made the argument of step 1" in calls[-1]
    argued = await adv.argue(t.view_for("adversary_2", answer=1, market_section="\nThe market now predicts X.\n"))
    assert 'argument that the answer is B: "1936"' in calls[-1] and "The market now predicts X." in calls[-1]
    assert argued.answer == 1


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("Q?\nVerdict: misleading", True),
        ("Q?\nverdict: Sound", False),
        ("Verdict: sound ... on reflection, Verdict: **misleading**", True),
        ("No verdict here.", None),
    ],
)
def test_parse_verdict(text, flag):
    assert parse_verdict(text) is flag
