"""A live human judge may end an interactive debate or consultancy once its minimum number of rounds is played (Khan
et al. 2024); the episode records the unseen end turn, and the judgment the rounds seen and that it ended early."""

from __future__ import annotations

import asyncio

import pytest
from protocol_support import model, question

from agents import Consultant, Debater
from judges import HumanChannel, HumanJudge, JudgeSettings, use_channels
from judges.base import END_TURN
from oversight.experiment import Experiment, arun_experiment
from protocols import ConsultancyConfig, DebateConfig, consultancy, debate

pytestmark = pytest.mark.timeout(60)


async def test_the_judge_ends_a_consultancy_after_its_minimum_rounds():
    channel = HumanChannel()
    judge = HumanJudge("ann", channel, min_rounds=2)
    m = model()
    cfg = ConsultancyConfig(rounds=4, interactive=True)
    task = asyncio.ensure_future(consultancy(question(1), Consultant(m), judge, cfg, seed=1))
    first = await asyncio.wait_for(channel.next(), 5)
    assert first.kind == "ask" and first.view.round == 0 and not first.may_end
    with pytest.raises(RuntimeError, match="cannot be ended yet"):
        first.end()
    first.ask("What does the text say about the founding?")
    second = await asyncio.wait_for(channel.next(), 5)
    assert second.kind == "ask" and second.view.round == 1 and second.may_end
    second.end()
    decide = await asyncio.wait_for(channel.next(), 5)
    assert decide.kind == "decide" and decide.view.round == 1
    with pytest.raises(RuntimeError, match="asks for a decision"):
        decide.end()
    decide.decide([0.6, 0.4], "enough heard", seconds=3.0)
    ep = (await asyncio.wait_for(task, 5)).episode()
    speeches = [t for t in ep.turns if t.role == "consultant" and t.kind == "speech"]
    assert [t.round for t in speeches] == [0, 1]  # rounds 3 and 4 never happened
    end = [t for t in ep.turns if t.kind == END_TURN]
    assert len(end) == 1 and end[0].role == "judge" and end[0].round == 1
    assert ep.final.view is not None and ep.final.view.round == 1
    assert all(ep.turns.index(end[0]) != i for i in ep.final.view.turns)  # the end turn is never shown
    human = ep.final.meta["human"]
    assert human["rounds_seen"] == 2 and human["ended_early"] is True and human["seconds"] == 3.0


async def test_without_min_rounds_every_round_of_a_debate_is_played():
    channel = HumanChannel()
    judge = HumanJudge("ben", channel)
    m = model()
    cfg = DebateConfig(rounds=3, interactive=True)
    task = asyncio.ensure_future(debate(question(2), (Debater(m), Debater(m)), judge, cfg, seed=2))
    for rnd in range(2):
        asked = await asyncio.wait_for(channel.next(), 5)
        assert asked.kind == "ask" and asked.view.round == rnd and not asked.may_end
        with pytest.raises(RuntimeError):
            asked.end()
        asked.ask(f"question {rnd}")
    decide = await asyncio.wait_for(channel.next(), 5)
    decide.decide([0.5, 0.5])
    ep = (await asyncio.wait_for(task, 5)).episode()
    assert sorted({t.round for t in ep.turns if t.role.startswith("debater")}) == [0, 1, 2]
    assert ep.final.meta["human"]["rounds_seen"] == 3 and ep.final.meta["human"]["ended_early"] is False


async def test_a_debate_ended_early_decides_from_the_rounds_played():
    channel = HumanChannel()
    judge = HumanJudge("cy", channel, min_rounds=1)
    m = model()
    cfg = DebateConfig(rounds=3, interactive=True)
    task = asyncio.ensure_future(debate(question(3), (Debater(m), Debater(m)), judge, cfg))
    asked = await asyncio.wait_for(channel.next(), 5)
    asked.end()
    decide = await asyncio.wait_for(channel.next(), 5)
    assert 'round="2"' not in decide.view.transcript and decide.view.round == 0
    decide.decide([1.0, 0.0])
    ep = (await asyncio.wait_for(task, 5)).episode()
    assert {t.round for t in ep.turns if t.role.startswith("debater")} == {0}
    assert ep.final.meta["human"] == {"judge_id": "cy", "rounds_seen": 1, "ended_early": True}


def test_min_rounds_is_a_judge_setting_left_out_of_the_config_at_its_default():
    assert "min_rounds" not in DebateConfig().model_dump()
    assert DebateConfig(judge=JudgeSettings(min_rounds=2)).model_dump()["judge"]["min_rounds"] == 2
    with pytest.raises(ValueError):
        JudgeSettings(min_rounds=0)
    with pytest.raises(ValueError, match="min_rounds"):
        HumanJudge("dee", min_rounds=0)


async def test_a_spec_sets_min_rounds_for_its_human_judge(tmp_path):
    spec = Experiment.from_dict(
        {
            "name": "early",
            "tasks": [{"dataset": "gen/hidden-passage", "n": 1}],
            "protocols": [{"name": "debate", "rounds": 3, "interactive": True, "judge": {"min_rounds": 2}}],
            "roles": {"debater": {"model": "scripted/d", "options": {"outputs": ["Answer: A. Sure."], "cycle": True}}},
            "judges": [{"human": "eve"}],
            "cache": False,
            "output_dir": str(tmp_path),
        }
    )
    channel = HumanChannel()
    with use_channels({"eve": channel}):
        run = asyncio.ensure_future(arun_experiment(spec, progress="off"))
        first = await asyncio.wait_for(channel.next(), 10)
        assert not first.may_end
        first.ask("Why?")
        second = await asyncio.wait_for(channel.next(), 10)
        assert second.may_end
        second.end()
        (await asyncio.wait_for(channel.next(), 10)).decide([0.3, 0.7])
        result = await asyncio.wait_for(run, 10)
    assert result.status == "complete" and result.summary["results"][0]["n"] == 1
