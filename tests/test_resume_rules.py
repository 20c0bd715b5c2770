"""Resume never mixes two experiments in one run: a change to what results depend on (model identity with its
output-changing options, dataset content, prompts, episode ids) is refused, naming it, unless `--force`, which
records it. Resume re-runs errored episodes (a newer record replaces each) unless `--keep-errors`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from experiment_helpers import spec_toml, write_questions
from fault_server import Faults, FaultServer

from oversight.cli import main
from oversight.experiment import Experiment, ResumeMismatchError, run_experiment
from oversight.store import iter_episodes

RUN = ["--no-cache", "--progress", "off"]


def _setup(tmp_path: Path, n: int = 4, **kw: object) -> tuple[Path, Path, Path]:
    data = write_questions(tmp_path / "q.jsonl", n)
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_toml(data, **kw))  # type: ignore[arg-type]
    assert main(["run", str(spec), "--output-dir", str(tmp_path / "runs"), "--run-id", "r", *RUN]) == 0
    return spec, data, tmp_path / "runs" / "t" / "r"


def _resume(spec: Path, run_dir: Path, *extra: str) -> int:
    return main(["run", str(spec), "--resume", str(run_dir), *RUN, *extra])


def test_a_changed_script_is_refused_then_forced_and_recorded(tmp_path: Path, capsys, monkeypatch) -> None:
    spec, _, run_dir = _setup(tmp_path)
    before = (run_dir / "spec.json").read_text()
    spec.write_text(spec.read_text().replace("experiment_helpers:pure_judge", "experiment_helpers:flaky_judge"))
    capsys.readouterr()
    assert _resume(spec, run_dir) == 2
    err = capsys.readouterr().err
    assert "resuming with this spec would mix two experiments in one run; what changed:" in err
    assert "  - judges[0]: the model changed: scripted/pure#fn=experiment_helpers:pure_judge@" in err
    assert "-> scripted/pure#fn=experiment_helpers:flaky_judge@" in err
    assert "episodes:" not in err  # the episode ids did not change: only the judge behind them did
    assert "--force" in err and "Traceback" not in err
    assert (run_dir / "spec.json").read_text() == before  # refused: nothing written

    monkeypatch.setattr("sys.argv", ["oversight", "run", str(spec), "--resume", str(run_dir), "--force"])
    assert _resume(spec, run_dir, "--force") == 0
    record = json.loads((run_dir / "spec.json").read_text())
    (change,) = record["changes"]
    assert change["changes"][0].startswith("judges[0]: the model changed: scripted/pure#fn=experiment_helpers:pure")
    assert (run_dir / change["old_spec"]).read_text() == before  # the old spec is kept beside the new one
    assert record["depends_on"]["models"]["judges[0]"].startswith("scripted/pure#fn=experiment_helpers:flaky_judge@")
    assert change["argv"] == ["oversight", "run", str(spec), "--resume", str(run_dir), "--force"]
    # Resuming again with the same (new) spec is exact now.
    assert _resume(spec, run_dir) == 0


def test_a_dataset_edited_in_place_is_refused(tmp_path: Path, capsys) -> None:
    spec, data, run_dir = _setup(tmp_path)
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    data.write_text("".join(json.dumps({**r, "answer": 1 - r["answer"]}) + "\n" for r in rows))  # same ids
    capsys.readouterr()
    assert _resume(spec, run_dir) == 2
    err = capsys.readouterr().err
    assert f"  - tasks[0] ({data}): the questions changed (an edited file or different options; content hash " in err
    assert "episodes:" not in err


def test_a_changed_prompt_is_refused(tmp_path: Path, capsys) -> None:
    spec, _, run_dir = _setup(tmp_path)
    record = json.loads((run_dir / "spec.json").read_text())
    name = "judges/prompts/judge_decide.txt"
    current = record["depends_on"]["prompts"][name]
    record["depends_on"]["prompts"][name] = "0" * 16  # as if the run had been made with another version of it
    (run_dir / "spec.json").write_text(json.dumps(record))
    capsys.readouterr()
    assert _resume(spec, run_dir) == 2
    assert f"  - prompt {name}: changed ({'0' * 16} -> {current})" in capsys.readouterr().err


def test_changed_episode_ids_are_refused_with_the_counts(tmp_path: Path, capsys) -> None:
    spec, data, run_dir = _setup(tmp_path)
    write_questions(data, 5)
    capsys.readouterr()
    assert _resume(spec, run_dir) == 2
    err = capsys.readouterr().err
    assert "  - episodes: this spec would change the episode ids of the run (4 planned before, 5 now" in err


def test_a_changed_base_url_is_refused_and_credentials_never_shown(tmp_path: Path, capsys) -> None:
    def spec_with(url: str) -> Experiment:
        data = write_questions(tmp_path / "q.jsonl", 3)
        toml = spec_toml(data).replace('model = "scripted/pure"', 'model = "openai/judge"')
        toml = toml.replace(
            'options = { fn = "experiment_helpers:pure_judge" }',
            f'options = {{ base_url = "{url}", api_key = "sk-resume-test-key" }}',
        )
        path = tmp_path / "spec.toml"
        path.write_text(toml)
        return Experiment.from_file(path)

    with FaultServer(Faults()) as a, FaultServer(Faults()) as b:
        url_a = a.url.replace("http://", "http://alice:pw-a-123456@")
        url_b = b.url.replace("http://", "http://alice:pw-b-123456@")
        kwargs = {"output_dir": tmp_path / "runs", "progress": "off", "cache": False}
        first = run_experiment(spec_with(url_a), **kwargs)  # type: ignore[arg-type]
        assert first.status == "complete" and a.served["ok"] == 3
        with pytest.raises(ResumeMismatchError) as info:
            run_experiment(spec_with(url_b), resume=first.run_dir, **kwargs)  # type: ignore[arg-type]
    text = str(info.value)
    assert f"judges[0]: the model changed: openai/judge@{a.url.replace('http://', 'http://***@')}" in text
    assert f"-> openai/judge@{b.url.replace('http://', 'http://***@')}" in text
    assert "pw-a-123456" not in text and "pw-b-123456" not in text
    written = (first.run_dir / "spec.json").read_text()
    assert "pw-a-123456" not in written and "alice" not in written and "sk-resume-test-key" not in written


def test_a_run_recorded_before_depends_on_resumes(tmp_path: Path) -> None:
    spec, _, run_dir = _setup(tmp_path)
    record = json.loads((run_dir / "spec.json").read_text())
    del record["depends_on"]  # the format of runs made before it existed
    (run_dir / "spec.json").write_text(json.dumps(record))
    assert _resume(spec, run_dir) == 0


def test_resume_re_runs_errored_episodes_unless_kept(tmp_path: Path, monkeypatch, capsys) -> None:
    data = write_questions(tmp_path / "q.jsonl", 6)
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_toml(data).replace("pure_judge", "flaky_judge"))
    monkeypatch.setenv("OVERSIGHT_TEST_FAIL", "Question number 1?,Question number 4?")
    assert main(["run", str(spec), "--output-dir", str(tmp_path / "runs"), "--run-id", "r", *RUN]) == 0
    run_dir = tmp_path / "runs" / "t" / "r"
    assert sorted(e.question_id for e in iter_episodes(run_dir) if e.error) == ["q00001", "q00004"]
    assert json.loads((run_dir / "summary.json").read_text())["errors"] == {"RuntimeError: flaky judge failed": 2}

    monkeypatch.delenv("OVERSIGHT_TEST_FAIL")
    assert main(["resume", str(run_dir), *RUN, "--keep-errors"]) == 0
    assert sum(1 for e in iter_episodes(run_dir) if e.error) == 2  # kept as they were

    capsys.readouterr()
    assert main(["resume", str(run_dir), *RUN]) == 0
    out = capsys.readouterr().out
    assert "complete: 6/6 episodes finished (2 this session, 2 of them re-run after an error, 4 already done" in out
    episodes = list(iter_episodes(run_dir))
    assert len(episodes) == 6 and not any(e.error for e in episodes)
    lines = (run_dir / "episodes.jsonl").read_text().splitlines()
    assert len(lines) == 8  # append-only: the errored records are still there, superseded by the newer ones
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["episodes"]["errored_rerun"] == 2 and summary["episodes"]["errors"] == 0
