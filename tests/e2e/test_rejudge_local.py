"""Re-judging a real debate run of the embedded model (SmolLM2-135M, llama.cpp; needs `oversight[local]`) with two
local judges: no debater call, the re-judge with the original settings sees byte for byte what the first judge
saw, and `compare` pairs the three judges on the identical transcripts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from oversight.comparison import compare
from oversight.experiment import Experiment, rejudge, run_experiment
from oversight.store import load_run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

LOCAL = "local/smollm2-135m"
JUDGE = {"model": LOCAL, "temperature": 0.0, "stop": ["\n"]}


def test_a_local_debate_run_rejudged_by_two_local_judges(tmp_path: Path):
    cache = tmp_path / "calls.sqlite"
    spec = Experiment.from_dict(
        {
            "name": "local-debates",
            "tasks": [{"dataset": "gen/hidden-passage", "n": 2, "options": {"difficulty": 1}}],
            "protocols": [{"name": "debate", "rounds": 1, "word_limit": 25}],
            "roles": {"debater": {"model": LOCAL, "temperature": 0.0}},
            "judges": [{"name": "first", **JUDGE}],
            "concurrency": 1,
        }
    )
    start = time.perf_counter()
    source = run_experiment(spec, output_dir=tmp_path / "runs", cache=cache, progress="off")
    assert source.status == "complete" and source.errors == 0
    judges = [
        {"name": "again", **JUDGE},
        {"name": "lawyer", **JUDGE, "persona": "a lawyer who trusts only verified quotes"},
    ]
    again = rejudge(source.run_dir, judges, output_dir=tmp_path / "runs", cache=cache, concurrency=1)
    wall = time.perf_counter() - start
    print(f"\nsource {source.summary['calls']}, rejudge {again.summary['calls']}, {wall:.0f}s")
    assert again.status == "complete" and again.errors == 0 and again.total == 4
    assert {row["role"] for row in again.summary["usage"]} == {"judge"}  # no debater was called
    # same model, prompts and settings as the first judge: the same calls, answered by the cache
    assert again.summary["calls"]["cache_hits"] >= 2

    src = {e.id: e for e in load_run(source.run_dir).episodes}
    for ep in load_run(again.run_dir).episodes:
        origin = src[ep.meta["source"]["episode"]]
        before = next(t.seen for t in origin.turns if t.kind == "judgment")
        after = next(t.seen for t in ep.turns if t.kind == "judgment")
        assert after[1] == before[1]  # the user message (question, answers, transcript) byte for byte
        if ep.judge == "again":
            assert after == before and ep.final.choice == origin.final.choice
        else:
            assert "a lawyer who trusts only verified quotes" in after[0].content
    pairs = {(r["a"], r["b"]) for r in compare([source.run_dir, again.run_dir], n_resamples=100).judges}
    assert pairs == {("again", "first"), ("again", "lawyer"), ("first", "lawyer")}
