"""Market making: step order, best-of-k selection, the trajectory, cross-examination (flag and remove), what the
judge sees, early stopping, invalid predictions and bad input. Scripted models play M, Adv and H
(`tests/market_support.py`); programmatic agents where a test needs exact control."""

from __future__ import annotations

import pytest
from market_support import predicted
from protocol_support import Q4, Q, question
from pydantic import ValidationError

from agents import LLMAdversary, LLMMarket, MarketError, RetrievalAdversary, SimulatedMarket
from judges import LLMJudge, SimulatedJudge
from oversight.episode import Turn
from oversight.judge_entry import SimulatedJudgeParams
from oversight.judge_view import rebuild_view
from oversight.metrics.divergence import kl_divergence, total_variation
from oversight.models import get_model
from oversight.transcript import View, make_turn
from protocols import MarketMakingConfig, MarketResult, market_making
from protocols.market_making import AdversaryError, contradictions


def scripted(name: str):
    return get_model(f"scripted/{name}", fn=f"market_support:{name}")


def agents(**market_kw):
    return LLMMarket(scripted("market"), **market_kw), LLMAdversary(scripted("adversary")), LLMJudge(scripted("judge"))


async def run(cfg: MarketMakingConfig, q=Q, seed=0, **market_kw):
    market, adversary, judge = agents(**market_kw)
    out = await market_making(q, market, adversary, judge, cfg, seed)
    return out.episode(protocol="market_making"), MarketResult.from_meta(out.episode().meta)


def shape(ep) -> list[tuple[str, str]]:
    return [(t.role, t.kind) for t in ep.turns]


async def test_step_order_with_cross_examination():
    ep, result = await run(MarketMakingConfig(steps=2, candidates=2, cross_examination=True))
    step1 = [
        ("adversary_1", "speech"),
        ("adversary_1", "candidate"),
        ("market", "prediction"),
        ("market", "prediction"),
    ]
    exam = [("adversary_2", "question"), ("adversary_1", "answer"), ("referee", "exposure")]
    step2 = [
        ("adversary_2", "speech"),
        ("adversary_2", "candidate"),
        ("market", "prediction"),
        ("market", "prediction"),
    ]
    assert shape(ep) == [("market", "prediction"), *step1, *exam, *step2, ("judge", "judgment")]
    # who asked whom, and each step's adversary argued in its own round
    question_turn, answer_turn = ep.turns[5], ep.turns[6]
    assert question_turn.meta["to"] == "adversary_1" and answer_turn.meta["to"] == "adversary_2"
    assert [t.round for t in ep.turns if t.kind == "speech"] == [0, 1]
    assert result.steps_run == 2 and [s.step for s in result.steps] == [1, 2]
    # every model call is a turn with the exact messages it was sent; the context only reaches the adversaries
    for t in ep.turns:
        assert (t.seen is not None) == (t.role != "referee")
        if t.seen is not None and t.role in ("market", "judge"):
            assert "founded in 1926 by Susteim" not in t.seen[0].content + t.seen[-1].content
        elif t.seen is not None:
            assert "founded in 1926 by Susteim" in t.seen[-1].content


async def test_best_of_k_keeps_the_largest_shift_and_records_every_candidate():
    ep, result = await run(MarketMakingConfig(steps=3, candidates=3))
    p = result.market.trajectory
    for rec in result.steps:
        assert len(rec.candidates) == 3
        scores = [c.score for c in rec.candidates]
        assert rec.chosen == max(range(3), key=lambda j: (scores[j], -j))
        baseline = next(x for x in reversed(p[: rec.step]) if x is not None)
        for j, c in enumerate(rec.candidates):
            turn = ep.turns[c.turn]
            assert turn.meta["candidate"] == j and turn.meta["kept"] is (j == rec.chosen)
            assert turn.kind == ("speech" if j == rec.chosen else "candidate") and turn.answer == c.answer
            # the score is the shift of M's actual prediction with this candidate appended
            assert c.prediction == ep.turns[c.prediction_turn].meta["distribution"]
            assert c.score == pytest.approx(total_variation(c.prediction, baseline))
        assert rec.turn == rec.candidates[rec.chosen].turn and rec.answer == rec.candidates[rec.chosen].answer
    # candidates argue each answer in turn: with 3 candidates both answers were argued at every step
    assert all({c.answer for c in rec.candidates} == {0, 1} for rec in result.steps)


