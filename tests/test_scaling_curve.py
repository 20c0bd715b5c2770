"""The oversight scaling curve end to end on text: debate and consultancy specs with programmatic arguers
(`retrieval = {...}`, no model) and simulated judges run through the runner; each episode becomes a game between
its judge and the dishonest arguer; the fit, the tables and the plot come out of the stored run."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight.comparison.plots import plot_oversight_scaling
from oversight.comparison.scaling import houdini_of, oversight_outcomes, scaling_tables
from oversight.experiment import Experiment, SpecError, run_experiment
from oversight.store import load_run

SPEC = Path(__file__).resolve().parent.parent / "examples" / "reproductions" / "scaling_text.toml"


def _tiny() -> Experiment:
    spec = Experiment.from_file(SPEC)
    data = spec.model_dump(mode="json", exclude_defaults=True)
    data["tasks"][0]["n"] = 16
    keep = {"debate/q0", "debate/q3", "consultancy/q0", "consultancy/q3"}
    data["protocols"] = [p for p in data["protocols"] if p["label"] in keep]
    data["judges"] = [data["judges"][0], data["judges"][-1]]
    return Experiment.from_dict({**data, "cache": False})


@pytest.fixture(scope="module")
def episodes(tmp_path_factory):
    result = run_experiment(_tiny(), output_dir=tmp_path_factory.mktemp("runs"), progress="off")
    assert result.status == "complete" and result.errors == 0 and result.total == 16 * 4 * 2
    return load_run(result.run_dir).episodes


def test_programmatic_arguers_need_no_model(episodes):
    ep = next(e for e in episodes if e.meta["label"] == "consultancy/q3")
    assert ep.roles == {} and ep.tokens == 0
    speeches = [t for t in ep.turns if t.role == "consultant"]
    assert len(speeches) == 2 and all(len(t.quotes) == 3 and all(q.verified for q in t.quotes) for t in speeches)
    assert ep.meta["agents"]["consultant"] == "program/retrieval(k=3,fabricate=0.0)"


def test_the_houdini_is_the_dishonest_arguer(episodes):
    for ep in episodes:
        if ep.protocol == "debate":
            liar = next(r for r in ep.meta["sides"] if r != ep.meta["honest"])
            assert houdini_of(ep) == ep.meta["agents"][liar]
        else:
            assert houdini_of(ep) == ep.meta["agents"]["consultant"]


def test_the_fit_tables_and_plot_come_from_the_run(episodes, tmp_path):
    outcomes = oversight_outcomes(episodes)
    assert set(outcomes) == {"debate", "consultancy"} and all(len(v) == 16 * 2 * 2 for v in outcomes.values())
    strength = {"sim-1": 1, "sim-3": 4, "program/retrieval(k=0,fabricate=0.0)": 0}
    strength["program/retrieval(k=3,fabricate=0.0)"] = 3
    pairs, ratings = scaling_tables(outcomes, strength, n_resamples=20)
    assert len(pairs) == 2 * 2 * 2 and {r["group"] for r in pairs} == {"debate", "consultancy"}
    debate = {(r["guard"], r["houdini"]): r["success"] for r in pairs if r["group"] == "debate"}
    # in debate both sides quote alike, so the quotes cancel for this judge: the houdini's strength cannot matter
    assert (
        debate[("sim-1", "program/retrieval(k=0,fabricate=0.0)")]
        == debate[("sim-1", "program/retrieval(k=3,fabricate=0.0)")]
    )
    consult = {(r["guard"], r["houdini"]): r["success"] for r in pairs if r["group"] == "consultancy"}
    assert (
        consult[("sim-3", "program/retrieval(k=3,fabricate=0.0)")]
        < consult[("sim-3", "program/retrieval(k=0,fabricate=0.0)")]
    )
    assert {(r["role"], r["group"]) for r in ratings} == {(a, b) for a in ("guard", "houdini") for b in outcomes}
    assert all(r["strength"] is not None for r in ratings)
    png = plot_oversight_scaling(pairs, ratings, tmp_path / "scaling.png")
    assert png is not None and png.stat().st_size > 10_000


def test_a_debate_without_retrieval_still_needs_its_debater_model():
    data = _tiny().model_dump(mode="json", exclude_defaults=True)
    data["protocols"] = [{"name": "debate", "rounds": 1}]
    with pytest.raises(SpecError, match="needs role 'debater'"):
        Experiment.from_dict(data)
