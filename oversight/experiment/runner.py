"""Run an `Experiment`: expand it, run episodes concurrently, stream them to the run store, resume exactly.

The pieces: `roles` (models per role), `engine` (workers, budget, one Episode per plan), `provenance` (what
`spec.json` records). This module opens the run directory, checks a resume, and writes the summary.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oversight.experiment.engine import Engine
from oversight.experiment.expand import expand, ids_digest, load_task
from oversight.experiment.progress import Counters, make_progress
from oversight.experiment.provenance import spec_record
from oversight.experiment.ray_executor import RayExecutor, import_ray
from oversight.experiment.roles import RoleModel, build_models
from oversight.experiment.spec import Experiment, SpecError, drop_masked
from oversight.experiment.summary import Summary
from oversight.models.accounting import UsageLedger
from oversight.models.cache import CallCache
from oversight.models.limits import EndpointLimits
from oversight.store import SPEC_FILE, SUMMARY_FILE, EpisodeWriter, iter_episodes, read_json, write_json


class ResumeMismatchError(SpecError):
    """Resuming with a spec whose episode ids differ from the run's; pass `force=True` to resume anyway."""


@dataclass
class RunResult:
    """How a run ended. `status`: complete | interrupted | budget | failed."""

    run_dir: Path
    status: str
    total: int
    done: int
    skipped: int
    errors: int
    summary: dict[str, Any] = field(default_factory=dict)


def run_experiment(
    spec: Experiment | str | Path,
    *,
    resume: str | Path | None = None,
    force: bool = False,
    fail_fast: bool = False,
    cache: bool | str | Path | None = None,
    output_dir: str | Path | None = None,
    run_id: str | None = None,
    progress: str | bool | None = None,
    progress_interval: float = 10.0,
    executor: RayExecutor | None = None,
) -> RunResult:
    """Run (or resume) an experiment to the end, a budget cap, or Ctrl-C; return how it ended.

    `spec` is an `Experiment` or a spec file path. `resume` names an existing run directory: finished episodes
    are skipped. `cache` overrides the spec's cache setting (False disables it). `progress`: see `make_progress`.
    `executor`: a `RayExecutor` runs the episodes on a Ray cluster (default: the spec's `executor`, else here).
    Raises `SpecError` (bad spec, tasks or models), `ResumeMismatchError` (changed episode ids without `force`),
    `KeyboardInterrupt` after recording an interrupted run, or the episode's exception when `fail_fast`.
    """
    return asyncio.run(
        arun_experiment(
            spec,
            resume=resume,
            force=force,
            fail_fast=fail_fast,
            cache=cache,
            output_dir=output_dir,
            run_id=run_id,
            progress=progress,
            progress_interval=progress_interval,
            executor=executor,
        )
    )


def resume_spec(run_dir: str | Path) -> Experiment:
    """The `Experiment` recorded in a run's `spec.json`; raises `StoreError`/`SpecError`."""
    meta = read_json(Path(run_dir) / SPEC_FILE)
    base = meta.get("base_dir")
    return Experiment.from_dict(
        drop_masked(meta.get("spec")), source=str(Path(run_dir) / SPEC_FILE), base_dir=base and Path(base)
    )