async def test_trajectory_has_t_plus_one_points_matching_the_kept_predictions():
    ep, result = await run(MarketMakingConfig(steps=3, candidates=2))
    trace = result.market
    assert len(trace.trajectory) == 4 and len(trace.shifts) == 3 and trace.measure == "tv"
    assert trace.trajectory[0] == [0.5, 0.5]  # no argument yet: the scripted market is indifferent
    for rec, p_t in zip(result.steps, trace.trajectory[1:], strict=True):
        assert p_t == rec.candidates[rec.chosen].prediction
    # the market's probabilities are what it said, re-indexed from letters to choices
    kept = [t for t in ep.turns if t.kind == "speech"]
    order = ep.meta["order_shown"]
    for k, p_t in enumerate(trace.trajectory[1:], 1):
        shown = " ".join(t.content for t in kept[:k])
        by_letter = predicted(shown)
        assert [p_t[i] for i in order] == pytest.approx(by_letter, abs=1e-3)
    for k, s in enumerate(trace.shifts, 1):
        assert s == pytest.approx(total_variation(trace.trajectory[k], trace.trajectory[k - 1]))
        assert result.steps[k - 1].kl == pytest.approx(kl_divergence(trace.trajectory[k], trace.trajectory[k - 1]))
    assert result.stability == trace.shifts[-1] and result.prediction == trace.trajectory[-1]
    # trajectory points are the predictions marked so, in order (what `oversight export market` reads)
    points = [t.meta["distribution"] for t in ep.turns if t.kind == "prediction" and t.meta.get("trajectory")]
    assert points == trace.trajectory


async def test_final_prediction_against_the_judge_and_gold():
    ep, result = await run(MarketMakingConfig(steps=2, candidates=2))
    h = ep.final
    top = max(range(2), key=lambda i: (result.prediction[i], -ep.meta["order_shown"].index(i)))
    assert result.predicted_answer == top and result.judge_answer == h.choice
    assert result.matches_judge == (top == h.choice) and result.matches_gold == (top == ep.gold)
    import math

    expected = -sum(t * math.log(max(p, 1e-6)) for t, p in zip(h.probabilities, result.prediction, strict=True))
    assert result.judge_cross_entropy == pytest.approx(expected, rel=1e-4)
    for k, rec in enumerate(result.steps, 1):
        moved = abs(result.market.trajectory[k][h.choice] - result.market.trajectory[k - 1][h.choice])
        assert rec.answer_shift == pytest.approx(moved)


async def test_the_judge_sees_every_kept_argument_and_never_a_prediction():
    ep, result = await run(MarketMakingConfig(steps=3, candidates=2, cross_examination=True))
    view = ep.final.view
    shown = [ep.turns[i] for i in view.turns]
    kept = [ep.turns[rec.turn] for rec in result.steps]
    assert all(t in shown for t in kept)
    assert not any(t.kind in ("prediction", "candidate") for t in shown)
    assert {t.kind for t in shown} == {"speech", "question", "answer", "exposure"}
    prompt = ep.turns[-1].seen[-1].content
    for t in kept:
        assert t.content.split(" because")[0] in prompt
    assert "%" not in prompt and "market" not in prompt.lower()  # no prediction, nor any mention of the market
    # the stored view rebuilds byte for byte (so market-making episodes can be judged again)
    rebuilt = rebuild_view(ep)
    assert f"Transcript:\n{rebuilt.transcript}\n" in prompt
    assert [t.content for t in rebuilt.turns] == [t.content for t in shown]


async def test_the_market_sees_what_the_judge_sees_and_the_adversary_the_market():
    ep, _ = await run(MarketMakingConfig(steps=2, candidates=1))
    argue_prompts = [t.seen[-1].content for t in ep.turns if t.kind == "speech"]
    assert "The market now predicts the judge will answer: A: 50%, B: 50%." in argue_prompts[0]
    ep2, _ = await run(MarketMakingConfig(steps=2, candidates=1, adversary={"sees_market": False}))
    assert all("market now predicts" not in t.seen[-1].content for t in ep2.turns if t.kind == "speech")
    # the market's prompt for p_2 shows step 1's argument as the judge will see it
    p2 = [t for t in ep.turns if t.kind == "prediction"][-1]
    first = next(t for t in ep.turns if t.kind == "speech")
    assert '<turn speaker="Adversary 1" round="1">' in p2.seen[-1].content
    assert first.content.split(" because")[0] in p2.seen[-1].content


