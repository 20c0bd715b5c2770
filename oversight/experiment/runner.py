"""Run an `Experiment`: expand it, run episodes concurrently, stream them to the run store, resume exactly.

The pieces: `roles` (models per role), `engine` (workers, budget, one Episode per plan), `provenance` (what
`spec.json` records), `resume` (what a resume may not change). This module locks and opens the run directory,
checks a resume, decides whether the run failed, and writes the summary.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oversight.episode import Episode
from oversight.experiment.engine import Engine, error_kind
from oversight.experiment.expand import expand, load_task
from oversight.experiment.inflight import endpoint_slots, episodes_in_flight
from oversight.experiment.plans import IdSet
from oversight.experiment.progress import Counters, make_progress
from oversight.experiment.provenance import spec_record
from oversight.experiment.ray_executor import RayExecutor, import_ray
from oversight.experiment.resume import ResumeMismatchError, check_resume, record_forced_resume
from oversight.experiment.roles import RoleModel, build_models, model_identities
from oversight.experiment.spec import Experiment, SpecError, drop_masked
from oversight.experiment.summary import Summary
from oversight.models.accounting import UsageLedger
from oversight.models.cache import CallCache
from oversight.models.limits import EndpointLimits
from oversight.models.secrets import redact, redact_argv
from oversight.prompts import pinned_prompts
from oversight.run_lock import RunLock, RunLockedError
from oversight.store import SPEC_FILE, SUMMARY_FILE, EpisodeWriter, StoreError, iter_episodes, read_json, write_json

log = logging.getLogger(__name__)


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run after it was recorded as interrupted; `run_dir` is where to resume it (None when the
    run had not started)."""

    def __init__(self, run_dir: Path | None) -> None:
        super().__init__(str(run_dir) if run_dir is not None else "")
        self.run_dir = run_dir


@dataclass
class RunResult:
    """How a run ended. `status`: complete | interrupted | budget | failed. `failure` says why a run failed (its
    share of errored episodes reached `max_error_share`), else None."""

    run_dir: Path
    status: str
    total: int
    done: int
    skipped: int
    errors: int
    summary: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None


@dataclass
class _Where:
    run_dir: Path | None = None


def run_experiment(
    spec: Experiment | str | Path,
    *,
    resume: str | Path | None = None,
    force: bool = False,
    keep_errors: bool = False,
    fail_fast: bool = False,
    cache: bool | str | Path | None = None,
    output_dir: str | Path | None = None,
    run_id: str | None = None,
    max_error_share: float | None = None,
    progress: str | bool | None = None,
    progress_interval: float = 10.0,
    executor: RayExecutor | None = None,
) -> RunResult:
    """Run (or resume) an experiment to the end, a budget cap, or Ctrl-C; return how it ended.

    `spec` is an `Experiment` or a spec file path. `resume` names an existing run directory: finished episodes
    are skipped and errored ones run again (their new record replaces the old; `keep_errors=True` skips them
    too). `cache` overrides the spec's cache setting (False disables it); `max_error_share` the spec's. The run
    directory is locked for the run's life. `progress`: see `make_progress`. `executor`: a `RayExecutor` runs the
    episodes on a Ray cluster (default: the spec's `executor`, else this process).

    Raises `SpecError` (bad spec, tasks or models), `ResumeMismatchError` (a change to what the run's results
    depend on, without `force`), `RunLockedError` (another process is running it), `StoreError` (a damaged run),
    `RunInterrupted` after recording an interrupted run, or the episode's exception when `fail_fast`.
    """
    where = _Where()
    try:
        return asyncio.run(
            _arun_pinned(
                where,
                spec,
                resume=resume,
                force=force,
                keep_errors=keep_errors,
                fail_fast=fail_fast,
                cache=cache,
                output_dir=output_dir,
                run_id=run_id,
                max_error_share=max_error_share,
                progress=progress,
                progress_interval=progress_interval,
                executor=executor,
            )
        )
    except RunInterrupted:
        raise
    except KeyboardInterrupt:
        raise RunInterrupted(where.run_dir) from None


def resume_spec(run_dir: str | Path) -> Experiment:
    """The `Experiment` recorded in a run's `spec.json`; raises `StoreError`/`SpecError`."""
    path = Path(run_dir) / SPEC_FILE
    meta = read_json(path)
    base = meta.get("base_dir")
    try:
        data = drop_masked(meta.get("spec"))
    except SpecError as err:
        raise SpecError([f"{path}: {e}" for e in err.errors]) from None
    return Experiment.from_dict(data, source=str(path), base_dir=base and Path(base))


