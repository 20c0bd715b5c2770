"""The pixel-debate reproduction runs end to end at a tiny size through the runner (real judge training, real
debates, stored runs read back) and its table carries the paper's figures, Wilson intervals and paired gains."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from oversight.store import load_run

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "reproductions" / "pixel_debate.py"
TINY = ["--datasets", "digits", "--ks", "4", "--mcts-ks", "4", "--n", "30", "--mcts-n", "6", "--rollouts", "4"]
TINY += ["--hidden", "16", "--train-masks", "40000", "--workers", "1"]


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("pixel_debate_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_run_gives_every_row(tmp_path):
    out = tmp_path / "result.json"
    cmd = [sys.executable, str(SCRIPT), *TINY, "--output-dir", str(tmp_path / "runs"), "--json", str(out)]
    env = {**os.environ, "OVERSIGHT_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True, env=env)
    result = json.loads(out.read_text())
    labels = [r["pixels"] for r in result["rows"]]
    assert labels == [
        "random",
        "debate, honest first, greedy",
        "debate, liar first, greedy",
        "debate, honest first, MCTS-4",
        "debate, liar first, MCTS-4",
    ]
    assert [r["n"] for r in result["rows"]] == [30, 30, 30, 6, 6]
    for r in result["rows"]:
        assert r["lo"] <= r["accuracy"] <= r["hi"] and 0 <= r["correct"] <= r["n"]
    debate = result["rows"][1]
    assert debate["paired_n"] == 30 and debate["gain"] == pytest.approx(
        debate["accuracy"] - result["rows"][0]["accuracy"]
    )
    subset = result["rows"][3:]  # the MCTS run's images are a subset of the main run's: paired with its random row
    assert all(r["paired_n"] == 6 for r in subset)
    assert "0.482" in done.stdout and "0.852 (+37.0)" in done.stdout  # the paper's k=4 figures
    assert "95% CI (Wilson)" in done.stdout and result["cpu"] > 0 and len(result["runs"]) == 2
    assert len(list((tmp_path / "cache" / "pixel-judges").glob("digits-k4-h16-all-s0-*.npz"))) == 1
    by_first = {s["first"]: s for s in result["search"]}  # MCTS minus the main run's greedy on the same images
    assert set(by_first) == {"honest", "liar"} and all(s["n"] == 6 for s in by_first.values())
    for s in by_first.values():
        assert s["lo"] <= s["gain"] <= s["hi"] and s["debater"] == "mcts-4"
    main, mcts = (load_run(run).episodes for run in result["runs"])
    for first, row in zip(("honest", "liar"), subset, strict=True):
        ids = {e.question_id for e in mcts if e.protocol_config["first"] == first}
        greedy = [e.correct for e in main if e.question_id in ids and f"{first} first, greedy" in e.meta["label"]]
        assert len(greedy) == 6 and by_first[first]["gain"] == pytest.approx(row["accuracy"] - sum(greedy) / 6)
    again = subprocess.run(
        [sys.executable, str(SCRIPT), "--runs", *result["runs"], "--json", str(tmp_path / "again.json")],
        capture_output=True, text=True, timeout=300, check=True, env=env,
    )  # fmt: skip
    assert json.loads((tmp_path / "again.json").read_text())["rows"] == result["rows"]  # the table from the store
    assert "judges: MLP" not in again.stdout and "minus greedy on the same 6 images" in again.stdout


def test_table_gain_is_debate_minus_random(script):
    rows = [
        {"dataset": "d", "k": 6, "pixels": "random", "n": 10, "accuracy": 0.5, "lo": 0.2, "hi": 0.8, "paper": 0.594},
        {"dataset": "d", "k": 6, "pixels": "debate, honest first, greedy", "n": 10, "accuracy": 0.8, "lo": 0.5,
         "hi": 0.9, "gain": 0.3, "gain_lo": 0.1, "gain_hi": 0.5, "paper": 0.889},
    ]  # fmt: skip
    text = script.table(rows)
    assert "+30.0 [+10.0, +50.0]" in text and "0.594" in text and "0.889 (+29.5)" in text


def test_search_minimax_swaps_the_search_rows_debaters(script, monkeypatch):
    """`--search minimax --width W` turns the MCTS spec's debaters into minimax ones (labels too) and leaves the
    main spec's greedy debaters alone; the shipped judges are the 7.2M-mask ones unless told otherwise."""
    monkeypatch.setattr(sys, "argv", ["pixel_debate.py", "--search", "minimax", "--width", "2"])
    parser_args = None

    real_parse = argparse.ArgumentParser.parse_args

    def parse(self, *a, **kw):
        nonlocal parser_args
        parser_args = real_parse(self, *a, **kw)
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse)
    with pytest.raises(SystemExit):
        script.main()
    assert parser_args.train_masks == 7_200_000
    main, search = script.specs(parser_args)
    debaters = [p.config["debater"] for p in search.protocols]
    assert debaters == [{"strategy": "minimax", "width": 2}] * 2
    assert [p.label for p in search.protocols] == ["debate, honest first, minimax-2", "debate, liar first, minimax-2"]
    assert all("debater" not in p.config for p in main.protocols)  # greedy, the default
    assert {j.pixel.train_masks for j in [*main.judges, *search.judges]} == {7_200_000}


def test_pretrain_trains_each_missing_judge_once_in_workers_with_the_in_process_weights(
    script, tmp_path, monkeypatch
):
    monkeypatch.setenv("OVERSIGHT_CACHE_DIR", str(tmp_path / "workers"))
    parsed = argparse.Namespace(
        datasets=["digits"], ks=[6, 4], n=10, mcts_n=10, mcts_ks=[6], rollouts=4, search="mcts", width=3,
        pool="all", hidden=[16], train_masks=4000, liars="all", block=0, output_dir=str(tmp_path / "runs"),
    )  # fmt: skip
    experiments = script.specs(parsed)
    configs = script.judge_configs(experiments)
    assert sorted(c.name for c in configs) == ["digits-k4-h16-all-s0", "digits-k6-h16-all-s0"]  # both specs: 2 judges
    script.pretrain(experiments, workers=2)
    trained = {c.name: script.load_pixel_judge(c).info["weights_sha256"] for c in configs}
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "workers" / "pixel-judges").glob("*.npz")}
    assert len(stamps) == 2
    script.pretrain(experiments, workers=2)  # all cached now: nothing trained again
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "workers" / "pixel-judges").glob("*.npz")} == stamps
    monkeypatch.setenv("OVERSIGHT_CACHE_DIR", str(tmp_path / "in-process"))
    alone = {c.name: script.load_pixel_judge(c).info["weights_sha256"] for c in configs}  # trained here, one by one
    assert alone == trained


@pytest.mark.slow
def test_workers_on_a_local_ray_cluster_play_the_same_episodes(tmp_path):
    pytest.importorskip("ray", reason="the ray extra is not installed")
    env = {**os.environ, "OVERSIGHT_CACHE_DIR": str(tmp_path / "cache")}
    rows = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}.json"
        cmd = [sys.executable, str(SCRIPT), *TINY, "--workers", workers, "--output-dir", str(tmp_path / workers)]
        subprocess.run([*cmd, "--json", str(out)], capture_output=True, text=True, timeout=300, check=True, env=env)
        result = json.loads(out.read_text())
        rows.append(result["rows"])
        summary = json.loads((Path(result["runs"][1]) / "summary.json").read_text())
        assert ("executor" in summary) == (workers == "2")
    assert rows[0] == rows[1] and sum(r["n"] for r in rows[0]) == 102
