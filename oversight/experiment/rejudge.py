"""`oversight.rejudge(run, judges)`: judge a recorded run again with other judges, without any agent call.

The re-judging is an ordinary experiment, so resume, the call cache, budgets and summaries work as for any run:
its task is `recorded` (the source run's episodes, see `oversight.tasks.recorded`), its protocol `rejudge`
(`protocols.rejudge`), its judges the new ones. The new run's `spec.json` links the source: the task's options
name the source run, and its dataset provenance lists the source run id and every episode id re-judged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from oversight.experiment.runner import RunResult, run_experiment
from oversight.experiment.spec import Experiment, JudgeSpec, SpecError
from oversight.store import SPEC_FILE, read_json, resolve_run_dir

#: the protocol name re-judging runs use (the built-in entry point `protocols.rejudge:REJUDGE`)
REJUDGE_PROTOCOL = "rejudge"

JudgeLike = str | Mapping[str, Any] | JudgeSpec


def rejudge_experiment(
    run: str | Path,
    judges: Sequence[JudgeLike],
    *,
    settings: Mapping[str, Any] | None = None,
    name: str | None = None,
    judgment: str = "final",
    filters: Mapping[str, Any] | None = None,
    n: int | None = None,
    seeds: Sequence[int] = (0,),
    output_dir: str | Path = "runs",
    concurrency: int | None = None,
    cache: bool | str = True,
) -> Experiment:
    """The experiment that re-judges `run` (a run directory, or an experiment directory: its newest run).

    `judges`: model strings, or judge entries as in a spec's `[[judges]]` (dicts or `JudgeSpec`s: juries,
    simulated, human, personas). `settings` are the protocol's `judge` settings (`mode`, `swap`, `max_retries`,
    ...). `filters` select source episodes by `label`, `judge` or `protocol` (e.g. `{"label": "debate"}`), `n`
    samples that many. `concurrency` defaults to the source run's. Raises `SpecError` (no judges, bad entries or
    settings) or `StoreError` (`run` is not a run); nothing is written.
    """
    run_dir = resolve_run_dir(run).resolve()
    meta = read_json(run_dir / SPEC_FILE)
    if not judges:
        raise SpecError("judges: give at least one judge to re-judge with (--judge MODEL)")
    entries = []
    for j in judges:
        if isinstance(j, JudgeSpec):
            entries.append(j.model_dump(mode="json", exclude_defaults=True))
        elif isinstance(j, str):
            entries.append({"model": j})
        else:
            entries.append(dict(j))
    source = meta.get("spec") or {}
    task: dict[str, Any] = {"dataset": "recorded", "options": {"run": str(run_dir), "judgment": judgment}}
    if filters:
        task["filters"] = {k if k.startswith("meta.") else f"meta.{k}": v for k, v in filters.items()}
    if n is not None:
        task["n"] = n
    protocol: dict[str, Any] = {"name": REJUDGE_PROTOCOL}
    if settings:
        protocol["judge"] = dict(settings)
    data = {
        "name": name or f"{meta.get('experiment') or 'run'}-rejudge",
        "description": f"re-judging {meta.get('experiment', '?')}/{meta.get('run_id', run_dir.name)} ({run_dir})",
        "tasks": [task],
        "protocols": [protocol],
        "judges": entries,
        "seeds": list(seeds),
        "concurrency": concurrency or source.get("concurrency") or "auto",
        "output_dir": str(output_dir),
        "cache": cache,
    }
    return Experiment.from_dict(data, source="rejudge")


def rejudge(
    run: str | Path,
    judges: Sequence[JudgeLike],
    *,
    settings: Mapping[str, Any] | None = None,
    name: str | None = None,
    judgment: str = "final",
    filters: Mapping[str, Any] | None = None,
    n: int | None = None,
    seeds: Sequence[int] = (0,),
    output_dir: str | Path = "runs",
    concurrency: int | None = None,
    cache: bool | str | Path | None = None,
    run_id: str | None = None,
    progress: str | bool | None = "off",
) -> RunResult:
    """Re-judge `run` with `judges` into a new run (see `rejudge_experiment` for the arguments) and return how it
    ended. Resume it like any run: `oversight resume <its run dir>`. Raises `SpecError` or `StoreError` before
    anything is written."""
    spec = rejudge_experiment(
        run,
        judges,
        settings=settings,
        name=name,
        judgment=judgment,
        filters=filters,
        n=n,
        seeds=seeds,
        output_dir=output_dir,
        concurrency=concurrency,
        cache=True if cache is None else (cache if isinstance(cache, bool) else str(cache)),
    )
    return run_experiment(spec, cache=cache, run_id=run_id, progress=progress)


__all__ = ["REJUDGE_PROTOCOL", "rejudge", "rejudge_experiment"]
