"""bench/bench_runner.py --count-calls: the Python-calls-per-model-call count is a property of the code, not of
the machine, so the same run counted twice agrees, and the real debate protocol does more work per call than the
toy shape that records the same transcript with none of it."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from bench_support import BENCH_DIR


def test_the_call_count_repeats_and_tells_the_protocol_from_the_toy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(BENCH_DIR))  # its specs name its scripted models by import path
    BENCH = importlib.import_module("bench_runner")
    toy = [BENCH.calls_per_model_call("toy", tmp_path / f"t{i}", 1, False) for i in range(2)]
    debate = BENCH.calls_per_model_call("debate", tmp_path / "d", 1, False)
    assert abs(toy[0] - toy[1]) <= 0.02 * toy[0], toy
    assert 20 < toy[0] < debate < 2000, (toy, debate)


def test_the_key_cost_benchmark_times_every_call_of_a_run_and_restores_the_model_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bench/bench_key_cost.py: one key timed per model call of the real run (a debate of 100 episodes makes 700),
    the same keys again in a loop, and `ManagedModel.generate` put back afterwards."""
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    KEYS = importlib.import_module("bench_key_cost")
    from oversight.models import cache as cache_module
    from oversight.models.managed import ManagedModel

    generate = ManagedModel.generate
    calls, per_key = KEYS.in_run("debate", tmp_path, 1)
    assert ManagedModel.generate is generate
    assert len(calls) == 700
    assert len({cache_module.call_key(*c) for c in calls}) == 700  # every call of the run, each its own key
    assert 0 < per_key < 0.01 and 0 < KEYS.in_loop(calls, 1) < 0.01
