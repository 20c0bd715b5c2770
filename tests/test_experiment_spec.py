"""Experiment specs: TOML/YAML/Python forms, and bad specs rejected with path-qualified messages, exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from experiment_helpers import spec_toml, write_questions

from oversight.cli import main
from oversight.experiment import Experiment, SpecError

ROOT = Path(__file__).resolve().parent.parent
HELPERS = str(Path(__file__).resolve().parent)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_questions(tmp_path / "q.jsonl", 4)


def _write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _errors(path: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        Experiment.from_file(path)
    return info.value.errors


def test_quick_example_loads() -> None:
    spec = Experiment.from_file(ROOT / "examples" / "quick.toml")
    assert spec.name == "quick"
    assert [p.label for p in spec.protocols] == ["direct-4", "direct-2"]
    assert spec.protocols[0].config == {"two_choice": False, "use_logprobs": False}
    assert spec.judge_list()[0].generate_config().max_tokens == 64


def test_yaml_and_python_forms_agree(tmp_path: Path, data: Path) -> None:
    toml_spec = Experiment.from_file(_write(tmp_path, spec_toml(data, rounds=2)))
    yaml_text = f"""
name: t
seeds: [0]
concurrency: 4
tasks: [{{dataset: "{data}"}}]
protocols:
  - {{name: "experiment_helpers:ECHO", rounds: 2}}
judges:
  - {{name: pure, model: scripted/pure, options: {{fn: "experiment_helpers:pure_judge"}}}}
"""
    yaml_spec = Experiment.from_file(_write(tmp_path, yaml_text, "spec.yaml"))
    py_spec = Experiment(
        name="t",
        seeds=[0],
        concurrency=4,
        tasks=[{"dataset": str(data)}],
        protocols=[{"name": "experiment_helpers:ECHO", "rounds": 2}],
        judges=[{"name": "pure", "model": "scripted/pure", "options": {"fn": "experiment_helpers:pure_judge"}}],
    )
    py_spec.check()
    assert toml_spec.resolved() == yaml_spec.resolved() == py_spec.resolved()


def test_roles_as_strings_and_tables(tmp_path: Path, data: Path) -> None:
    text = f"""
name = "duo"
[[tasks]]
dataset = "{data}"
[[protocols]]
name = "experiment_helpers:DUO"
[roles]
debater = {{ model = "scripted/d", temperature = 0.7, options = {{ outputs = ["x"], cycle = true }} }}
judge = "scripted/j"
"""
    spec = Experiment.from_file(_write(tmp_path, text))
    assert spec.roles["debater"].generate_config().temperature == 0.7
    assert spec.roles["debater"].generate_config().model_fields_set == {"temperature"}
    assert [j.name for j in spec.judge_list()] == ["judge"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda s: s.replace("rounds = 1", "rounds = 0"), "protocols[0].rounds: must be >= 1"),
        (lambda s: s.replace("rounds = 1", "rounds = 1\nwobble = 3"), "protocols[0].wobble: unknown key"),
        (lambda s: s.replace("concurrency = 4", "concurrency = 0"), "concurrency: must be >= 1"),
        (lambda s: "foo = 1\n" + s, "foo: unknown key"),
        (
            lambda s: s.replace('model = "scripted/pure"', 'model = "scripted/pure"\ntemp = 1'),
            "judges[0].temp: unknown key",
        ),
        (lambda s: s.replace('"scripted/pure"', '"nowhere/x"'), "judges[0].model: model string 'nowhere/x'"),
        (lambda s: s.replace('"experiment_helpers:ECHO"', '"nope"'), "protocols[0].name: unknown protocol 'nope'"),
        (lambda s: s.replace("seeds = [0]", "seeds = []"), "seeds: must have at least 1 item(s)"),
        (lambda s: s.replace('[[tasks]]\ndataset = "', '[[tasks]]\nn = 0\ndataset = "'), "tasks[0].n: must be >= 1"),
    ],
)
def test_bad_values_are_path_qualified(tmp_path: Path, data: Path, edit: object, expected: str) -> None:
    path = _write(tmp_path, edit(spec_toml(data)))  # type: ignore[operator]
    errors = _errors(path)
    assert any(e.startswith(expected) for e in errors), errors


def test_second_protocol_entry_is_named_by_index(tmp_path: Path, data: Path) -> None:
    text = spec_toml(data) + '\n[[protocols]]\nname = "experiment_helpers:ECHO"\nlabel = "two"\nrounds = -1\n'
    assert "protocols[1].rounds: must be >= 1" in _errors(_write(tmp_path, text))


def test_missing_role_and_unused_role(tmp_path: Path, data: Path) -> None:
    text = f"""