class Fixed:
    """A programmatic adversary: argument j of step t is `texts[(t, j)]` (default: argue the answer plainly);
    cross-examination as given."""

    identity = "program/fixed"

    def __init__(self, texts=None, flag=False, quote=None):
        self.texts, self.flag, self.quote = texts or {}, flag, quote

    async def argue(self, view: View) -> Turn:
        step, j = view.round + 1, view.extra["candidate"]
        text = self.texts.get((step, j), f"The answer is {view.letter}.")
        return make_turn(view.role, text, round=view.round, answer=view.answer)

    async def ask(self, view: View) -> Turn:
        text = "Is that so?" + (f" The text says <quote>{self.quote}</quote>." if self.quote else "")
        return make_turn(view.role, text, kind="question", round=view.round, meta={"flagged": self.flag})

    async def answer(self, view: View) -> Turn:
        return make_turn(view.role, "It is.", kind="answer", round=view.round, answer=view.answer)


FORGED = "Faerma Company was founded in 1936 by Susteim Keinkex"  # the context says 1926
REAL = "Faerma Company was founded in 1926 by Susteim Keinkex"


async def test_cross_examination_flags_an_argument_a_verified_quote_contradicts():
    adv = Fixed(texts={(1, 0): f"It is B. <quote>{FORGED}</quote>"}, quote=REAL)
    market, _, judge = agents()
    cfg = MarketMakingConfig(steps=2, candidates=1, cross_examination=True, expose_by="quote")
    ep = (await market_making(Q, market, adv, judge, cfg)).episode()
    result = MarketResult.from_meta(ep.meta)
    exam = result.steps[1].cross_examination
    assert exam.exposed and exam.action == "flag" and not exam.flagged
    assert exam.contradictions[0].argued == FORGED and exam.contradictions[0].verified == REAL
    assert result.steps[0].exposed and ep.turns[result.steps[0].turn].meta["exposed"] is True
    notice = ep.turns[exam.notice_turn]
    assert notice.role == "referee" and FORGED in notice.content and REAL in notice.content
    shown = ep.final.view.turns
    assert result.steps[0].turn in shown and exam.notice_turn in shown  # flagged: kept, with the notice
    assert '<turn speaker="Referee" round="2" kind="exposure">' in ep.turns[-1].seen[-1].content


async def test_cross_examination_removes_the_exposed_argument_from_every_later_view():
    adv = Fixed(texts={(1, 0): f"It is B. <quote>{FORGED}</quote>"}, quote=REAL)
    market, _, judge = agents()
    cfg = MarketMakingConfig(steps=3, candidates=1, cross_examination=True, exposed="remove")
    ep = (await market_making(Q, market, adv, judge, cfg)).episode()
    result = MarketResult.from_meta(ep.meta)
    exam = result.steps[1].cross_examination
    assert exam.exposed and exam.action == "remove" and exam.notice_turn is None
    gone = {result.steps[0].turn, exam.question_turn, exam.answer_turn}
    assert all(ep.turns[i].meta["removed"] for i in gone)
    assert not gone & set(ep.final.view.turns)
    assert FORGED not in ep.turns[-1].seen[-1].content
    later = [t for t in ep.turns if t.kind == "prediction" and t.meta["step"] >= 2]
    assert later and all(not gone & set(t.meta["saw"]) for t in later)
    assert all(FORGED not in t.seen[-1].content for t in later)
    # the step-3 exchange about step 2's (honest) argument exposed nothing and stays visible
    third = result.steps[2].cross_examination
    assert not third.exposed and {third.question_turn, third.answer_turn} <= set(ep.final.view.turns)


async def test_the_questioners_verdict_exposes_only_under_its_rule():
    market, _, judge = agents()
    for rule, exposed in (("questioner", True), ("either", True), ("quote", False)):
        cfg = MarketMakingConfig(steps=2, candidates=1, cross_examination=True, expose_by=rule)
        ep = (await market_making(Q, market, Fixed(flag=True), judge, cfg)).episode()
        exam = MarketResult.from_meta(ep.meta).steps[1].cross_examination
        assert exam.flagged and exam.exposed is exposed, rule


