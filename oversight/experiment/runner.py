"""Run an `Experiment`: expand it, run episodes concurrently, stream them to the run store, resume exactly.

What a protocol receives
------------------------
`ProtocolEntry.run(question, models_by_role, config, seed)` gets one `RoleModel` per role. A `RoleModel` is a
`Model` (`name`, `async generate(messages, config=None)`) that applies the role's generation settings from the
spec as *defaults*:

* `generate(messages)` (no config) uses `RoleModel.config`: the spec's settings for that role (temperature,
  max_tokens, ...) over `GenerateConfig()`'s defaults, with `seed` = the episode seed unless the role sets one.
* `generate(messages, cfg)` starts from `RoleModel.config` and overrides exactly the fields the protocol set
  when it built `cfg` (pydantic's `model_fields_set`), e.g. `GenerateConfig(max_tokens=1, logprobs=True)`
  for a logprob judge keeps the spec's temperature and the episode seed.

`RoleModel.role` is the role id and `RoleModel.model` the shared `ManagedModel` (limits, retries, call cache,
usage ledger). The runner counts tokens/cost/cache hits per episode through these wrappers and fills the
episode's `id`, `experiment`, `judge`, `seed`, `roles`, `protocol_config`, `gold`, `correct`, `tokens`, `cost`
and `timings`; a protocol need only return the turns and judgments.

Models are built once per run per (model string, provider options) and shared by every episode that binds
them, so a scripted `outputs` list is consumed across episodes; prefer `fn = "module:function"` scripts, which
are deterministic and cache-stable.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oversight.episode import Episode
from oversight.experiment.expand import EpisodePlan, TaskData, expand, ids_digest, load_task
from oversight.experiment.progress import Counters, Progress, make_progress
from oversight.experiment.spec import Experiment, RoleSpec, SpecError, drop_masked
from oversight.experiment.summary import Summary
from oversight.hashing import stable_hash
from oversight.models.accounting import UsageLedger
from oversight.models.base import ModelError
from oversight.models.cache import CallCache
from oversight.models.limits import EndpointLimits
from oversight.models.managed import ManagedModel
from oversight.models.registry import get_model
from oversight.store import SPEC_FILE, SUMMARY_FILE, EpisodeWriter, iter_episodes, read_json, write_json
from oversight.types import ChatMessage, GenerateConfig, ModelOutput


class ResumeMismatchError(SpecError):
    """Resuming with a spec whose episode ids differ from the run's; pass `force=True` to resume anyway."""


