"""The protocol kit: shared config bases and judge settings, explicit counterbalancing, typed results, a question
without a gold answer, and the one Episode assembly (partial turns kept when a protocol fails part-way)."""

from __future__ import annotations

import pytest
from protocol_support import CONTEXT, model, run_entry

from agents import RetrievalArguer
from judges import JudgeSettings, QuoteCountJudge
from oversight.counterbalance import Balance, answer_order, assigned_side, speaking_order
from oversight.episode import ProtocolResult
from oversight.experiment import Experiment, run_experiment
from oversight.store import load_run
from oversight.types import Question
from protocols import ConsultancyConfig, DebateConfig, DirectConfig, MADConfig, consultancy, debate

NO_GOLD = Question(id="opinion", text="Which is better?", choices=["tea", "coffee"], context=CONTEXT)


def test_legacy_flat_judge_keys_read_into_the_judge_settings():
    cfg = DebateConfig.model_validate({"judge_max_retries": 0, "use_logprobs": False, "rounds": 1})
    assert cfg.judge == JudgeSettings(max_retries=0, use_logprobs=False)
    assert DirectConfig().judge == ConsultancyConfig().judge == JudgeSettings()
    with pytest.raises(ValueError, match="max_retries"):
        DebateConfig.model_validate({"judge": {"max_retries": -1}})


def test_mad_judge_switch_and_its_own_judge_temperature():
    cfg = MADConfig.model_validate({"judge": True, "agents": 2})
    assert cfg.use_judge and cfg.judge.temperature == 0.0 and cfg.temperature == 0.7
    assert not MADConfig().use_judge


def test_counterbalanced_factors_read_one_bit_each():
    q = Question(id="q", text="?", choices=["x", "y"], answer=1)
    orders = {answer_order(q, "balanced", Balance(b)) for b in range(8)}
    assert orders == {(1, 0), (0, 1)}
    assert answer_order(q, "correct_first", Balance(2)) == (1, 0)
    assert speaking_order(("a", "b"), "balanced", Balance(4)) == ("b", "a")
    assert speaking_order(("a", "b"), "a", Balance(4)) == ("a", "b")
    assert [assigned_side(q, "balanced", Balance(b)) for b in (0, 1)] == [1, 0]
    # without gold: positions swap by the balance; nothing is "correct"
    assert {answer_order(NO_GOLD, "balanced", Balance(b)) for b in (0, 2)} == {(0, 1), (1, 0)}
    assert {assigned_side(NO_GOLD, "correct", Balance(b)) for b in (0, 1)} == {0, 1}


async def test_a_question_without_gold_is_never_scored():
    out = await debate(NO_GOLD, (RetrievalArguer(), RetrievalArguer()), QuoteCountJudge(), DebateConfig(rounds=1))
    ep = out.episode(protocol="debate")
    assert ep.gold is None and ep.correct is None and ep.final.valid
    assert ep.meta["honest"] is None and ep.meta["correct_first"] is None
    assert sorted(ep.meta["sides"].values()) == [0, 1]
    out = await consultancy(NO_GOLD, RetrievalArguer(), QuoteCountJudge(), ConsultancyConfig(rounds=1))
    ep = out.episode()
    assert ep.correct is None and ep.meta["consultant_correct"] is None and ep.meta["sides"]["consultant"] in (0, 1)


async def test_registry_entries_return_typed_results():
    ep = await run_entry("debate", NO_GOLD.model_copy(update={"answer": 0}), {"debater": model(), "judge": model()}, {})
    result = ProtocolResult.read(ep.meta)
    assert result.honest in ("debater_a", "debater_b") and set(result.sides) == {"debater_a", "debater_b"}
    assert result.order_shown == ep.meta["order_shown"] and result.agents["judge"].startswith("scripted/all#")


def test_old_runs_results_read_the_same_fields():
    old_debate = {"answers": {"debater_a": 1, "debater_b": 0}, "honest": "debater_b", "order_shown": [1, 0]}
    assert ProtocolResult.read(old_debate).sides == {"debater_a": 1, "debater_b": 0}
    assert ProtocolResult.read({"consultant_answer": 1, "tier": None}).sides == {"consultant": 1}
    assert ProtocolResult.read({"tier": "expert", "label": "x", "task": "t"}).tier == "expert"
    assert ProtocolResult.read({"answers": [[0, 1]]}).sides == {}  # MAD's per-round answers are not sides


def _judge_fails(messages, config):
    if messages[0].content.startswith("You are the judge"):
        raise RuntimeError("judge backend down")
    return "I argue my side."


def test_an_episode_whose_judge_failed_keeps_the_turns_it_paid_for(tmp_path):
    spec = Experiment.from_dict(
        {
            "name": "partial",
            "tasks": [{"dataset": "gen/hidden-passage", "n": 2}],
            "protocols": [{"name": "debate", "rounds": 2}],
            "roles": {"debater": {"model": "scripted/d", "options": {"outputs": ["I argue my side."], "cycle": True}}},
            "judges": [{"model": "scripted/j", "options": {"fn": _judge_fails}}],
            "cache": False,
        }
    )
    result = run_experiment(spec, output_dir=tmp_path, progress="off")
    episodes = load_run(result.run_dir).episodes
    assert len(episodes) == 2 and all(e.error_type == "RuntimeError" for e in episodes)
    for ep in episodes:
        assert [t.role for t in ep.turns].count("debater_a") == 2 and ep.correct is None
        assert all(t.seen for t in ep.turns)  # what each debater saw is kept too


def test_free_form_answers_are_scored_against_the_gold_answers():
    from oversight.episode import Judgment, Outcome
    from oversight.experiment.summary import summarize

    q = Question(id="sum", text="What is 40+2?", meta={"answers": ["42"], "numeric": 42})
    right, wrong, unparsed = (
        Outcome(q, [], [j], ProtocolResult()).episode()
        for j in (
            Judgment(judge="x", answer="I computed it: the result is 42."),
            Judgment(judge="x", answer="41"),
            Judgment(judge="x", valid=False),
        )
    )
    assert right.gold_answers == ["42"] and right.scorable and right.correct is True
    assert wrong.correct is False and unparsed.correct is None
    tally = summarize([right, wrong, unparsed]).total
    assert (tally.n, tally.correct, tally.invalid) == (3, 1, 1)
    no_gold = Outcome(Question(id="o", text="Why?"), [], [Judgment(judge="x", answer="because")], ProtocolResult())
    assert not no_gold.episode().scorable and no_gold.episode().correct is None
