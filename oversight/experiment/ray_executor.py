"""Run an experiment's pending episodes on a Ray cluster, exactly once, with the driver as the single writer.

The driver (the process running `oversight run --ray`) expands the spec and skips finished episodes as always;
it then sends batches of (plan index, episode id) pairs to `EpisodeWorker` actors. Each worker expands the same
spec itself (so only indices and ids cross the wire; a worker whose expansion gives another id for an index
refuses the batch), builds its own model clients and call cache, and runs its batch with the ordinary engine
(`Engine.run_one`), several batches at once. Finished episodes come back as JSON; the driver writes each id once
(`episodes.jsonl`, progress, summary, budget caps). A batch lost with its worker (a killed process, a lost node)
is sent again to another worker; a fresh worker replaces the dead one. The driver pulls pending plans lazily and
marks finished ones in one byte per planned episode, so its memory stays flat however many episodes a run has.

Per-node model options: a worker merges `{role: {option: value}}` over the spec's role options from the spec's
`executor.node_options` entry for its node's IP address (or `"*"`), then from the JSON in `$OVERSIGHT_NODE_OPTIONS`
of the node's raylet (set it when you `ray start`). Use it to point each node at its own vLLM server.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oversight.episode import Episode
from oversight.experiment.engine import Engine
from oversight.experiment.plans import PendingPlans
from oversight.store import EpisodeWriter

INSTALL_HINT = "the Ray executor needs Ray: pip install 'oversight[ray]'"
NODE_OPTIONS_ENV = "OVERSIGHT_NODE_OPTIONS"


def import_ray() -> Any:
    """The `ray` module; raises ImportError with the install hint when it is missing."""
    try:
        import ray
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return ray


@dataclass
class RayExecutor:
    """Shards pending episodes over `workers` Ray actors (default: one per CPU of the cluster, at most 64).

    `address`: a running cluster ("auto", or "ray://host:port"), or None to start a local one in this process
    (stopped at the end). Each worker runs up to `concurrency` episodes at once (default: the run's episodes in
    flight, see `oversight.experiment.inflight`), in batches of `batch_size`. `runtime_env` is passed to Ray
    (e.g. `{"env_vars": {...}}`).
    """

    address: str | None = "auto"
    workers: int | None = None
    concurrency: int | None = None
    batch_size: int | None = None
    max_worker_restarts: int = 8
    num_cpus_per_worker: float = 1.0
    runtime_env: dict[str, Any] | None = None
    worker_pids: list[int] = field(default_factory=list)  # of the live workers
    worker_nodes: set[str] = field(default_factory=set)  # Ray node ids that ran a worker
    restarts: int = 0  # workers replaced after dying

    def report(self) -> dict[str, Any]:
        """What `summary.json` records about the cluster run."""
        return {
            "kind": "ray",
            "address": self.address,
            "workers": len(self.worker_pids),
            "nodes": len(self.worker_nodes),
            "worker_restarts": self.restarts,
        }

    async def run(self, engine: Engine, plans: PendingPlans, writer: EpisodeWriter, cache: Any) -> None:
        """Run `plans` on the cluster, recording each finished episode through `engine` exactly once."""
        if not plans:
            return
        ray = import_ray()
        started_here = False
        if not ray.is_initialized():
            init: dict[str, Any] = {"ignore_reinit_error": True, "logging_level": "WARNING", "log_to_driver": False}
            if self.runtime_env is not None:
                init["runtime_env"] = self.runtime_env
            if self.address is None:
                ray.init(**init)
            else:
                ray.init(address=self.address, **init)
            started_here = True
        try:
            await _Driver(self, ray, engine, plans, writer, cache).run()
        finally:
            if started_here:
                ray.shutdown()


Batch = list[tuple[int, str]]  # (plan index, episode id) pairs


class _Driver:
    def __init__(self, ex: RayExecutor, ray: Any, engine: Engine, plans: PendingPlans, writer: Any, cache: Any):
        self.ex, self.ray, self.engine, self.writer = ex, ray, engine, writer
        spec = engine.spec
        per_worker = ex.concurrency or engine.concurrency
        self.batch = ex.batch_size or max(1, min(16, per_worker // 2))
        self.slots = max(1, -(-per_worker // self.batch))  # batches in flight per worker
        cpus = int(ray.cluster_resources().get("CPU", 1) // max(ex.num_cpus_per_worker, 1e-9)) or 1
        self.n_workers = min(ex.workers or min(cpus, 64), -(-len(plans) // self.batch))
        space = plans.space
        self.fresh: Iterator[tuple[int, str]] = ((i, space.id_at(i)) for i in plans.indices())
        self.fresh_left = len(plans)
        self.retry: deque[tuple[int, str]] = deque()  # of batches lost with their worker
        self.finished = bytearray(len(space))  # 1 per planned episode already recorded
        self.worker_cls = _worker_class(ray, ex)
        self._lost = (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError)  # a worker lost, not a bug
        self.args = (spec.model_dump(), str(spec.base_dir), _cache_arg(cache), per_worker)

    def _spawn(self) -> Any:
        return self.worker_cls.remote(*self.args)

    async def run(self) -> None:
        workers = [self._spawn() for _ in range(self.n_workers)]
        inflight: dict[Any, tuple[int, Batch, Any]] = {}  # ref -> (slot, batch, the worker sent to)
        try:
            where = await asyncio.gather(*(w.where.remote() for w in workers))
            self.ex.worker_pids[:] = [pid for pid, _ in where]
            self.ex.worker_nodes.update(node for _, node in where)
            while self.fresh_left or self.retry or inflight:
                self._submit(workers, inflight)
                if not inflight:
                    break  # over budget: nothing more starts
                done, _ = await asyncio.wait(
                    [asyncio.ensure_future(_awaitable(ref)) for ref in inflight], return_when=asyncio.FIRST_COMPLETED
                )
                for fut in done:
                    ref, lines, err = fut.result()
                    slot, batch, sent_to = inflight.pop(ref)
                    if err is None:
                        self._record(batch, lines)
                    else:
                        # A dead worker fails each of its batches in flight; only the first replaces it. A later
                        # failure of the same dead worker must not kill its replacement (and that one's batches).
                        if workers[slot] is sent_to:
                            workers[slot] = await self._replace(sent_to, slot, err)
                        elif not isinstance(err, self._lost):
                            raise err  # a bug, as in _replace
                        self.retry.extendleft(reversed([b for b in batch if not self.finished[b[0]]]))
        finally:
            if not inflight:  # a clean end: let workers commit their call caches and close clients
                await asyncio.wait([asyncio.ensure_future(_awaitable(w.close.remote())) for w in workers], timeout=30)
            for w in workers:  # killing a worker ends its running batches too
                self.ray.kill(w, no_restart=True)

    def _submit(self, workers: list[Any], inflight: dict[Any, tuple[int, Batch, Any]]) -> None:
        load = [0] * len(workers)
        for slot, _, _ in inflight.values():
            load[slot] += 1
        for slot, worker in enumerate(workers):
            while load[slot] < self.slots and not self.engine.over_budget():
                batch = self._next_batch()
                if not batch:
                    return
                inflight[worker.run_batch.remote(batch)] = (slot, batch, worker)
                load[slot] += 1

    def _next_batch(self) -> Batch:
        batch: Batch = []
        while self.retry and len(batch) < self.batch:
            batch.append(self.retry.popleft())
        while self.fresh_left and len(batch) < self.batch:
            batch.append(next(self.fresh))
            self.fresh_left -= 1
        return batch

    def _record(self, batch: Batch, lines: list[str]) -> None:
        for (index, _), line in zip(batch, lines, strict=True):
            if self.finished[index]:  # a batch re-sent after its worker died may overlap finished work
                continue
            self.finished[index] = 1
            ep = Episode.model_validate_json(line)
            self.engine.counters.calls += ep.meta.pop(_CALLS, 0)
            self.engine.counters.cache_hits += ep.meta.pop(_HITS, 0)
            self.engine.record(ep, self.writer)

    async def _replace(self, worker: Any, slot: int, err: BaseException) -> Any:
        if not isinstance(err, self._lost):
            raise err  # a bug, not a lost worker: stop the run (finished episodes are already written)
        if self.ex.restarts >= self.ex.max_worker_restarts:
            raise RuntimeError(f"Ray workers died {self.ex.restarts + 1} times; last: {err}") from err
        self.ex.restarts += 1
        self.ray.kill(worker, no_restart=True)
        fresh = self._spawn()
        pid, node = await fresh.where.remote()
        self.ex.worker_pids[slot] = pid
        self.ex.worker_nodes.add(node)
        return fresh


async def _awaitable(ref: Any) -> tuple[Any, list[str] | None, BaseException | None]:
    try:
        return ref, await ref, None
    except Exception as err:  # the driver decides: re-queue (lost worker) or re-raise
        return ref, None, err


def _cache_arg(cache: Any) -> str | bool:
    """What a worker opens as its call cache: the same SQLite file (node-local when the path is), or none."""
    return str(cache.path) if cache is not None else False


_CALLS, _HITS = "_ray_calls", "_ray_cache_hits"
_classes: dict[int, Any] = {}


def _worker_class(ray: Any, ex: RayExecutor) -> Any:
    key = id(ray)
    if key not in _classes:
        _classes[key] = ray.remote(EpisodeWorker)
    return _classes[key].options(num_cpus=ex.num_cpus_per_worker, max_concurrency=1000, max_restarts=0)


class EpisodeWorker:
    """A Ray actor: expands the spec, builds its own models and cache, runs batches of episode ids."""

    def __init__(self, spec_data: dict[str, Any], base_dir: str, cache: str | bool, concurrency: int) -> None:
        from oversight.experiment.expand import expand, load_task
        from oversight.experiment.progress import Counters, Progress
        from oversight.experiment.roles import build_models
        from oversight.experiment.spec import Experiment
        from oversight.experiment.summary import Summary
        from oversight.models.accounting import UsageLedger
        from oversight.models.cache import CallCache
        from oversight.models.limits import EndpointLimits

        data = _with_node_options(spec_data)
        spec = Experiment.from_dict(data, source="ray worker spec", base_dir=Path(base_dir))
        tasks = [load_task(t, i, spec.base_dir) for i, t in enumerate(spec.tasks)]
        self.plans = expand(spec, tasks)
        self.cache = CallCache(cache) if cache else None
        ledger = UsageLedger(spec.prices)
        limits = EndpointLimits(
            default=spec.endpoint_concurrency, limits=spec.endpoint_limits, fifo=spec.schedule == "arrival"
        )
        bindings = build_models(spec, self.cache, limits, ledger)
        counters = Counters()
        self.engine = Engine(
            spec, bindings, counters, Summary(), Progress(counters), False, ledger, 0, 0.0, concurrency=concurrency
        )
        self.gate = asyncio.Semaphore(concurrency)

    def where(self) -> tuple[int, str]:
        """(process id, Ray node id) of this worker."""
        import ray

        return os.getpid(), ray.get_runtime_context().get_node_id()

    async def close(self) -> None:
        """Commit the call cache and close model clients (servers a worker launched stop with them)."""
        if self.cache is not None:
            self.cache.close()
        for managed in {id(m): m for m in self.engine.bindings.values()}.values():
            try:
                await managed.aclose()
            except Exception:  # best effort, as in a local run
                pass

    async def run_batch(self, batch: list[tuple[int, str]]) -> list[str]:
        """The finished episodes of `batch` ((plan index, episode id) pairs) as JSON lines, in order (errors are
        recorded in them, as in a local run). Raises ValueError when this worker's expansion of the spec gives
        another id for an index (its node sees other data or code than the driver)."""
        plans = []
        for index, episode_id in batch:
            plan = self.plans[index] if 0 <= index < len(self.plans) else None
            if plan is None or plan.id != episode_id:
                raise ValueError(
                    f"episode {episode_id} (plan {index}): this worker's expansion of the spec differs from the "
                    "driver's (another dataset file, protocol or oversight version on this node?)"
                )
            plans.append(plan)
        return list(await asyncio.gather(*(self._one(p) for p in plans)))

    async def _one(self, plan: Any) -> str:
        async with self.gate:
            counters = self.engine.counters
            calls, hits = counters.calls, counters.cache_hits
            ep = await self.engine.run_one(plan)
            ep.meta[_CALLS], ep.meta[_HITS] = counters.calls - calls, counters.cache_hits - hits
            return ep.model_dump_json()


def _with_node_options(spec_data: dict[str, Any]) -> dict[str, Any]:
    """`spec_data` with this node's role options merged in (spec `executor.node_options`, then the env)."""
    overrides: list[dict[str, Any]] = []
    executor = spec_data.get("executor") or {}
    by_node = executor.get("node_options") or {}
    if by_node:
        import ray

        ip = ray.util.get_node_ip_address()
        overrides += [by_node[k] for k in ("*", ip) if k in by_node]
    raw = os.environ.get(NODE_OPTIONS_ENV)
    if raw:
        try:
            overrides.append(json.loads(raw))
        except ValueError as err:
            raise ValueError(f"${NODE_OPTIONS_ENV}: not JSON ({err})") from None
    if not overrides:
        return spec_data
    data = copy.deepcopy(spec_data)
    for override in overrides:
        for role, options in override.items():
            target = data.get("roles", {}).get(role)
            if target is None:
                judges = [j for j in data.get("judges", []) if j.get("name") == role]
                if not judges:
                    raise ValueError(f"node options name role {role!r}, which the spec does not have")
                target = judges[0]
            target["options"] = {**(target.get("options") or {}), **options}
    return data