class RoleModel:
    """One role's model inside one episode: applies role defaults to `GenerateConfig`, counts usage."""

    __slots__ = ("model", "name", "role", "config", "tokens", "cost", "calls", "cache_hits", "_last")

    def __init__(self, model: ManagedModel, role: str, config: GenerateConfig) -> None:
        self.model = model
        self.name = model.name
        self.role = role
        self.config = config
        self.tokens = 0
        self.cost = 0.0
        self.calls = 0
        self.cache_hits = 0
        self._last: tuple[GenerateConfig, GenerateConfig] | None = None

    def effective_config(self, config: GenerateConfig | None) -> GenerateConfig:
        """`config`'s explicitly set fields over this role's defaults (see the module docstring)."""
        if config is None or config is self.config:
            return self.config
        last = self._last
        if last is not None and last[0] is config:
            return last[1]
        update = {k: getattr(config, k) for k in config.model_fields_set}
        if config.logprobs:
            update["logprobs"] = True
        merged = self.config.model_copy(update=update) if update else self.config
        self._last = (config, merged)
        return merged

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig | None = None) -> ModelOutput:
        """The model's output; raises the `ModelError`s of `ManagedModel.generate`."""
        out = await self.model.generate(messages, self.effective_config(config))
        self.calls += 1
        if out.cached:
            self.cache_hits += 1
        else:
            usage = out.usage
            self.tokens += usage.input_tokens + usage.output_tokens
            self.cost += self.model.ledger.prices.cost(self.name, usage.input_tokens, usage.output_tokens)
        return out

    def __repr__(self) -> str:
        return f"RoleModel({self.name!r}, role={self.role!r})"


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
) -> RunResult:
    """Run (or resume) an experiment to the end, a budget cap, or Ctrl-C; return how it ended.

    `spec` is an `Experiment` or a spec file path. `resume` names an existing run directory: finished episodes
    are skipped. `cache` overrides the spec's cache setting (False disables it). `progress`: see `make_progress`.
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

    call_cache = _open_cache(spec.cache if cache is None else cache)
    ledger = UsageLedger(spec.prices)
    limits = EndpointLimits(default=spec.endpoint_concurrency, limits=spec.endpoint_limits)
    try:
        bindings = _build_models(spec, call_cache, limits, ledger)
        if resume is None:
            run_dir.mkdir(parents=True, exist_ok=True)
            write_json(run_dir / SPEC_FILE, _spec_record(spec, run_dir.name, tasks, len(plans), digest))
        elif rewrite_spec:
            old = read_json(run_dir / SPEC_FILE)
            write_json(run_dir / f"spec.{datetime.now().strftime('%Y%m%d-%H%M%S')}.json", old)
            write_json(run_dir / SPEC_FILE, _spec_record(spec, run_dir.name, tasks, len(plans), digest))
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
    engine = _Engine(spec, bindings, counters, summary, bar, fail_fast, ledger, prior_tokens, prior_cost)
    status = "complete"
    started = time.time()
    writer = EpisodeWriter(run_dir)
    bar.start()
    try:
        await engine.run(pending, writer)
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
        write_json(run_dir / SUMMARY_FILE, record)
    return RunResult(run_dir, status, len(plans), counters.episodes, counters.skipped, counters.errors, record)


class _Engine:
    """Runs pending plans with `spec.concurrency` workers pulling from one shared iterator (flat memory)."""

    def __init__(
        self,
        spec: Experiment,
        bindings: dict[tuple[str, str], ManagedModel],
        counters: Counters,
        summary: Summary,
        bar: Progress,
        fail_fast: bool,
        ledger: UsageLedger,
        prior_tokens: int,
        prior_cost: float,
    ) -> None:
        self.spec = spec
        self.bindings = bindings
        self.counters = counters
        self.summary = summary
        self.bar = bar
        self.fail_fast = fail_fast
        self.ledger = ledger
        self.prior_tokens = prior_tokens
        self.prior_cost = prior_cost
        self.budget_reason: str | None = None
        self._role_configs: dict[tuple[int, int], GenerateConfig] = {}
        self._several_tasks = len(spec.tasks) > 1  # then each episode records its task (meta["task"])

    async def run(self, plans: list[EpisodePlan], writer: EpisodeWriter) -> None:
        it = iter(plans)
        n_workers = min(self.spec.concurrency, len(plans))
        workers = [asyncio.ensure_future(self._worker(it, writer)) for _ in range(n_workers)]
        try:
            await asyncio.gather(*workers)
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def _worker(self, it: Iterator[EpisodePlan], writer: EpisodeWriter) -> None:
        for plan in it:
            # Yield once per episode: a fully synchronous backend (scripted) would otherwise never let the loop
            # deliver Ctrl-C or run the other workers.
            await asyncio.sleep(0)
            if self._over_budget():
                return
            ep = await self.run_one(plan)
            # Synchronous and after the episode completed: a cancellation can never leave half a line.
            writer.write(ep)
            self.counters.add(ep)
            self.summary.add(ep)
            self.bar.update()

    def _over_budget(self) -> bool:
        if self.budget_reason is not None:
            return True
        cap = self.spec.budget
        if cap.max_tokens is not None:
            used = self.prior_tokens + self.ledger.total_tokens
            if used >= cap.max_tokens:
                self.budget_reason = f"max_tokens {cap.max_tokens:,} reached ({used:,} tokens used)"
        if cap.max_cost is not None and self.budget_reason is None:
            spent = self.prior_cost + self.ledger.total_cost
            if spent >= cap.max_cost:
                self.budget_reason = f"max_cost ${cap.max_cost:g} reached (${spent:.4f} spent)"
        return self.budget_reason is not None

    def _role_config(self, role: RoleSpec, seed: int) -> GenerateConfig:
        key = (id(role), seed)
        cfg = self._role_configs.get(key)
        if cfg is None:
            base = role.generate_config()
            if base.seed is None:
                base = base.model_copy(update={"seed": seed})
            cfg = self._role_configs[key] = base
        return cfg

    async def run_one(self, plan: EpisodePlan) -> Episode:
        """Run one plan; an exception becomes an error episode (re-raised instead when failing fast)."""
        models: dict[str, RoleModel] = {}
        for role, rspec in plan.roles.items():
            managed = self.bindings[(role, _binding_key(rspec))]
            models[role] = RoleModel(managed, role, self._role_config(rspec, plan.seed))
        q = plan.question
        start_wall = time.time()
        t0 = time.perf_counter()
        try:
            ep = await plan.entry.run(q, models, plan.config, plan.seed)
            error: BaseException | None = None
        except Exception as err:
            if self.fail_fast:
                raise
            ep = Episode(id=plan.id, question_id=q.id, protocol=plan.entry.name)
            error = err
        duration = time.perf_counter() - t0
        return self._fill(ep, plan, models, error, start_wall, duration)

    def _fill(
        self,
        ep: Episode,
        plan: EpisodePlan,
        models: Mapping[str, RoleModel],
        error: BaseException | None,
        start: float,
        duration: float,
    ) -> Episode:
        q = plan.question
        tokens = cost = calls = hits = 0
        for m in models.values():
            tokens += m.tokens
            cost += m.cost
            calls += m.calls
            hits += m.cache_hits
        self.counters.calls += calls
        self.counters.cache_hits += hits
        values: dict[str, Any] = {
            "id": plan.id,
            "experiment": self.spec.name,
            "question_id": q.id,
            "protocol": plan.entry.name,
            "protocol_config": plan.config_dump,
            "roles": {role: m.name for role, m in models.items()},
            "judge": plan.judge.name if plan.judge is not None else "",
            "seed": plan.seed,
            "gold": q.answer if ep.gold is None else ep.gold,
            "choices": ep.choices or q.choices,
            "tokens": tokens,
            "cost": cost,
            "timings": {**ep.timings, "start": start, "duration": duration},
            "correct": None,
        }
        extra_meta = {}
        if plan.protocol.label != plan.entry.name:
            extra_meta["label"] = plan.protocol.label
        if self._several_tasks:
            extra_meta["task"] = plan.task
        if extra_meta:
            values["meta"] = {**ep.meta, **extra_meta}
        if error is not None:
            values["error"] = str(error) or repr(error)
            values["error_type"] = type(error).__name__
        else:
            final = ep.final
            if final is not None and final.valid and final.choice is not None and values["gold"] is not None:
                values["correct"] = final.choice == values["gold"]
        # Plain attribute storage: these are values we built ourselves, so skip pydantic's per-field __setattr__.
        ep.__dict__.update(values)
        ep.__pydantic_fields_set__.update(values)
        return ep


def _binding_key(role: RoleSpec) -> str:
    return role.model + "|" + json.dumps(role.options, sort_keys=True, default=repr)


def _build_models(
    spec: Experiment, cache: CallCache | None, limits: EndpointLimits, ledger: UsageLedger
) -> dict[tuple[str, str], ManagedModel]:
    """(role, binding key) -> a role view of one shared `ManagedModel` per (model string, options)."""
    shared: dict[str, ManagedModel] = {}
    out: dict[tuple[str, str], ManagedModel] = {}
    entries: list[tuple[str, str, RoleSpec]] = [(f"roles.{r}", r, s) for r, s in spec.roles.items()]
    entries += [(f"judges[{i}]", "judge", j) for i, j in enumerate(spec.judge_list()) if j.name]
    for where, role, rspec in entries:
        key = _binding_key(rspec)
        managed = shared.get(key)
        if managed is None:
            try:
                managed = shared[key] = get_model(
                    rspec.model, cache=cache, limits=limits, ledger=ledger, **rspec.options
                )
            except ModelError as err:
                raise SpecError(f"{where}.model: {err}") from None
        out[(role, key)] = managed.for_role(role)
    return out


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


def _spec_record(spec: Experiment, run_id: str, tasks: list[TaskData], total: int, digest: str) -> dict[str, Any]:
    return {
        "format": 1,
        "experiment": spec.name,
        "run_id": run_id,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "base_dir": str(spec.base_dir),
        "spec": spec.resolved(),
        "episodes": {"total": total, "ids_digest": digest},
        "provenance": provenance(spec, tasks),
    }


def provenance(spec: Experiment, tasks: list[TaskData]) -> dict[str, Any]:
    """Versions, git commit, Python, prompt-file hashes and dataset content hashes of a run."""
    import oversight

    return {
        "oversight_version": oversight.__version__,
        "git": _git_state(Path(oversight.__file__).resolve().parent.parent),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "argv": sys.argv,
        "prompts": prompt_hashes(),
        "datasets": [{"entry": f"tasks[{t.index}]", **t.provenance} for t in tasks],
    }


def prompt_hashes() -> dict[str, str]:
    """sha256 (16 hex) of every prompt file (`*.txt`) shipped in the protocols, agents and judges packages."""
    import importlib.util

    out: dict[str, str] = {}
    for pkg in ("protocols", "agents", "judges", "oversight"):
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            continue
        for root in spec.submodule_search_locations:
            base = Path(root)
            for path in sorted(base.rglob("*.txt")):
                if "__pycache__" in path.parts:
                    continue
                out[f"{pkg}/{path.relative_to(base).as_posix()}"] = stable_hash(path.read_text())
    return out


def _git_state(repo: Path) -> dict[str, Any]:
    if not (repo / ".git").exists():
        return {}
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": commit, "dirty": bool(dirty)}


def _summary_record(
    run_dir: Path,
    status: str,
    engine: _Engine,
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
