"""The CLI around experiments: run the quick example, show, ls, resume; consistent help."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from oversight.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def quick(tmp_path: Path) -> Path:
    # Copy the example (and its data) so the run dir and relative paths live under tmp_path.
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path / "examples" / "quick.toml"


def _run_quick(tmp_path: Path, quick: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    argv = ["run", str(quick), "--output-dir", str(tmp_path / "runs"), "--run-id", "r1"]
    assert main([*argv, "--cache", str(tmp_path / "calls.sqlite"), "--progress", "lines"]) == 0
    return tmp_path / "runs" / "quick" / "r1"


def test_run_quick_example_then_show_and_ls(tmp_path: Path, quick: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = _run_quick(tmp_path, quick, capsys)
    out = capsys.readouterr().out
    assert "48/48 episodes" in out and "complete: 48/48 episodes finished" in out
    assert "direct-2" in out and "direct-4" in out
    assert {p.name for p in run_dir.iterdir()} == {"spec.json", "episodes.jsonl", "pool.jsonl", "summary.json", "lock"}
    spec = json.loads((run_dir / "spec.json").read_text())
    prov = spec["provenance"]
    assert prov["python"] and prov["oversight_version"] and prov["datasets"][0]["content_hash"]
    assert any(k.startswith("judges/prompts/") for k in prov["prompts"])

    assert main(["show", str(run_dir)]) == 0
    shown = capsys.readouterr().out
    header = next(line for line in shown.splitlines() if line.startswith("protocol"))
    for col in ("n", "accuracy", "95% CI", "invalid", "tokens", "cost"):
        assert col in header
    assert "direct-4  coin" in shown and "48/48 episodes finished; status: complete" in shown

    assert main(["show", str(tmp_path / "runs" / "quick"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["protocol"], r["judge"]) for r in rows} == {("direct-2", "coin"), ("direct-4", "coin")}
    assert all(r["n"] == 24 and len(r["ci95"]) == 2 for r in rows)

    assert main(["ls", str(tmp_path / "runs")]) == 0
    listing = capsys.readouterr().out
    assert "quick" in listing and "r1" in listing and "complete" in listing and "48/48" in listing


def test_resume_of_finished_run_recomputes_nothing(
    tmp_path: Path, quick: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = _run_quick(tmp_path, quick, capsys)
    capsys.readouterr()
    assert main(["resume", str(run_dir), "--cache", str(tmp_path / "calls.sqlite"), "--progress", "off"]) == 0
    assert "(0 this session, 48 already done" in capsys.readouterr().out
    assert len((run_dir / "episodes.jsonl").read_text().splitlines()) == 48


def test_run_spec_resume_with_changed_spec_is_refused(
    tmp_path: Path, quick: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = _run_quick(tmp_path, quick, capsys)
    capsys.readouterr()
    quick.write_text(quick.read_text().replace("seeds = [0, 1]", "seeds = [0, 2]"))
    assert main(["run", str(quick), "--resume", str(run_dir), "--no-cache", "--progress", "off"]) == 2
    err = capsys.readouterr().err
    assert "would change the episode ids" in err and "--force" in err and "Traceback" not in err
    argv = ["run", str(quick), "--resume", str(run_dir), "--no-cache", "--progress", "off", "--force"]
    assert main(argv) == 0
    assert "(24 this session, 24 already done" in capsys.readouterr().out


def test_errors_are_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["resume", str(tmp_path / "nope")]) == 2
    assert main(["show", str(tmp_path)]) == 2
    assert main(["ls", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("oversight: error:") == 3


def test_help_is_consistent(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    text = parser.format_help()
    for cmd in ("run", "resume", "show", "ls"):
        assert cmd in text
    for cmd in ("run", "resume"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
        out = capsys.readouterr().out
        for flag in ("--fail-fast", "--no-cache", "--cache", "--force", "--progress"):
            assert flag in out
