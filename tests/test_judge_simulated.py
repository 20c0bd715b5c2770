"""Simulated judges: identical per seed, each parameter moving the verdict the way its documentation says, swap
debiasing cancelling their position bias, and a spec entry running them through the runner."""

from __future__ import annotations

import pytest

from judges import SimulatedJudge, SimulatedJudgeParams, SwapJudge
from oversight.experiment import Experiment, run_experiment
from oversight.quotes import verify_quotes
from oversight.store import load_run
from oversight.transcript import Transcript, make_turn
from oversight.types import Question

CONTEXT = "The mill opened in 1926. The bridge was closed in 1998."


def q(i: int) -> Question:
    return Question(id=f"s/{i}", text=f"Question {i}: when did the mill open?", choices=["1926", "1936"], answer=0)


def view(question: Question, order=(0, 1), turns=(), seed=0):
    t = Transcript(question, seed=seed, order=order)
    t.add(*turns)
    return t.view_for("judge", task="decide")


def speech(answer: int, text: str, role: str = "debater_a"):
    turn = make_turn(role, text, answer=answer)
    return verify_quotes(turn, CONTEXT)


async def decide(params: SimulatedJudgeParams, v, truth="1926"):
    return (await SimulatedJudge(params, truth=truth).decide(v)).judgment


async def test_identical_per_seed_and_different_across_seeds():
    params = SimulatedJudgeParams(accuracy=0.7, noise=0.5, seed=4)
    runs = [[(await decide(params, view(q(i)))).probabilities for i in range(20)] for _ in range(2)]
    assert runs[0] == runs[1]
    other = [(await decide(params.model_copy(update={"seed": 5}), view(q(i)))).probabilities for i in range(20)]
    assert other != runs[0]
    assert SimulatedJudge(params).identity != SimulatedJudge(params.model_copy(update={"seed": 5})).identity


async def test_base_accuracy_is_the_share_of_gold_picks_without_evidence():
    for accuracy in (0.5, 0.8, 1.0):
        picks = [(await decide(SimulatedJudgeParams(accuracy=accuracy), view(q(i)))).choice for i in range(400)]
        share = picks.count(0) / len(picks)
        assert share == pytest.approx(accuracy, abs=0.07), accuracy
    no_truth = [(await decide(SimulatedJudgeParams(accuracy=1.0), view(q(i)), truth=None)).choice for i in range(200)]
    assert 0.35 < no_truth.count(0) / 200 < 0.65  # told nothing, it knows nothing


async def test_quote_weights_length_and_confident_wording_move_it():
    base = SimulatedJudgeParams(accuracy=0.5, signal_weight=0.0)
    quoted = [
        speech(1, "<quote>The mill opened in 1926</quote> <quote>The bridge was closed in 1998</quote>"),
        speech(0, "Trust me.", "debater_b"),
    ]
    j = await decide(base, view(q(0), turns=quoted))
    assert j.probabilities[1] > 0.85 and j.meta["scores"] == pytest.approx([0.0, 2.0])
    fake = [speech(1, "<quote>The mill opened in 1936</quote>")]
    assert (await decide(base.model_copy(update={"unverified_weight": -1.5}), view(q(0), turns=fake))).choice == 0
    long = [speech(0, "word " * 300), speech(1, "Short.", "debater_b")]
    assert (await decide(base.model_copy(update={"length_weight": 1.0}), view(q(0), turns=long))).meta["scores"][
        0
    ] == pytest.approx(3.0)
    sure = [speech(1, "It is clearly 1936, without doubt. I am certain.")]
    j = await decide(base.model_copy(update={"confidence_weight": 0.5}), view(q(0), turns=sure))
    assert j.meta["scores"] == pytest.approx([0.0, 1.5])


async def test_swap_cancels_a_simulated_position_bias():
    unbiased = SimulatedJudgeParams(accuracy=0.6, noise=0.7, seed=1)
    biased = unbiased.model_copy(update={"position_bias": 3.0})
    first_picks = 0
    for i in range(60):
        order = (0, 1) if i % 2 else (1, 0)
        truth_choice = (await decide(unbiased, view(q(i), order))).choice
        alone = await decide(biased, view(q(i), order))
        first_picks += alone.choice == order[0]
        swapped = (await SwapJudge(SimulatedJudge(biased, truth="1926")).decide(view(q(i), order))).judgment
        assert swapped.choice == truth_choice  # the order no longer decides
    assert first_picks >= 55  # alone, the bias dominates


def test_parameters_are_checked():
    for bad in ({"accuracy": 1.5}, {"noise": -1}, {"signal_weight": -0.1}, {"shoe_size": 3}):
        with pytest.raises(ValueError):
            SimulatedJudgeParams(**bad)


def test_a_simulated_judge_entry_runs_through_the_runner(tmp_path):
    spec = Experiment.from_dict(
        {
            "name": "sim",
            "tasks": [{"dataset": "gen/hidden-passage", "n": 8}],
            "protocols": [{"name": "consultancy", "rounds": 1}],
            "roles": {"consultant": {"model": "scripted/c", "options": {"outputs": ["Answer: A."], "cycle": True}}},
            "judges": [
                {"name": "sharp", "simulated": {"accuracy": 0.9, "seed": 1}},
                {"name": "dull", "simulated": {"accuracy": 0.5, "position_bias": 2.0}},
            ],
            "cache": False,
        }
    )
    result = run_experiment(spec, output_dir=tmp_path, progress="off")
    assert result.status == "complete" and result.errors == 0 and result.total == 16
    eps = load_run(result.run_dir).episodes
    assert {e.judge for e in eps} == {"sharp", "dull"} and all(e.final.method == "simulated" for e in eps)
    assert all("judge" not in e.roles for e in eps)  # no model behind it
    assert len({e.final.judge for e in eps}) == 2 and all(e.final.provenance.rubric_author == "program" for e in eps)
