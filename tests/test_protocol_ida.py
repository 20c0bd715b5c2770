"""IDA through the ordinary runner: one training run per (task, config, seed) shared by its episodes, M_0..M_K
answering every question, zero ground-truth labels for IDA, the supervised arm counted, bad questions refused."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch", reason="IDA's learner needs the `ida` extra (scripts/test installs it)")

from oversight.experiment import Experiment, run_experiment  # noqa: E402
from oversight.store import load_run  # noqa: E402
from oversight.types import Question  # noqa: E402
from protocols.ida import IDAConfig, ida  # noqa: E402

pytestmark = pytest.mark.slow  # trains small torch networks (seconds of CPU)

TINY = {"train": 96, "steps": 25, "eval": 10, "iterations": 2, "batch_size": 32, "hidden": 8}


def test_ida_and_supervised_arms_through_the_runner(tmp_path: Path) -> None:
    spec = Experiment.from_dict(
        {
            "name": "ida-tiny",
            "tasks": [{"dataset": "gen/union-find", "n": 6, "seed": 3, "options": {"difficulty": 1}}],
            "protocols": [
                {"name": "ida", **TINY},
                {"name": "ida", "label": "supervised", "arm": "supervised", **TINY},
            ],
            "cache": False,
        }
    )
    result = run_experiment(spec, output_dir=tmp_path, progress="off")
    assert result.status == "complete" and result.errors == 0
    episodes = load_run(result.run_dir).episodes
    assert len(episodes) == 12
    for ep in episodes:
        meta = ep.meta
        assert len(ep.judgments) == len(meta["iteration_answers"]) == 3  # M_0, M_1, M_2
        assert all(j.method == "program" and j.judge.startswith(meta["arm"]) for j in ep.judgments)
        assert ep.correct == meta["iteration_correct"][-1]  # the final judgment is M_K's answer
        if meta["arm"] == "ida":
            assert meta["labels"]["trained_on"] == 0 and meta["overseer"]["oracle_calls"] > 0
        else:
            assert meta["labels"]["trained_on"] == 2 * TINY["train"]
    # one training run per arm, shared by its six episodes
    for arm in ("ida", "supervised"):
        runs = {str(ep.meta["training"]) for ep in episodes if ep.meta["arm"] == arm}
        assert len(runs) == 1


async def test_a_question_of_another_task_is_refused() -> None:
    with pytest.raises(ValueError, match="algorithmic task"):
        await ida(Question(id="x", text="2+2?", choices=["4", "5"], answer=0), IDAConfig(**TINY))
