"""Episodes in flight derived from the endpoints, the warning when a run leaves server slots idle, and the prefix
schedule (a question's seeds together; each episode's calls marked with its start ordinal and question)."""

from __future__ import annotations

import logging
from pathlib import Path

from experiment_helpers import write_questions

from oversight.experiment import Experiment, run_experiment
from oversight.experiment.inflight import episodes_in_flight
from oversight.models.routing import current_route
from oversight.store import iter_episodes
from oversight.types import ChatMessage, GenerateConfig

SERVER = "http://127.0.0.1:9/v1"  # a scripted model that names a server as its endpoint: no network involved
ROUTES: list[tuple[int, str] | None] = []


def route_judge(messages: list[ChatMessage], config: GenerateConfig) -> str:
    """'Answer: A', remembering the episode route each call ran under."""
    route = current_route()
    ROUTES.append(None if route is None else (route.priority, route.group))
    return "Answer: A"


def _spec(tmp_path: Path, **extra: object) -> Experiment:
    data = write_questions(tmp_path / "q.jsonl", 3)
    return Experiment.from_dict(
        {
            "name": "fill",
            "seeds": [0, 1],
            "tasks": [{"dataset": str(data)}],
            "protocols": [{"name": "experiment_helpers:ECHO", "rounds": 2}],
            "judges": [
                {
                    "name": "srv",
                    "model": "scripted/srv",
                    "options": {"fn": "test_experiment_inflight:route_judge", "endpoint": SERVER},
                }
            ],
            "endpoint_limits": {SERVER: 5},
            "cache": False,
            **extra,
        }
    )


def _run(spec: Experiment, tmp_path: Path, name: str):  # noqa: ANN202
    return run_experiment(spec, output_dir=tmp_path / name, progress="off")


def test_auto_keeps_the_endpoints_filled_and_says_so(tmp_path: Path) -> None:
    result = _run(_spec(tmp_path), tmp_path, "auto")
    assert result.status == "complete" and result.done == 6
    assert result.summary["concurrency"] == {
        "setting": "auto",
        "episodes_in_flight": 5,
        "schedule": "prefix",
        "endpoints": {SERVER: 5},
        "warning": None,
    }


def test_a_concurrency_that_leaves_server_slots_idle_is_warned_about(tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="oversight.experiment.runner"):
        result = _run(_spec(tmp_path, concurrency=2), tmp_path, "two")
    warning = result.summary["concurrency"]["warning"]
    assert result.summary["concurrency"]["episodes_in_flight"] == 2
    assert f"{SERVER} takes 5" in warning and "at least 3 of their 5 call slots stay idle" in warning
    assert warning in caplog.text


def test_in_flight_from_slots() -> None:
    slots = {"http://a/v1": 8, "http://b/v1": 8, "scripted/judge": 4}
    assert episodes_in_flight("auto", slots) == (20, None)
    assert episodes_in_flight(16, slots) == (16, None)
    n, warning = episodes_in_flight(1, slots)
    assert n == 1 and "1 of 2 servers get no call at all" in warning and "at least 15 of their 16" in warning
    assert episodes_in_flight(1, {"scripted/judge": 4}) == (1, None)  # in-process backends are never "idle servers"
    assert episodes_in_flight("auto", {}) == (1, None)


def test_prefix_schedule_runs_a_questions_seeds_together_and_marks_their_calls(tmp_path: Path) -> None:
    ROUTES.clear()
    result = _run(_spec(tmp_path, concurrency=1), tmp_path, "prefix")
    order = [(ep.question_id, ep.seed) for ep in iter_episodes(result.run_dir, seen=False)]
    assert order == [(f"q0000{q}", s) for q in range(3) for s in (0, 1)]
    # each episode's two calls carry its start ordinal and its question
    assert ROUTES == [(i + 1, f"q0000{i // 2}") for i in range(6) for _ in range(2)]


def test_arrival_schedule_keeps_spec_order_and_plain_calls(tmp_path: Path) -> None:
    ROUTES.clear()
    result = _run(_spec(tmp_path, concurrency=1, schedule="arrival"), tmp_path, "arrival")
    order = [(ep.question_id, ep.seed) for ep in iter_episodes(result.run_dir, seen=False)]
    assert order == [(f"q0000{q}", s) for s in (0, 1) for q in range(3)]
    assert ROUTES == [None] * 12 and result.summary["concurrency"]["schedule"] == "arrival"