async def arun_experiment(
    spec: Experiment | str | Path,
    *,
    resume: str | Path | None = None,
    force: bool = False,
    keep_errors: bool = False,
    fail_fast: bool = False,
    cache: bool | str | Path | None = None,
    output_dir: str | Path | None = None,
    run_id: str | None = None,
    max_error_share: float | None = None,
    progress: str | bool | None = None,
    progress_interval: float = 10.0,
    executor: RayExecutor | None = None,
) -> RunResult:
    """The async form of `run_experiment` (same arguments, result and errors; cancelled rather than
    `RunInterrupted`)."""
    return await _arun_pinned(
        _Where(),
        spec,
        resume=resume,
        force=force,
        keep_errors=keep_errors,
        fail_fast=fail_fast,
        cache=cache,
        output_dir=output_dir,
        run_id=run_id,
        max_error_share=max_error_share,
        progress=progress,
        progress_interval=progress_interval,
        executor=executor,
    )


async def _arun_pinned(where: _Where, spec: Experiment | str | Path, **kw: Any) -> RunResult:
    # Prompt sets are read once per run: every episode uses the same texts, and agents built per episode stat no file.
    with pinned_prompts():
        return await _arun(where, spec, **kw)


async def _arun(
    where: _Where,
    spec: Experiment | str | Path,
    *,
    resume: str | Path | None,
    force: bool,
    keep_errors: bool,
    fail_fast: bool,
    cache: bool | str | Path | None,
    output_dir: str | Path | None,
    run_id: str | None,
    max_error_share: float | None,
    progress: str | bool | None,
    progress_interval: float,
    executor: RayExecutor | None,
) -> RunResult:
    if not isinstance(spec, Experiment):
        spec = Experiment.from_file(spec)
    else:
        spec.check()
    tasks = [load_task(t, i, spec.base_dir) for i, t in enumerate(spec.tasks)]
    plans = expand(spec, tasks)
    digest = plans.digest()

    # Everything that can fail on a bad spec or model happens before the run directory is touched.
    if resume is not None:
        run_dir = Path(resume)
        if not (run_dir / SPEC_FILE).is_file():
            raise StoreError(f"{run_dir}: not a run directory (no {SPEC_FILE})")
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
    limits = EndpointLimits(
        default=spec.endpoint_concurrency, limits=spec.endpoint_limits, fifo=spec.schedule == "arrival"
    )
    lock: RunLock | None = None
    bindings: dict[tuple[str, str], Any] = {}
    try:
        bindings = build_models(spec, call_cache, limits, ledger)
        slots = endpoint_slots(bindings.values(), limits)
        in_flight, idle_warning = episodes_in_flight(spec.concurrency, slots)
        if idle_warning:
            log.warning(redact(idle_warning))
        record = spec_record(spec, run_dir.name, tasks, len(plans), digest, model_identities(spec, bindings))
        lock = RunLock.acquire(run_dir)  # held until this run ends; a second process is refused
        if resume is None:
            if (run_dir / SPEC_FILE).exists():  # created by another process since the check above
                raise SpecError(f"{run_dir}: run already exists; resume it with `oversight resume {run_dir}`")
            write_json(run_dir / SPEC_FILE, record)
        else:
            changes = check_resume(run_dir, record, force)
            if changes:
                record_forced_resume(run_dir, record, changes, redact_argv(sys.argv))
        where.run_dir = run_dir
        # One streaming pass over what earlier sessions recorded (the last record of each id): ids to skip, totals
        # for budget and summary. Errored episodes run again unless `keep_errors`; their tokens were paid for.
        # The finished ids are held packed (10 bytes each), not as strings.
        summary = Summary()
        errors_seen: Counter[str] = Counter()
        prior = _Prior()
        done = IdSet(prior.scan(iter_episodes(run_dir, seen=False), summary, errors_seen, keep_errors))
    except BaseException:
        if lock is not None:
            lock.release()
        if call_cache is not None:
            call_cache.close()
        await _close_models(bindings)
        raise
    pending = plans.pending(done, grouped=spec.schedule == "prefix")

    counters = Counters(total=len(plans), skipped=len(plans) - len(pending))
    bar = make_progress(counters, progress, interval=progress_interval)
    engine = Engine(
        spec, bindings, counters, summary, bar, fail_fast, ledger, int(prior.tokens), prior.cost, concurrency=in_flight
    )
    engine.error_kinds.update(errors_seen)
    status = "complete"
    failure: str | None = None
    started = time.time()
    writer = EpisodeWriter(run_dir)
    bar.start()
    try:
        if executor is None:
            await engine.run(pending, writer)
        else:
            await executor.run(engine, pending, writer, call_cache)
        status = "budget" if engine.budget_reason else "complete"
        failure = _failure(engine, spec.max_error_share if max_error_share is None else max_error_share)
        if failure is not None:
            status = "failed"
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
        await _close_models(bindings)
        record = _summary_record(run_dir, status, engine, counters, ledger, call_cache, started, prior.rerun, failure)
        record["concurrency"] = {
            "setting": spec.concurrency,
            "episodes_in_flight": in_flight,
            "schedule": spec.schedule,
            "endpoints": {redact(e): n for e, n in sorted(slots.items())},
            "warning": redact(idle_warning) if idle_warning else None,
        }
        if executor is not None:
            record["executor"] = executor.report()
        write_json(run_dir / SUMMARY_FILE, record)
        lock.release()
    return RunResult(
        run_dir, status, len(plans), counters.episodes, counters.skipped, counters.errors, record, failure
    )


