"""The Ray executor on an in-process Ray cluster: the same episode set as a local run, exactly once even when a
worker is killed mid-run, budgets hold, and a finished run re-run on the cluster makes zero model calls."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest
from experiment_helpers import spec_toml, write_questions

from oversight.experiment import Experiment, arun_experiment, run_experiment
from oversight.experiment.ray_executor import RayExecutor
from oversight.store import iter_episodes

ray = pytest.importorskip("ray", reason="the Ray executor tests need the `ray` extra (scripts/test installs it)")
pytestmark = pytest.mark.slow  # a Ray instance takes seconds to start

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """A 2-CPU Ray instance whose workers import the test helpers and log their model calls to a file."""
    log = tmp_path_factory.mktemp("ray") / "calls.log"
    env = {
        "PYTHONPATH": os.pathsep.join([str(TESTS), *(p for p in sys.path if p)]),
        "OVERSIGHT_TEST_CALL_LOG": str(log),
    }
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    yield log
    ray.shutdown()


def _spec(tmp_path: Path, n: int, **kw) -> Experiment:
    data = write_questions(tmp_path / "q.jsonl", n)
    path = tmp_path / "spec.toml"
    path.write_text(spec_toml(data, **kw))
    return Experiment.from_file(path)


def _rows(run_dir: Path) -> dict[str, str]:
    """id -> the episode as stored, without timings, latencies and cache flags (which differ run to run)."""
    out = {}
    for ep in iter_episodes(run_dir):
        d = ep.model_dump(mode="json", exclude={"timings"})
        for t in d["turns"]:
            t.pop("latency"), t.pop("cached")
        out[ep.id] = json.dumps(d, sort_keys=True)
    return out


def test_ray_run_gives_exactly_the_episodes_of_a_local_run(cluster: Path, tmp_path: Path) -> None:
    spec = _spec(tmp_path, 250, rounds=2, seeds="[0, 1]", concurrency=8)
    on_ray = run_experiment(spec, output_dir=tmp_path / "ray", cache=False, progress="off", executor=RayExecutor())
    local = run_experiment(spec, output_dir=tmp_path / "local", cache=False, progress="off")
    assert on_ray.status == local.status == "complete" and on_ray.done == 500 and on_ray.errors == 0
    lines = (on_ray.run_dir / "episodes.jsonl").read_text().splitlines()
    assert len(lines) == 500 and len({json.loads(x)["id"] for x in lines}) == 500
    assert _rows(on_ray.run_dir) == _rows(local.run_dir)
    summary = on_ray.summary
    assert summary["calls"]["total"] == 1000 and summary["episodes"]["finished"] == 500


def test_a_killed_worker_loses_nothing_and_duplicates_nothing(cluster: Path, tmp_path: Path) -> None:
    spec = _spec(tmp_path, 150, rounds=1, seeds="[0, 1]", concurrency=4)
    spec.roles.clear()
    ex = RayExecutor(workers=2, batch_size=2)
    os.environ["OVERSIGHT_TEST_SLEEP"] = "0.01"  # workers inherit nothing from here; the runtime env sets the log

    async def main() -> None:
        run = asyncio.ensure_future(
            arun_experiment(spec, output_dir=tmp_path / "runs", cache=False, progress="off", executor=ex)
        )
        victim = None
        for _ in range(600):  # at most 60 s
            await asyncio.sleep(0.1)
            out = next((tmp_path / "runs").rglob("episodes.jsonl"), None)
            if out is not None and len(out.read_text().splitlines()) >= 40 and ex.worker_pids:
                victim = ex.worker_pids[0]
                os.kill(victim, signal.SIGKILL)
                break
        result = await run
        assert victim is not None and victim not in ex.worker_pids  # replaced by a fresh worker
        assert result.status == "complete" and result.errors == 0

    try:
        asyncio.run(main())
    finally:
        os.environ.pop("OVERSIGHT_TEST_SLEEP", None)
    out = next((tmp_path / "runs").rglob("episodes.jsonl"))
    ids = [json.loads(x)["id"] for x in out.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 300


def test_budget_caps_hold_across_the_cluster(cluster: Path, tmp_path: Path) -> None:
    spec = _spec(tmp_path, 200, rounds=1, concurrency=4, extra="[budget]\nmax_tokens = 300")
    result = run_experiment(spec, output_dir=tmp_path, cache=False, progress="off", executor=RayExecutor(workers=2))
    assert result.status == "budget" and 0 < result.done < 200
    # at most the batches already in flight when the cap was reached finish after it
    assert result.summary["total"]["tokens"] < 300 + 2 * 8 * 30


def test_rerunning_a_finished_run_on_the_cluster_makes_no_model_call(cluster: Path, tmp_path: Path) -> None:
    spec = _spec(tmp_path, 40, rounds=2, concurrency=4)
    cache = tmp_path / "calls.sqlite"
    first = run_experiment(spec, output_dir=tmp_path / "a", cache=cache, progress="off", executor=RayExecutor())
    assert first.done == 40
    calls_before = cluster.read_text().count("\n")
    again = run_experiment(spec, output_dir=tmp_path / "b", cache=cache, progress="off", executor=RayExecutor())
    assert again.done == 40 and again.summary["calls"]["cache_hits"] == again.summary["calls"]["total"] == 80
    resumed = run_experiment(spec, resume=first.run_dir, cache=cache, progress="off", executor=RayExecutor())
    assert resumed.done == 0 and resumed.skipped == 40
    assert cluster.read_text().count("\n") == calls_before  # nothing reached a backend


def test_node_options_override_role_options_per_node(cluster: Path, tmp_path: Path) -> None:
    spec = _spec(tmp_path, 6, rounds=1, concurrency=2)
    data = spec.model_dump()
    data["executor"] = {"kind": "ray", "node_options": {"*": {"pure": {"fn": "experiment_helpers:always_b"}}}}
    spec2 = Experiment.from_dict(data, base_dir=spec.base_dir)
    result = run_experiment(spec2, output_dir=tmp_path, cache=False, progress="off")
    eps = list(iter_episodes(result.run_dir))
    assert len(eps) == 6 and all(e.turns[0].content == "Answer: B" for e in eps)
