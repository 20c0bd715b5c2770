"""The example specs load and validate; quick.toml runs for real; `oversight demo` is wired as a real run.

The local-model examples are only validated here (running them takes minutes); tests/e2e/test_demo.py runs the
demo on the real model.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from oversight.cli import main
from oversight.cli.demo_cmd import demo_experiment
from oversight.experiment import Experiment, run_experiment
from oversight.experiment.expand import expand
from oversight.protocol_registry import get_protocol

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SPECS = sorted(EXAMPLES.glob("*.toml"))
LOCAL = "local/smollm2-135m"
SCRIPTED = ["--model", "scripted/demo", "-o", "fn=oversight.experiment.demo_scripts:hash_judge"]


def _models(spec: Experiment) -> set[str]:
    """Every model string of the spec's roles, judges and jurors (simulated and human judges have none)."""
    judges = [j for entry in spec.judge_list() for j in (entry, *(entry.jurors or []))]
    return {r.model for r in spec.roles.values()} | {j.model for j in judges if j.model}


def test_one_example_per_protocol_and_a_comparison():
    names = {p.stem for p in SPECS}
    assert {"quick", "direct", "consultancy", "debate", "mad", "decomposition", "compare"} <= names
    assert {"market_making", "market_making_simulated"} <= names
    for proto in ("direct", "consultancy", "debate", "mad", "decomposition", "market_making_simulated"):
        spec = Experiment.from_file(EXAMPLES / f"{proto}.toml")
        assert {p.name for p in spec.protocols} == {proto.removesuffix("_simulated")}
    # market making is set beside debate and consultancy on the same questions
    spec = Experiment.from_file(EXAMPLES / "market_making.toml")
    assert {p.name for p in spec.protocols} == {"market_making", "debate", "consultancy"} and len(spec.tasks) == 1


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_example_loads_validates_and_expands(path: Path):
    spec = Experiment.from_file(path)  # pydantic shapes plus each protocol's own config and roles
    plans = expand(spec)
    assert plans and len({p.id for p in plans}) == len(plans)
    labels = {p.label for p in spec.protocols}
    assert {p.protocol.label for p in plans} == labels
    for proto in spec.protocols:  # every config key is one the protocol knows (extra keys are rejected)
        get_protocol(proto.name).config.model_validate(proto.config)
    text = path.read_text()
    # each says how to run it (a spec judged live by a person, with `oversight judge --live`)
    assert f"oversight run examples/{path.name}" in text or f"oversight judge --live examples/{path.name}" in text
    if path.stem not in ("quick", "view", "judging"):  # (scripted) runnable without servers or keys, and say how
        models = _models(spec)
        # the embedded model, or none at all (model-free studies: *_simulated.toml, ida.toml)
        assert models == {LOCAL} or (not models and (path.stem.endswith("_simulated") or path.stem == "ida")), models
        assert "openai/" in text and "vllm/" in text


def test_quick_example_runs_for_real(tmp_path: Path):
    spec = Experiment.from_file(EXAMPLES / "quick.toml")
    result = run_experiment(spec, output_dir=tmp_path / "runs", cache=tmp_path / "calls.sqlite", progress="off")
    assert result.status == "complete" and result.errors == 0
    lines = (result.run_dir / "episodes.jsonl").read_text().splitlines()
    assert len(lines) == result.total == 48
    rows = {r["protocol"]: r for r in result.summary["results"]}
    assert set(rows) == {"direct-2", "direct-4"} and all(r["n"] == 24 for r in rows.values())


def test_model_free_market_making_example_runs_for_real(tmp_path: Path):
    spec = Experiment.from_file(EXAMPLES / "market_making_simulated.toml")
    result = run_experiment(spec, output_dir=tmp_path / "runs", cache=False, progress="off")
    assert result.status == "complete" and result.errors == 0 and result.total == 64
    lines = [json.loads(line) for line in (result.run_dir / "episodes.jsonl").read_text().splitlines()]
    assert {ep["meta"]["label"] for ep in lines} == {"market", "market-cx-remove"}
    assert all(len(ep["meta"]["market"]["trajectory"]) == 5 and ep["tokens"] == 0 for ep in lines)
    assert any(s["exposed"] for ep in lines for s in ep["meta"]["steps"])  # cross-examination caught misquotes


