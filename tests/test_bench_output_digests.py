"""bench/output_digests.py: two runs of the same code write the same digests (the run is deterministic apart
from its timings), and a changed output changes its file's digest."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from bench_support import load_bench

BENCH = load_bench("output_digests")


def digests(out: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> list[str]:
    monkeypatch.setattr(sys, "argv", ["output_digests.py", str(out)])
    assert BENCH.main() == 0
    return capsys.readouterr().out.splitlines()


def test_two_runs_print_the_same_digests_and_an_edit_changes_one(tmp_path, monkeypatch, capsys) -> None:
    first = digests(tmp_path / "a", monkeypatch, capsys)
    second = digests(tmp_path / "b", monkeypatch, capsys)
    assert first == second
    names = [line.split()[0] for line in first]
    for shape in ("toy", "debate", "consultancy"):
        for part in ("episodes.jsonl", "pool.jsonl", "spec.json", "summary.json"):
            assert f"{shape}/{part}" in names
        assert f"{shape}.sqlite" in names
    assert all(" lines 200 " in line for line in first if line.split()[0].endswith("episodes.jsonl"))

    (episodes,) = (tmp_path / "b" / "debate").glob("*/episodes.jsonl")
    lines = episodes.read_text().splitlines()
    row = json.loads(lines[0])
    row["turns"][0]["content"] = "edited"
    episodes.write_text("\n".join([json.dumps(row), *lines[1:]]) + "\n")
    edited = BENCH.file_line(episodes, tmp_path / "b")
    assert edited.startswith("debate/episodes.jsonl lines 200 ") and edited not in first


def test_volatile_keys_are_left_out_at_any_depth() -> None:
    value = {"b": [{"latency": 1.5, "text": "x"}], "timings": {"start": 1}, "a": {"run_id": "r", "n": 2}}
    assert BENCH.stable(value) == {"a": {"n": 2}, "b": [{"text": "x"}]}
