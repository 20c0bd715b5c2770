"""The run store: append-only episodes.jsonl, torn last lines dropped on read and cut before appending."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight.episode import Episode, Judgment
from oversight.store import (
    EpisodeWriter,
    StoreError,
    finished_ids,
    good_prefix_length,
    iter_episodes,
    list_runs,
    load_run,
    resolve_run_dir,
    write_json,
)


def _ep(i: int, correct: bool = True) -> Episode:
    return Episode(
        id=f"e{i}",
        question_id=f"q{i}",
        protocol="p",
        judge="j",
        gold=0,
        judgments=[Judgment(judge="j", choice=0 if correct else 1)],
        correct=correct,
        tokens=10,
    )


def _run_dir(tmp_path: Path, n: int = 3) -> Path:
    run = tmp_path / "exp" / "r1"
    run.mkdir(parents=True)
    write_json(run / "spec.json", {"experiment": "exp", "run_id": "r1", "episodes": {"total": n}})
    with EpisodeWriter(run) as w:
        for i in range(n):
            w.write(_ep(i, correct=i % 2 == 0))
    return run


def test_write_and_read_back(tmp_path: Path) -> None:
    run = _run_dir(tmp_path)
    assert [e.id for e in iter_episodes(run)] == ["e0", "e1", "e2"]
    loaded = load_run(run)
    assert loaded.summary is None and loaded.spec["run_id"] == "r1"
    df = loaded.df
    assert list(df["id"]) == ["e0", "e1", "e2"]
    assert list(df["correct"]) == [True, False, True]
    assert finished_ids(run) == {"e0": (10, 0.0), "e1": (10, 0.0), "e2": (10, 0.0)}


def test_torn_last_line_is_dropped_on_read(tmp_path: Path) -> None:
    run = _run_dir(tmp_path)
    path = run / "episodes.jsonl"
    with path.open("ab") as f:
        f.write(_ep(9).model_dump_json().encode()[:40])  # a crash mid-write: no newline
    assert [e.id for e in iter_episodes(run)] == ["e0", "e1", "e2"]
    assert set(finished_ids(run)) == {"e0", "e1", "e2"}


def test_writer_cuts_the_torn_tail_before_appending(tmp_path: Path) -> None:
    run = _run_dir(tmp_path)
    path = run / "episodes.jsonl"
    good = path.stat().st_size
    with path.open("ab") as f:
        f.write(b'{"id": "half')
    assert good_prefix_length(path) == good
    with EpisodeWriter(run) as w:
        w.write(_ep(3))
    lines = path.read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["e0", "e1", "e2", "e3"]


def test_unparseable_last_line_with_newline_is_dropped(tmp_path: Path) -> None:
    run = _run_dir(tmp_path)
    path = run / "episodes.jsonl"
    with path.open("ab") as f:
        f.write(b'{"id": "x", "garbage\n')
    assert len(list(iter_episodes(run))) == 3
    with EpisodeWriter(run):
        pass
    assert len(path.read_text().splitlines()) == 3


def test_corrupt_middle_line_is_an_error(tmp_path: Path) -> None:
    run = _run_dir(tmp_path)
    path = run / "episodes.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + "not json\n" + "".join(lines[1:]))
    with pytest.raises(StoreError, match=r"episodes.jsonl:2: corrupt"):
        list(iter_episodes(run))
    with pytest.raises(StoreError, match=r"episodes.jsonl:2: corrupt"):
        finished_ids(run)


def test_whole_file_torn_and_empty(tmp_path: Path) -> None:
    run = tmp_path / "r"
    run.mkdir()
    (run / "episodes.jsonl").write_bytes(b'{"id": "e0"')
    assert good_prefix_length(run / "episodes.jsonl") == 0
    assert list(iter_episodes(run)) == []
    (run / "episodes.jsonl").write_bytes(b"")
    assert good_prefix_length(run / "episodes.jsonl") == 0


def test_resolve_run_dir_and_list(tmp_path: Path) -> None:
    run = _run_dir(tmp_path)
    assert resolve_run_dir(run) == run
    assert resolve_run_dir(tmp_path / "exp") == run
    assert list_runs(tmp_path) == [run]
    with pytest.raises(StoreError, match="not a run directory"):
        resolve_run_dir(tmp_path / "nothing")


def test_load_run_is_exported_lazily(tmp_path: Path) -> None:
    import oversight

    run = _run_dir(tmp_path)
    assert len(oversight.load_run(run).episodes) == 3
    assert oversight.Experiment.__name__ == "Experiment"
    assert callable(oversight.run_experiment)
