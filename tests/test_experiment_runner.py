"""The runner: determinism, error episodes, fail-fast, budget caps, role settings, cache reuse, resume rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from experiment_helpers import spec_toml, write_questions

from oversight.experiment import Experiment, ResumeMismatchError, RoleModel, run_experiment
from oversight.experiment.spec import SpecError
from oversight.store import iter_episodes, load_run

TIMING_KEYS = {"timings", "latency"}


def _strip_timing(obj: object) -> object:
    if isinstance(obj, dict):
        return {k: _strip_timing(v) for k, v in obj.items() if k not in TIMING_KEYS}
    if isinstance(obj, list):
        return [_strip_timing(v) for v in obj]
    return obj


def _spec(tmp_path: Path, n: int = 6, **kwargs: object) -> Experiment:
    data = write_questions(tmp_path / "q.jsonl", n)
    path = tmp_path / "spec.toml"
    path.write_text(spec_toml(data, **kwargs))  # type: ignore[arg-type]
    return Experiment.from_file(path)


def _run(spec: Experiment, tmp_path: Path, **kwargs: object):  # noqa: ANN202
    kwargs.setdefault("cache", False)
    return run_experiment(spec, output_dir=tmp_path / "runs", progress="off", **kwargs)  # type: ignore[arg-type]


def test_same_spec_and_seed_give_identical_episodes(tmp_path: Path) -> None:
    spec = _spec(tmp_path, n=8, rounds=3, seeds="[0, 1]")
    a = _run(spec, tmp_path, run_id="a")
    b = _run(spec, tmp_path, run_id="b")
    assert a.status == b.status == "complete"
    lines_a = (a.run_dir / "episodes.jsonl").read_text().splitlines()
    lines_b = (b.run_dir / "episodes.jsonl").read_text().splitlines()
    assert len(lines_a) == 16
    assert [_strip_timing(json.loads(x)) for x in lines_a] == [_strip_timing(json.loads(x)) for x in lines_b]
    ep = next(iter_episodes(a.run_dir))  # the store's reader rebuilds each turn's pooled `seen`
    assert ep.experiment == "t" and ep.judge == "pure" and ep.roles == {"judge": "scripted/pure"}
    assert len(ep.turns) == 3 and ep.turns[2].seen is not None and len(ep.turns[2].seen) == 6
    assert ep.protocol_config == {"rounds": 3, "fail_on": [], "max_tokens": None}


def test_ids_are_stable_and_depend_on_inputs(tmp_path: Path) -> None:
    from oversight.experiment.expand import expand

    ids = [p.id for p in expand(_spec(tmp_path, rounds=2))]
    assert ids == [p.id for p in expand(_spec(tmp_path, rounds=2))]
    assert len(set(ids)) == len(ids)
    assert not set(ids) & {p.id for p in expand(_spec(tmp_path, rounds=3))}
    assert not set(ids) & {p.id for p in expand(_spec(tmp_path, rounds=2, seeds="[5]"))}


def test_raising_episode_is_recorded_as_error(tmp_path: Path) -> None:
    spec = _spec(tmp_path, protocol_extra='fail_on = ["q00002"]')
    result = _run(spec, tmp_path)
    assert result.status == "complete" and result.errors == 1
    run = load_run(result.run_dir)
    bad = [e for e in run.episodes if e.error]
    assert len(bad) == 1 and bad[0].question_id == "q00002"
    assert bad[0].error_type == "RuntimeError" and bad[0].error == "boom on q00002" and bad[0].correct is None
    assert run.summary is not None and run.summary["total"]["errors"] == 1
    assert run.df["error_type"].notna().sum() == 1


def test_fail_fast_raises(tmp_path: Path) -> None:
    spec = _spec(tmp_path, protocol_extra='fail_on = ["q00002"]')
    with pytest.raises(RuntimeError, match="boom"):
        _run(spec, tmp_path, fail_fast=True, run_id="ff")
    summary = json.loads((tmp_path / "runs" / "t" / "ff" / "summary.json").read_text())
    assert summary["status"] == "failed"


def test_budget_cap_stops_starting_episodes(tmp_path: Path) -> None:
    spec = _spec(tmp_path, n=40, concurrency=2, extra="[budget]\nmax_tokens = 60")
    result = _run(spec, tmp_path)
    assert result.status == "budget"
    assert 0 < result.done < 40
    assert "max_tokens 60 reached" in result.summary["budget"]["stopped"]
    # in-flight episodes finish; nothing new starts after the cap
    assert result.summary["total"]["tokens"] < 60 + 2 * 20


def test_cost_cap_stops_starting_episodes(tmp_path: Path) -> None:
    judge_model = "scripted/pure"
    # $1 per token in and out: every episode costs dollars, so a $50 cap stops the run early
    extra = f'[budget]\nmax_cost = 50.0\n[prices]\n"{judge_model}" = [1000000.0, 1000000.0]'
    spec = _spec(tmp_path, n=40, concurrency=2, extra=extra)
    assert spec.prices == {judge_model: (1000000.0, 1000000.0)}
    result = _run(spec, tmp_path)
    assert result.status == "budget"
    assert 0 < result.done < 40
    assert "max_cost $50 reached" in result.summary["budget"]["stopped"]
    assert result.summary["total"]["cost"] >= 50


def test_negative_prices_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="prices.*must be >= 0"):
        Experiment.from_dict(
            {
                "name": "x",
                "tasks": [{"dataset": "gen/arithmetic"}],
                "protocols": [{"name": "direct"}],
                "prices": {"openai/x": [-1, 0]},
            }
        )


def test_role_settings_reach_the_protocol(tmp_path: Path) -> None:
    seen: list[tuple[float, int | None, int]] = []
    from oversight.models import get_model

    model = get_model("scripted/x", fn=lambda m, c: (seen.append((c.temperature, c.seed, c.max_tokens)), "hi")[1])
    from oversight.types import ChatMessage, GenerateConfig

    role = RoleModel(model, "judge", GenerateConfig(temperature=0.7, seed=3))
    msgs = [ChatMessage(role="user", content="q")]

    async def calls() -> None:
        await role.generate(msgs)
        await role.generate(msgs, GenerateConfig(max_tokens=5))
        await role.generate(msgs, GenerateConfig(temperature=0.0, seed=9))

    import asyncio

    asyncio.run(calls())
    assert seen == [(0.7, 3, 256), (0.7, 3, 5), (0.0, 9, 256)]
    assert role.calls == 3 and role.tokens > 0


def test_spec_role_settings_and_episode_seed(tmp_path: Path) -> None:
    data = write_questions(tmp_path / "q.jsonl", 2)
    text = spec_toml(data, seeds="[4]").replace(
        'model = "scripted/pure"', 'model = "scripted/pure"\ntemperature = 0.3\nmax_tokens = 7'
    )
    (tmp_path / "s.toml").write_text(text)
    result = _run(Experiment.from_file(tmp_path / "s.toml"), tmp_path)
    run = load_run(result.run_dir)
    # the pure judge hashes seed and temperature into its reply: recompute the digest for seed 4 / temp 0.3
    from experiment_helpers import pure_judge

    from oversight.types import GenerateConfig

    ep = run.episodes[0]
    expected = pure_judge(ep.turns[0].seen or [], GenerateConfig(seed=4, temperature=0.3))
    assert ep.turns[0].content == expected


def test_cache_makes_a_rerun_free(tmp_path: Path) -> None:
    spec = _spec(tmp_path, n=5, rounds=2)
    cache = tmp_path / "calls.sqlite"
    first = _run(spec, tmp_path, cache=cache, run_id="one")
    second = _run(spec, tmp_path, cache=cache, run_id="two")
    assert first.summary["calls"] == {"total": 10, "cache_hits": 0}
    assert second.summary["calls"] == {"total": 10, "cache_hits": 10}
    assert second.summary["total"]["tokens"] == 0


def test_resume_skips_finished_and_refuses_changed_spec(tmp_path: Path) -> None:
    spec = _spec(tmp_path, n=6)
    result = _run(spec, tmp_path, run_id="r")
    lines = (result.run_dir / "episodes.jsonl").read_text().splitlines(keepends=True)
    (result.run_dir / "episodes.jsonl").write_text("".join(lines[:2]) + lines[2][:25])  # torn tail
    again = _run(spec, tmp_path, resume=result.run_dir)
    assert again.skipped == 2 and again.done == 4
    ids = [json.loads(x)["id"] for x in (result.run_dir / "episodes.jsonl").read_text().splitlines()]
    assert sorted(ids) == sorted(json.loads(x)["id"] for x in lines)
    changed = _spec(tmp_path, n=6, rounds=2)
    with pytest.raises(ResumeMismatchError, match="--force"):
        _run(changed, tmp_path, resume=result.run_dir)
    forced = _run(changed, tmp_path, resume=result.run_dir, force=True)
    assert forced.done == 6 and forced.status == "complete"
    assert len(list(result.run_dir.glob("spec.*.json"))) == 1


def test_two_judges_and_two_protocol_configs_make_a_grid(tmp_path: Path) -> None:
    data = write_questions(tmp_path / "q.jsonl", 3)
    text = spec_toml(data) + (
        '\n[[protocols]]\nname = "experiment_helpers:ECHO"\nlabel = "echo-2"\nrounds = 2\n'
        '\n[[judges]]\nname = "other"\nmodel = "scripted/other"\noptions = { outputs = ["Answer: A"], cycle = true }\n'
    )
    (tmp_path / "g.toml").write_text(text)
    result = _run(Experiment.from_file(tmp_path / "g.toml"), tmp_path)
    groups = {(r["protocol"], r["judge"]): r["n"] for r in result.summary["results"]}
    assert groups == {
        ("experiment_helpers:ECHO", "pure"): 3,
        ("experiment_helpers:ECHO", "other"): 3,
        ("echo-2", "pure"): 3,
        ("echo-2", "other"): 3,
    }


def test_named_task_and_several_tasks_record_task_and_provenance(tmp_path: Path) -> None:
    data = write_questions(tmp_path / "q.jsonl", 2)
    text = spec_toml(data).replace(
        "[[protocols]]", '[[tasks]]\ndataset = "gen/hidden-passage"\nn = 3\nseed = 1\n\n[[protocols]]', 1
    )
    (tmp_path / "two.toml").write_text(text)
    result = _run(Experiment.from_file(tmp_path / "two.toml"), tmp_path)
    run = load_run(result.run_dir)
    assert sorted({e.meta["task"] for e in run.episodes}) == [str(data), "gen/hidden-passage"]
    assert len(run.episodes) == 5
    datasets = run.spec["provenance"]["datasets"]
    assert [d["entry"] for d in datasets] == ["tasks[0]", "tasks[1]"]
    assert datasets[1]["dataset"] == "gen/hidden-passage" and datasets[1]["content_hash"]


def test_filters_and_n_subsample(tmp_path: Path) -> None:
    data = write_questions(tmp_path / "q.jsonl", 10)
    text = spec_toml(data).replace("[[tasks]]\n", "[[tasks]]\nn = 3\nfilters = { answer = 1 }\n", 1)
    (tmp_path / "f.toml").write_text(text)
    result = _run(Experiment.from_file(tmp_path / "f.toml"), tmp_path)
    qids = sorted(e.question_id for e in load_run(result.run_dir).episodes)
    assert len(qids) == 3 and all(int(q[1:]) % 2 == 1 for q in qids)