name = "duo"
[[tasks]]
dataset = "{data}"
[[protocols]]
name = "experiment_helpers:DUO"
[[judges]]
model = "scripted/j"
"""
    assert any("needs role 'debater'" in e for e in _errors(_write(tmp_path, text)))
    text2 = spec_toml(data) + '\n[roles]\nhelper = "scripted/h"\n'
    assert _errors(_write(tmp_path, text2)) == ["roles.helper: no protocol of this experiment uses this role"]


def test_unparseable_and_missing_files(tmp_path: Path) -> None:
    assert _errors(_write(tmp_path, "name = [unclosed"))[0].startswith(f"{tmp_path / 'spec.toml'}: cannot parse")
    assert _errors(tmp_path / "absent.toml") == [f"{tmp_path / 'absent.toml'}: no such spec file"]


def test_cli_bad_spec_exit_code_2(tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, spec_toml(data).replace("rounds = 1", "rounds = 0"))
    assert main(["run", str(path), "--output-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "protocols[0].rounds: must be >= 1" in err
    assert "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_cli_bad_spec_subprocess_has_no_traceback(tmp_path: Path, data: Path) -> None:
    path = _write(tmp_path, spec_toml(data).replace("[[tasks]]", "[[tasks]]\nsplitt = 'x'"))
    env = {**os.environ, "PYTHONPATH": HELPERS}
    proc = subprocess.run(
        [sys.executable, "-m", "oversight", "run", str(path)], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert proc.returncode == 2
    assert "tasks[0].splitt: unknown key" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_bad_dataset_is_reported_at_run(tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": "t", "choices": ["a"], "answer": 3}\n')
    path = _write(tmp_path, spec_toml(bad))
    assert main(["run", str(path), "--output-dir", str(tmp_path / "runs"), "--no-cache"]) == 2
    assert "tasks[0].dataset:" in capsys.readouterr().err


def test_bad_model_option_fails_before_the_run_dir_exists(
    tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, spec_toml(data).replace('options = { fn = "', 'options = { wobble = 1, fn = "'))
    assert main(["run", str(path), "--output-dir", str(tmp_path / "runs"), "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert "judges[0].model: scripted/pure: bad option" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_model_level_errors_keep_their_own_path(tmp_path: Path, data: Path) -> None:
    text = spec_toml(data).replace("seeds = [0]", "seeds = [0]\nrepeats = 2")
    assert _errors(_write(tmp_path, text)) == ["repeats: give seeds or repeats, not both"]
    text = spec_toml(data) + '\n[roles]\njudge = "scripted/j"\n'
    assert _errors(_write(tmp_path, text)) == ["roles.judge: give the judge under judges or under roles, not both"]


def test_api_keys_given_as_options_never_reach_spec_json(tmp_path, monkeypatch):
    from oversight.experiment import run_experiment

    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-SECRET-98765")
    spec = Experiment.from_dict(
        {
            "name": "keys",
            "tasks": [{"dataset": "gen/arithmetic", "n": 2}],
            "protocols": [{"name": "direct", "use_logprobs": False, "two_choice": True}],
            "judges": [
                {
                    "name": "j",
                    "model": "scripted/j",
                    "options": {
                        "outputs": ["Answer: A"],
                        "cycle": True,
                        "api_key": "sk-opt-SECRET-12345",  # unused by scripted; would be by openai/...
                        "extra_headers": {"Authorization": "Bearer sk-hdr-SECRET-555"},
                    },
                }
            ],
            "description": "mentions sk-env-SECRET-98765 by mistake",
            "cache": False,
        }
    )
    resolved = spec.resolved()
    assert resolved["judges"][0]["options"]["api_key"] == "***"
    assert resolved["judges"][0]["options"]["extra_headers"]["Authorization"] == "***"
    assert resolved["judges"][0]["options"]["outputs"] == ["Answer: A"]  # other options kept
    assert resolved["judges"][0]["max_tokens"] is None and "max_tokens" in resolved["budget"]  # not secrets
    assert "SECRET" not in str(resolved)
    # Through the runner to disk: a key string that leaked into any field is masked in spec.json too.
    del spec.judges[0].options["api_key"], spec.judges[0].options["extra_headers"]
    result = run_experiment(spec, output_dir=tmp_path, progress="off")
    assert result.status == "complete" and (result.run_dir / "spec.json").is_file()
    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert b"SECRET" not in written
    from oversight.experiment.spec import drop_masked

    assert "api_key" not in drop_masked(resolved)["judges"][0]["options"]  # resume falls back to the environment


def test_mad_with_a_judge_needs_a_judges_entry():
    base = {
        "name": "m",
        "tasks": [{"dataset": "gen/prontoqa", "n": 2}],
        "roles": {"agent": {"model": "scripted/a", "options": {"outputs": ["Answer: A"], "cycle": True}}},
    }
    with pytest.raises(SpecError, match=r"judges: protocol 'mad' \(protocols\[0\]\) needs a judge"):
        Experiment.from_dict({**base, "protocols": [{"name": "mad", "judge": True}]})
    Experiment.from_dict({**base, "protocols": [{"name": "mad"}]})  # majority only: no judge needed