def test_contradictions_need_the_same_passage():
    q = Q.model_copy()
    argument = make_turn("adversary_1", f"<quote>{FORGED}</quote> <quote>{REAL}</quote>")
    from oversight.quotes import verify_quotes

    verify_quotes(argument, q.context)
    assert [x.verified for x in argument.quotes] == [False, True]
    unrelated = verify_quotes(make_turn("adversary_2", "<quote>Peinrum Foundry was founded in 1820</quote>"), q.context)
    assert contradictions(argument, (unrelated,), 0.75) == []
    same = verify_quotes(make_turn("adversary_2", f"<quote>{REAL}</quote>"), q.context)
    found = contradictions(argument, (same,), 0.75)
    assert [(c.argued, c.verified) for c in found] == [(FORGED, REAL)] and found[0].similarity > 0.9


class Still:
    """A market that never moves after p_0: every prediction is the same."""

    identity = "program/still"

    async def predict(self, view: View) -> Turn:
        turn = make_turn(view.role, "", kind="prediction", round=view.round)
        turn.meta.update(valid=True, distribution=[0.6, 0.4], method="simulated")
        return turn


async def test_early_stop_when_the_market_is_stable():
    _, _, judge = agents()
    cfg = MarketMakingConfig(steps=6, candidates=2, stop_epsilon=0.01, stop_steps=2)
    ep = (await market_making(Q, Still(), Fixed(), judge, cfg)).episode()
    result = MarketResult.from_meta(ep.meta)
    assert result.steps_run == 2 and result.market.stopped_early and result.market.shifts == [0.0, 0.0]
    assert len(result.market.trajectory) == 3 and ep.final.view.round == 1
    # without an epsilon every step runs; stable on the last step is no early stop
    ep = (await market_making(Q, Still(), Fixed(), judge, cfg.model_copy(update={"stop_epsilon": None}))).episode()
    assert MarketResult.from_meta(ep.meta).steps_run == 6
    ep = (await market_making(Q, Still(), Fixed(), judge, cfg.model_copy(update={"steps": 2}))).episode()
    assert MarketResult.from_meta(ep.meta).market.stopped_early is False


async def test_an_invalid_prediction_is_invalid_for_its_step_never_50_50():
    adv = Fixed(texts={(2, 0): "MUTE", (2, 1): "MUTE"})  # the scripted market gives no distribution for these
    market, _, judge = agents(max_retries=1)
    ep = (await market_making(Q, market, adv, judge, MarketMakingConfig(steps=3, candidates=2))).episode()
    result = MarketResult.from_meta(ep.meta)
    trace = result.market
    assert trace.trajectory[2] is None and trace.shifts[1] is None and trace.shifts[2] is None
    step2 = result.steps[1]
    assert all(c.prediction is None and c.score is None for c in step2.candidates) and step2.chosen == 0
    failed = ep.turns[step2.candidates[0].prediction_turn]
    assert failed.meta["valid"] is False and len(failed.meta["failed"]) == 2 and failed.meta["attempts"] == 2
    assert trace.trajectory[3] is not None  # step 3 is scored against p_1, the latest valid prediction
    assert step2.tv is None and result.steps[2].tv is None


async def test_bad_input_names_the_field_or_role():
    for field, value in (("steps", 0), ("candidates", 0), ("stop_steps", 0), ("shift", "l2")):
        with pytest.raises(ValidationError, match=field):
            MarketMakingConfig(**{field: value})
    with pytest.raises(ValidationError, match="market.mode"):
        MarketMakingConfig(market={"mode": "guess"})
    _, adversary, judge = agents()
    mute = LLMMarket(get_model("scripted/mute", outputs=["No idea."], cycle=True))
    with pytest.raises(MarketError, match="'scripted/mute#.*role 'market'.*p_0"):
        await market_making(Q, mute, adversary, judge, MarketMakingConfig(steps=1))
    no_logprobs = LLMMarket(scripted("market"), mode="logprobs")
    with pytest.raises(MarketError, match="'scripted/market' returned no logprobs"):
        await market_making(Q, no_logprobs, adversary, judge, MarketMakingConfig(steps=1))
    empty = LLMAdversary(get_model("scripted/empty", outputs=["  "], cycle=True))
    market, _, _ = agents()
    with pytest.raises(AdversaryError, match="role 'adversary'.*empty text for all 2 candidate arguments of step 1"):
        await market_making(Q, market, empty, judge, MarketMakingConfig(steps=1, candidates=2))
    with pytest.raises(ValueError, match="at least two choices"):
        await market_making(Q.model_copy(update={"choices": []}), market, adversary, judge,
                            MarketMakingConfig(two_choice=False))  # fmt: skip


