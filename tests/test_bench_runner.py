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