async def arun_experiment(
    spec: Experiment | str | Path,
    *,
    resume: str | Path | None = None,
    force: bool = False,
    fail_fast: bool = False,
    cache: bool | str | Path | None = None,
    output_dir: str | Path | None = None,
    run_id: str | None = None,
    progress: str | bool | None = None,
    progress_interval: float = 10.0,
    executor: RayExecutor | None = None,
) -> RunResult:
    """The async form of `run_experiment` (same arguments, result and errors)."""
    if not isinstance(spec, Experiment):
        spec = Experiment.from_file(spec)
    else:
        spec.check()
    tasks = [load_task(t, i, spec.base_dir) for i, t in enumerate(spec.tasks)]
    plans = expand(spec, tasks)
    digest = ids_digest(plans)

    # Everything that can fail on a bad spec or model happens before the run directory is touched.
    rewrite_spec = False
    if resume is not None:
        run_dir = Path(resume)
        rewrite_spec = _check_resume(run_dir, digest, force)
    else:
        root = Path(output_dir if output_dir is not None else spec.output_dir)
        run_dir = root / spec.name / (run_id or _new_run_id())
        if (run_dir / SPEC_FILE).exists():
            raise SpecError(f"{run_dir}: run already exists; resume it with `oversight resume {run_dir}`")

    if executor is None and spec.executor.kind == "ray":
        executor = RayExecutor(address=spec.executor.address, workers=spec.executor.workers)
    if executor is not None:
        import_ray()  # a clear install hint before anything is written

    call_cache = _open_cache(spec.cache if cache is None else cache)
    ledger = UsageLedger(spec.prices)
    limits = EndpointLimits(default=spec.endpoint_concurrency, limits=spec.endpoint_limits)
    try:
        bindings = build_models(spec, call_cache, limits, ledger)
        if resume is None:
            run_dir.mkdir(parents=True, exist_ok=True)
            write_json(run_dir / SPEC_FILE, spec_record(spec, run_dir.name, tasks, len(plans), digest))
        elif rewrite_spec:
            old = read_json(run_dir / SPEC_FILE)
            write_json(run_dir / f"spec.{datetime.now().strftime('%Y%m%d-%H%M%S')}.json", old)
            write_json(run_dir / SPEC_FILE, spec_record(spec, run_dir.name, tasks, len(plans), digest))
        # One streaming pass over what earlier sessions finished: ids to skip, totals for budget and summary.
        summary = Summary()
        done: set[str] = set()
        for ep in iter_episodes(run_dir):
            done.add(ep.id)
            summary.add(ep)
    except BaseException:
        if call_cache is not None:
            call_cache.close()
        raise
    prior_tokens, prior_cost = summary.total.tokens, summary.total.cost
    pending = [p for p in plans if p.id not in done]

    counters = Counters(total=len(plans), skipped=len(plans) - len(pending))
    bar = make_progress(counters, progress, interval=progress_interval)
    engine = Engine(spec, bindings, counters, summary, bar, fail_fast, ledger, prior_tokens, prior_cost)
    status = "complete"
    started = time.time()
    writer = EpisodeWriter(run_dir)
    bar.start()
    try:
        if executor is None:
            await engine.run(pending, writer)
        else:
            await executor.run(engine, pending, writer, call_cache)
        status = "budget" if engine.budget_reason else "complete"
    except (asyncio.CancelledError, KeyboardInterrupt):
        status = "interrupted"
        raise
    except BaseException:
        status = "failed"
        raise
    finally:
        bar.stop()
        writer.close()
        if call_cache is not None:
            call_cache.close()
        for managed in {id(m): m for m in bindings.values()}.values():
            try:
                await managed.aclose()
            except Exception:  # closing is best effort; the episodes are already on disk
                pass
        record = _summary_record(run_dir, status, engine, counters, ledger, call_cache, started)
        if executor is not None:
            record["executor"] = executor.report()
        write_json(run_dir / SUMMARY_FILE, record)
    return RunResult(run_dir, status, len(plans), counters.episodes, counters.skipped, counters.errors, record)


def _open_cache(setting: bool | str | Path) -> CallCache | None:
    if setting is False:
        return None
    return CallCache(None if setting is True else Path(setting))


def _new_run_id() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]


def _check_resume(run_dir: Path, digest: str, force: bool) -> bool:
    """True when the spec changed and `force` allows it (spec.json is then rewritten); raises if not allowed."""
    old = read_json(run_dir / SPEC_FILE).get("episodes", {}).get("ids_digest")
    if old == digest:
        return False
    if not force:
        raise ResumeMismatchError(
            f"{run_dir}: this spec would change the episode ids of the run (the experiment, tasks, protocol "
            "configs, roles or seeds differ), so resuming would not be exact. Start a new run, or pass --force "
            "to resume anyway (episodes of the old spec stay in episodes.jsonl)."
        )
    return True


def _summary_record(
    run_dir: Path,
    status: str,
    engine: Engine,
    counters: Counters,
    ledger: UsageLedger,
    cache: CallCache | None,
    started: float,
) -> dict[str, Any]:
    whole = engine.summary  # earlier sessions' episodes included (counted when the run started)
    return {
        "status": status,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "episodes": {
            "total": counters.total,
            "finished": whole.total.episodes,
            "this_session": counters.episodes,
            "skipped_as_done": counters.skipped,
            "errors": whole.total.errors,
        },
        "budget": {
            "max_tokens": engine.spec.budget.max_tokens,
            "max_cost": engine.spec.budget.max_cost,
            "stopped": engine.budget_reason,
        },
        "results": whole.rows(),
        "total": whole.total.row(),
        "usage": ledger.rows(),
        "calls": {"total": counters.calls, "cache_hits": counters.cache_hits},
        "cache": {"path": str(cache.path) if cache else None, **(cache.stats() if cache else {})},
        "session_seconds": round(time.time() - started, 3),
        "pid": os.getpid(),
    }


__all__ = ["ResumeMismatchError", "RoleModel", "RunResult", "arun_experiment", "resume_spec", "run_experiment"]