@dataclass
class _Prior:
    """What earlier sessions of a run recorded: tokens and cost paid (errored episodes included), errored episodes
    to run again."""

    tokens: float = 0.0
    cost: float = 0.0
    rerun: int = 0

    def scan(
        self, episodes: Iterable[Episode], summary: Summary, errors: Counter[str], keep_errors: bool
    ) -> Iterator[str]:
        """The ids to skip, one by one (a generator: no list of them is built), counting the rest as it goes."""
        for ep in episodes:
            self.tokens += ep.tokens
            self.cost += ep.cost
            if ep.error is not None and not keep_errors:
                self.rerun += 1
                continue
            summary.add(ep)
            if ep.error is not None:
                errors[error_kind(ep.error_type, ep.error)] += 1
            yield ep.id


async def _close_models(bindings: dict[tuple[str, str], Any]) -> None:
    for managed in {id(m): m for m in bindings.values()}.values():
        try:
            await managed.aclose()
        except Exception:  # closing is best effort; the episodes are already on disk
            pass


def _failure(engine: Engine, threshold: float) -> str | None:
    """Why the run failed: its share of errored episodes reached `threshold`; None when it did not."""
    total = engine.summary.total
    if not total.episodes or total.errors / total.episodes < threshold:
        return None
    share = total.errors / total.episodes
    common = ", ".join(f"{kind} ({n})" for kind, n in engine.error_kinds.most_common(3))
    return (
        f"{total.errors}/{total.episodes} episodes ended in an error ({share:.0%}, max_error_share "
        f"{threshold:.0%}); most common: {common}"
    )


def _open_cache(setting: bool | str | Path) -> CallCache | None:
    if setting is False:
        return None
    return CallCache(None if setting is True else Path(setting))


def _new_run_id() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]


def _summary_record(
    run_dir: Path,
    status: str,
    engine: Engine,
    counters: Counters,
    ledger: UsageLedger,
    cache: CallCache | None,
    started: float,
    rerun: int,
    failure: str | None,
) -> dict[str, Any]:
    whole = engine.summary  # earlier sessions' episodes included (counted when the run started)
    return {
        "status": status,
        "failure": redact(failure) if failure else None,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "episodes": {
            "total": counters.total,
            "finished": whole.total.episodes,
            "this_session": counters.episodes,
            "skipped_as_done": counters.skipped,
            "errored_rerun": rerun,
            "errors": whole.total.errors,
        },
        "errors": {redact(kind): n for kind, n in engine.error_kinds.most_common(10)},
        "retries": {
            "total": whole.total.retries,
            "this_session": counters.retries,
            "by_reason": dict(sorted(engine.retry_reasons.items())),
            "episodes_with_retries": engine.episodes_with_retries,
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


__all__ = [
    "ResumeMismatchError",
    "RoleModel",
    "RunInterrupted",
    "RunLockedError",
    "RunResult",
    "arun_experiment",
    "resume_spec",
    "run_experiment",
]