def test_compare_example_is_the_demo_as_a_file():
    """Same questions, protocol configs and roles as `oversight demo`, so after the demo it runs from the cache."""
    compare = Experiment.from_file(EXAMPLES / "compare.toml")
    demo = demo_experiment()
    assert compare.tasks == demo.tasks
    assert [(p.label, p.name, p.config) for p in compare.protocols] == [
        (p.label, p.name, p.config) for p in demo.protocols
    ]
    assert compare.roles == demo.roles and compare.judge_list() == demo.judge_list()
    assert {p.label for p in demo.protocols} == {"naive", "consultancy", "debate", "expert"}


def test_demo_spec_follows_the_options():
    spec = demo_experiment(n=5, model="openai/gpt-4o-mini", rounds=3, expert=False, output_dir="elsewhere")
    assert spec.tasks[0].n == 5 and spec.tasks[0].dataset == "gen/hidden-passage"
    assert [p.label for p in spec.protocols] == ["naive", "consultancy", "debate"]
    assert all(p.config["rounds"] == 3 for p in spec.protocols if p.name in ("consultancy", "debate"))
    assert _models(spec) == {"openai/gpt-4o-mini"} and spec.concurrency > 1 and spec.output_dir == "elsewhere"
    assert demo_experiment().concurrency == 2  # the local model's two contexts
    assert {r.options.get("n_parallel") for r in demo_experiment().roles.values()} == {2}
    assert all(not r.options for r in spec.roles.values())  # a local option is not passed to another provider
    assert all(p.config["judge"]["swap"] for p in demo_experiment().protocols)
    plain = demo_experiment(swap=False)
    assert all(not p.config.get("judge", {}).get("swap", False) for p in plain.protocols)
    assert plain.judge_list() == demo_experiment().judge_list()


def test_demo_command_is_a_real_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out_dir, cache = tmp_path / "runs", tmp_path / "calls.sqlite"
    argv = ["demo", "--n", "3", *SCRIPTED, "--out", str(out_dir), "--cache", str(cache), "--progress", "off"]
    assert main([*argv, "--run-id", "first"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("protocol"))
    for col in ("acc", "95% CI", "invalid", "tokens/ep", "s/ep"):
        assert col in header
    run_dir = out_dir / "demo" / "first"
    assert f"run written to: {run_dir}" in out and f"oversight show {run_dir}" in out
    assert f"oversight compare {run_dir}" in out
    assert {p.name for p in run_dir.iterdir()} >= {"spec.json", "episodes.jsonl", "summary.json"}
    episodes = [json.loads(line) for line in (run_dir / "episodes.jsonl").read_text().splitlines()]
    labels = [ep.get("meta", {}).get("label", ep["protocol"]) for ep in episodes]
    assert sorted(labels) == sorted(["naive", "consultancy", "debate", "expert"] * 3)
    assert all(ep["error"] is None for ep in episodes)
    for label in ("naive", "consultancy", "debate", "expert"):
        assert any(line.startswith(label + " ") for line in out.splitlines())

    # The run is an ordinary run: show and compare read it.
    assert main(["show", str(run_dir)]) == 0
    assert "12/12 episodes finished; status: complete" in capsys.readouterr().out
    assert main(["compare", str(run_dir), "--no-report", "--table", "summary", "--resamples", "50"]) == 0
    assert "debate" in capsys.readouterr().out

    # A re-run is answered from the call cache.
    assert main([*argv, "--run-id", "second"]) == 0
    summary = json.loads((out_dir / "demo" / "second" / "summary.json").read_text())
    assert summary["calls"]["total"] > 0 and summary["calls"]["cache_hits"] == summary["calls"]["total"]


def test_demo_rejects_bad_options(capsys: pytest.CaptureFixture[str]):
    assert main(["demo", "--n", "0"]) == 2
    assert "--n" in capsys.readouterr().err
    assert main(["demo", "--model", "nosuch/model"]) == 2
    assert "unknown provider" in capsys.readouterr().err


def test_demo_spec_file_is_package_data():
    pyproject = tomllib.loads((EXAMPLES.parent / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["*"]
    assert "*.toml" in patterns
    assert (EXAMPLES.parent / "oversight" / "experiment" / "demo.toml").is_file()
