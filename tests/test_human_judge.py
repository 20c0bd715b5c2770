"""Human judges: live through an asyncio queue, or pending in the store; pending judgments are counted apart by
show, summary and compare, listed with their views, filled by an atomic append, and never counted as wrong."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from protocol_support import CONTEXT, SECRET, model, question

from agents import Consultant
from judges import HumanChannel, HumanJudge, HumanUnavailableError, use_channels
from oversight.cli import main
from oversight.comparison import compare
from oversight.experiment import Experiment, arun_experiment, run_experiment
from oversight.experiment.summary import summarize
from oversight.judgments_log import JUDGMENTS_FILE
from oversight.pending import pending_judgments, submit_judgment
from oversight.store import iter_episodes
from protocols import ConsultancyConfig, consultancy


async def test_a_live_human_decides_and_asks_through_the_queue():
    channel = HumanChannel()
    judge = HumanJudge("alice", channel)
    m = model()
    cfg = ConsultancyConfig(rounds=2, interactive=True)
    task = asyncio.ensure_future(consultancy(question(1), Consultant(m), judge, cfg, seed=1))
    asked = await asyncio.wait_for(channel.next(), 5)
    assert asked.kind == "ask" and asked.view.context is None and asked.judge_id == "alice"
    asked.ask("Which sentence says so?")
    decide = await asyncio.wait_for(channel.next(), 5)
    assert decide.kind == "decide" and CONTEXT not in decide.view.transcript and SECRET in decide.view.transcript
    with pytest.raises(ValueError, match="sum to 1"):
        decide.decide([0.5, 0.6])
    with pytest.raises(ValueError, match="give 2"):
        decide.decide([1.0])
    decide.decide([0.25, 0.75], "the quote convinced me", seconds=12.5, trajectory=[[0.0, [0.5, 0.5]]])
    ep = (await asyncio.wait_for(task, 5)).episode()
    j = ep.final
    order = decide.view.order
    assert j.method == "human" and j.probabilities[order[1]] == 0.75 and j.choice == order[1]
    assert j.meta["human"] == {
        "judge_id": "alice",
        "seconds": 12.5,
        "trajectory": [[0.0, [0.5, 0.5]]],
        "rounds_seen": 2,
        "ended_early": False,
    }
    assert any(t.kind == "question" and t.content == "Which sentence says so?" for t in ep.turns)


async def test_an_offline_human_leaves_a_pending_judgment_and_cannot_ask():
    judge = HumanJudge("bob")
    ep = (await consultancy(question(2), Consultant(model()), judge, ConsultancyConfig(rounds=1))).episode()
    assert ep.final.pending and not ep.final.valid and ep.correct is None
    with pytest.raises(HumanUnavailableError, match="live session"):
        await consultancy(question(3), Consultant(model()), judge, ConsultancyConfig(rounds=2, interactive=True))


def test_judge_ids_with_path_characters_are_refused():
    for bad in ("../x", "a/b", "", "with space"):
        with pytest.raises(ValueError, match="human judge id"):
            HumanJudge(bad)


def _spec(tmp_path: Path, judges: list[dict]) -> Experiment:
    return Experiment.from_dict(
        {
            "name": "human",
            "tasks": [{"dataset": "gen/hidden-passage", "n": 4}],
            "protocols": [{"name": "consultancy", "rounds": 1}],
            "roles": {
                "consultant": {"model": "scripted/c", "options": {"outputs": ["Answer: A. Sure."], "cycle": True}}
            },
            "judges": judges,
            "cache": False,
            "output_dir": str(tmp_path),
        }
    )


def test_pending_judgments_are_counted_apart_listed_and_filled(tmp_path, capsys):
    result = run_experiment(_spec(tmp_path, [{"human": "carol"}]), progress="off")
    assert result.status == "complete"
    row = result.summary["results"][0]
    assert row["pending"] == 4 and row["n"] == 0 and row["invalid"] == 0 and row["accuracy"] is None

    waiting = pending_judgments(result.run_dir, "carol")
    assert len(waiting) == 4 and pending_judgments(result.run_dir, "dave") == []
    first = waiting[0]
    v = first.view()
    assert v.context is None and v.order == tuple(first.episode.final.provenance.order_shown)

    assert main(["show", str(result.run_dir)]) == 0
    shown = capsys.readouterr().out
    assert "pending" in shown.splitlines()[1] and "4 episode(s) wait for a human judgment" in shown

    gold = first.episode.gold
    probs = [0.0, 0.0]
    probs[gold] = 0.9
    probs[1 - gold] = 0.1
    submit_judgment(
        result.run_dir, first.episode_id, first.path, probs, rationale="ok", judge_id="carol", detail={"seconds": 3}
    )
    log = result.run_dir / JUDGMENTS_FILE
    size = log.stat().st_size
    for bad, match in [
        (dict(probabilities=probs), "not pending"),
        (dict(probabilities=probs, episode_id=waiting[1].episode_id, judge_id="dave"), "waits for 'carol'"),
        (dict(probabilities=[0.9, 0.2], episode_id=waiting[1].episode_id), "sum to 1"),
    ]:
        args = {"episode_id": first.episode_id, **bad}
        with pytest.raises(ValueError, match=match):
            submit_judgment(result.run_dir, args.pop("episode_id"), first.path, args.pop("probabilities"), **args)
    assert log.stat().st_size == size  # nothing written by a refused submit

    eps = {e.id: e for e in iter_episodes(result.run_dir)}
    judged = eps[first.episode_id]
    assert judged.final.method == "human" and judged.correct is True and judged.final.meta["human"]["seconds"] == 3
    tally = summarize(eps.values()).rows()[0]
    assert tally["n"] == 1 and tally["correct"] == 1 and tally["pending"] == 3
    row = compare(result.run_dir, n_resamples=50).summary[0]
    assert row["n"] == 1 and row["pending"] == 3 and row["accuracy"] == 1.0
    assert len(pending_judgments(result.run_dir)) == 3


def test_a_torn_last_judgment_line_is_dropped(tmp_path):
    result = run_experiment(_spec(tmp_path, [{"human": "erin"}]), progress="off")
    first = pending_judgments(result.run_dir)[0]
    submit_judgment(result.run_dir, first.episode_id, first.path, [0.5, 0.5])
    with (result.run_dir / JUDGMENTS_FILE).open("ab") as f:
        f.write(b'{"episode": "x", "path": [0], "judg')  # a crash mid-write
    assert len(pending_judgments(result.run_dir)) == 3
    second = pending_judgments(result.run_dir)[0]
    submit_judgment(result.run_dir, second.episode_id, second.path, [0.2, 0.8])  # cuts the torn tail first
    lines = (result.run_dir / JUDGMENTS_FILE).read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(line)["episode"] for line in lines)


def test_a_jury_waits_for_its_human_juror_then_decides_by_its_rule(tmp_path):
    jury = {
        "name": "mixed",
        "aggregate": "majority",
        "jurors": [{"simulated": {"accuracy": 1.0}}, {"simulated": {"accuracy": 1.0, "seed": 2}}, {"human": "fay"}],
    }
    result = run_experiment(_spec(tmp_path, [jury]), progress="off")
    waiting = pending_judgments(result.run_dir, "fay")
    assert len(waiting) == 4 and all(p.path == [0, 2] for p in waiting)
    ep = waiting[0].episode
    assert ep.final.pending and ep.final.jury.pending == 1 and ep.correct is None
    wrong = [1.0, 0.0] if ep.gold == 1 else [0.0, 1.0]
    submit_judgment(result.run_dir, ep.id, [0, 2], wrong, judge_id="fay")
    done = next(e for e in iter_episodes(result.run_dir) if e.id == ep.id)
    assert not done.final.pending and done.final.jury.votes[ep.gold] == 2 and done.correct is True
    assert done.final.parts[2].method == "human"


async def test_a_live_session_in_a_run_reaches_the_human_through_use_channels(tmp_path):
    channel = HumanChannel()
    with use_channels({"gus": channel}):
        run = asyncio.ensure_future(arun_experiment(_spec(tmp_path, [{"human": "gus"}]), progress="off"))
        for _ in range(4):
            request = await asyncio.wait_for(channel.next(), 10)
            request.decide([0.6, 0.4])
        result = await asyncio.wait_for(run, 10)
    assert result.status == "complete" and result.summary["results"][0]["pending"] == 0
    assert result.summary["results"][0]["n"] == 4
