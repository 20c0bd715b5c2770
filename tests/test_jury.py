"""Juries: jurors of every kind decide from one view, a named rule combines them, every juror's verdict is stored
with its attributes and read back, persona jurors are prompts on one model, and bad jury specs are refused."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from judges import JudgeSettings, Juror, Jury, JuryRule, LLMJudge, SimulatedJudge, SimulatedJudgeParams
from oversight.cli import main
from oversight.episode import Episode
from oversight.experiment import Experiment, run_experiment
from oversight.models import get_model
from oversight.store import load_run
from oversight.transcript import Transcript
from oversight.types import Question

Q = Question(id="j", text="Which is it?", choices=["red", "blue"], answer=1)


def view():
    return Transcript(Q, seed=2, order=(0, 1)).view_for("judge", task="decide")


def said(text):
    return LLMJudge(get_model("scripted/x", outputs=[text], cycle=True), max_retries=0)


async def test_a_rule_combines_jurors_and_each_verdict_is_kept_with_its_attributes():
    jurors = [
        Juror(said("Answer: A\nConfidence: 90%"), population="lawyers", name="ann"),
        Juror(said("Answer: B\nConfidence: 60%"), population="students"),
        Juror(said("Answer: B\nConfidence: 70%"), population="students"),
    ]
    for rule, choice in [
        (JuryRule(aggregate="majority"), 1),
        (JuryRule(aggregate="mean"), 0),  # [0.9+0.4+0.3, 0.1+0.6+0.7] / 3
        (JuryRule(aggregate="welfare", alpha=1), 0),  # geometric: 0.476 vs 0.348
        (JuryRule(aggregate="welfare", alpha=math.inf), 0),  # min: 0.3 vs 0.1
        (JuryRule(aggregate="thresholded", alpha=0, threshold=0.5), 1),  # endorsements 1/3 vs 2/3
    ]:
        verdict = await Jury(jurors, rule, name="panel").decide(view())
        j = verdict.judgment
        assert j.choice == choice and j.method == "jury", rule
        assert [p.provenance.population for p in j.parts] == ["lawyers", "students", "students"]
        assert j.parts[0].meta["juror"] == "ann" and [t.meta["juror"] for t in verdict.turns] == [0, 1, 2]
        assert j.jury.votes == [1, 2] and j.jury.agreement == pytest.approx(1 / 3)
        assert j.provenance.aggregation == rule.describe() and j.provenance.disagreement == "noise"


async def test_invalid_jurors_are_left_out_and_a_jury_without_valid_ones_is_invalid():
    jury = Jury([said("Answer: B"), said("no idea"), said("Answer: B\nConfidence: 80%")], JuryRule(aggregate="mean"))
    j = (await jury.decide(view())).judgment
    assert j.valid and j.choice == 1 and j.jury.valid == 2 and j.jury.jurors == 3
    j = (await Jury([said("hm"), said("eh")]).decide(view())).judgment
    assert not j.valid and j.choice is None
    with pytest.raises(ValueError, match="at least one juror"):
        Jury([])


def _jury_spec(tmp_path: Path, **jury) -> dict:
    return {
        "name": "jury-run",
        "tasks": [{"dataset": "gen/hidden-passage", "n": 4}],
        "protocols": [{"name": "debate", "rounds": 1}],
        "roles": {"debater": {"model": "scripted/d", "options": {"outputs": ["Answer: A. It is so."], "cycle": True}}},
        "judges": [
            {
                "name": "panel",
                "jurors": [
                    {
                        "model": "scripted/p",
                        "options": {"fn": "oversight.experiment.demo_scripts:hash_judge"},
                        "persona": "a retired judge",
                        "population": "legal",
                    },
                    {
                        "model": "scripted/p",
                        "options": {"fn": "oversight.experiment.demo_scripts:hash_judge"},
                        "persona": "a first-year student",
                        "population": "students",
                    },
                    {"simulated": {"accuracy": 0.8, "seed": 3}, "population": "simulated"},
                ],
                **jury,
            }
        ],
        "cache": False,
        "output_dir": str(tmp_path),
    }


def test_every_jurors_verdict_is_persisted_and_read_back(tmp_path):
    spec = Experiment.from_dict(_jury_spec(tmp_path, aggregate="welfare", alpha=2.0, disagreement="signal"))
    result = run_experiment(spec, progress="off")
    assert result.status == "complete" and result.errors == 0
    lines = (result.run_dir / "episodes.jsonl").read_text().splitlines()
    for ep, line in zip(load_run(result.run_dir).episodes, lines, strict=True):
        final = ep.final
        assert final.method == "jury" and len(final.parts) == 3 and final.jury.rule == "welfare(alpha=2)"
        assert [p.provenance.population for p in final.parts] == ["legal", "students", "simulated"]
        assert [p.provenance.persona for p in final.parts[:2]] == ["a retired judge", "a first-year student"]
        assert final.parts[2].method == "simulated" and final.provenance.disagreement == "signal"
        assert ep.roles["judge_1"] == ep.roles["judge_2"] == "scripted/p"  # persona jurors: prompts on one model
        systems = [t.seen[0].content for t in ep.turns if t.kind == "judgment"]
        assert any("a retired judge" in s for s in systems) and any("a first-year student" in s for s in systems)
        reread = Episode.model_validate(json.loads(line) | {"turns": []})
        assert [p.model_dump() for p in reread.final.parts] == [p.model_dump() for p in final.parts]
        assert final.view is not None and final.parts[0].view is None


@pytest.mark.parametrize(
    "jury,message",
    [
        ({"jurors": []}, "judges[0]: jurors: a jury needs at least one juror"),
        ({"alpha": -1.0}, "judges[0].alpha: must be >= 0"),
        ({"threshold": 1.5}, "judges[0].threshold: must be <= 1"),
        (
            {"aggregate": "median"},
            "judges[0].aggregate: Input should be 'majority', 'mean', 'welfare' or 'thresholded'",
        ),
    ],
)
def test_bad_jury_specs_exit_2_and_write_nothing(tmp_path, capsys, jury, message):
    data = _jury_spec(tmp_path / "runs", **jury)
    if "jurors" in jury:
        data["judges"][0]["jurors"] = []
        jury = {}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(data))
    assert main(["run", str(path), "--progress", "off"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_a_spec_without_the_judge_a_protocol_needs_exits_2(tmp_path, capsys):
    data = _jury_spec(tmp_path / "runs")
    del data["judges"]
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(data))
    assert main(["run", str(path)]) == 2
    assert "judges: protocol 'debate' (protocols[0]) needs a judge" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


async def test_swap_settings_reach_every_model_and_simulated_juror():
    from judges import build_entry_judge
    from oversight.experiment.spec import JudgeSpec

    entry = JudgeSpec(jurors=[{"model": "scripted/a"}, {"simulated": {}}, {"human": "hana"}]).entry()
    models = {"judge_1": get_model("scripted/a", outputs=["Answer: B"], cycle=True)}
    jury = build_entry_judge(entry, models, JudgeSettings(swap=True), truth="blue")
    assert [type(j.judge).__name__ for j in jury.jurors] == ["SwapJudge", "SwapJudge", "HumanJudge"]
    assert SimulatedJudge(SimulatedJudgeParams()).identity.startswith("simulated/")