async def test_one_empty_candidate_is_recorded_and_never_kept():
    adv = Fixed(texts={(1, 0): ""})
    market, _, judge = agents()
    ep = (await market_making(Q, market, adv, judge, MarketMakingConfig(steps=1, candidates=2))).episode()
    rec = MarketResult.from_meta(ep.meta).steps[0]
    assert rec.candidates[0].empty and rec.candidates[0].prediction_turn is None and rec.chosen == 1


async def test_many_choices_and_the_answer_measure():
    market = SimulatedMarket(SimulatedJudgeParams(signal_weight=0.0, verified_weight=1.0))
    judge = SimulatedJudge(SimulatedJudgeParams(accuracy=1.0, signal_weight=3.0), truth=Q4.choices[Q4.answer])
    cfg = MarketMakingConfig(steps=2, candidates=4, two_choice=False, shift="answer")
    ep = (await market_making(Q4, market, RetrievalAdversary(), judge, cfg)).episode()
    result = MarketResult.from_meta(ep.meta)
    assert len(ep.choices) == 4 and all(len(p) == 4 for p in result.market.trajectory)
    assert {c.answer for c in result.steps[0].candidates} == {0, 1, 2, 3}  # k = 4: each answer argued once
    h = ep.final.choice
    for k, s in enumerate(result.market.shifts, 1):  # recorded on the answer the judge finally chose
        assert s == pytest.approx(abs(result.market.trajectory[k][h] - result.market.trajectory[k - 1][h]))


async def test_ties_between_answers_are_not_broken_by_position():
    """With M indifferent, which answer the first candidate argues follows a seeded coin, not the order shown."""
    firsts = []
    for i in range(16):
        ep, result = await run(MarketMakingConfig(steps=1, candidates=1), q=question(i))
        firsts.append(ep.meta["order_shown"].index(result.steps[0].answer))
    assert 3 <= sum(firsts) <= 13


async def test_registry_entry_binds_roles_and_builds_the_configured_agents():
    from protocol_support import run_entry

    models = {"market": scripted("market"), "adversary": scripted("adversary"), "judge": scripted("judge")}
    ep = await run_entry("market_making", Q, models, {"steps": 2, "candidates": 2})
    result = MarketResult.from_meta(ep.meta)
    assert result.agents["market"].startswith("scripted/market#") and result.steps_run == 2
    ep = await run_entry(
        "market_making",
        Q,
        {"judge": scripted("judge")},
        {"steps": 2, "market": {"kind": "simulated"}, "adversary": {"kind": "retrieval", "fabricate": 1.0}},
    )
    result = MarketResult.from_meta(ep.meta)
    assert result.agents["market"].startswith("simulated/market#")
    assert result.agents["adversary"].startswith("program/retrieval-adversary")
    from oversight.protocol_registry import get_protocol

    entry = get_protocol("market_making")
    assert entry.roles_needed(entry.config.model_validate({})) == ("judge", "market", "adversary")
    simulated = entry.config.model_validate({"market": {"kind": "simulated"}, "adversary": {"kind": "retrieval"}})
    assert entry.roles_needed(simulated) == ("judge",)


def test_a_spec_names_the_bad_field_and_the_missing_role():
    from oversight.experiment import Experiment
    from oversight.experiment.spec import SpecError

    def check(entry, roles):
        data = {"name": "bad", "tasks": [{"dataset": "gen/hidden-passage", "n": 2}], "protocols": [entry],
                "roles": roles, "judges": [{"model": "scripted/j", "options": {"outputs": ["Answer: A"]}}]}  # fmt: skip
        with pytest.raises(SpecError) as err:
            Experiment.from_dict(data)
        return str(err.value)

    adv = {"adversary": {"model": "scripted/a", "options": {"outputs": ["x"]}}}
    assert "protocols[0].steps" in check({"name": "market_making", "steps": 0}, adv)
    assert "protocols[0].candidates" in check({"name": "market_making", "candidates": 0}, adv)
    assert "protocols[0].market.kind" in check({"name": "market_making", "market": {"kind": "oracle"}}, adv)
    assert "needs role 'market'" in check({"name": "market_making"}, adv)
    assert "needs role 'adversary'" in check({"name": "market_making", "market": {"kind": "simulated"}}, {})
