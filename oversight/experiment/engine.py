"""The engine of a run: workers pull episode plans from one shared iterator (flat memory), run each plan's
protocol, assemble its Episode once, and stream it to the store; budget caps stop new episodes."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import nullcontext

from oversight.counterbalance import Balance
from oversight.episode import Episode, Outcome, assemble_episode
from oversight.experiment.plans import EpisodePlan, SizedPlans
from oversight.experiment.progress import Counters, Progress
from oversight.experiment.roles import RoleModel, binding_key
from oversight.experiment.spec import Experiment, RoleSpec
from oversight.experiment.summary import Summary
from oversight.models.accounting import UsageLedger
from oversight.models.managed import ManagedModel
from oversight.models.routing import episode_scope
from oversight.models.secrets import redact
from oversight.protocol_registry import EpisodeSetup
from oversight.store import EpisodeWriter
from oversight.transcript import partial_turns, record_transcripts
from oversight.types import GenerateConfig

_ROLE_CONFIGS_KEPT = 1024  # (role, seed) configs kept: bounded, as a run may have thousands of seeds


class Engine:
    """Runs pending plans with `concurrency` workers; `budget_reason` says why it stopped early, if it did.

    With `spec.schedule == "prefix"` each episode's calls carry its start ordinal and question id
    (`oversight.models.routing.episode_scope`): busy endpoints admit the earliest-started episode's call first, and
    multi-server providers keep an episode on one server."""

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
        *,
        concurrency: int | None = None,
    ) -> None:
        self.spec = spec
        #: episodes run at once (the runner derives it from the endpoints when the spec says "auto")
        self.concurrency = concurrency or (spec.concurrency if isinstance(spec.concurrency, int) else 16)
        self._prefix = spec.schedule == "prefix"
        self._started = 0  # episodes started: each one's ordinal is its calls' priority at busy endpoints
        self.bindings = bindings
        self.counters = counters
        self.summary = summary
        self.bar = bar
        self.fail_fast = fail_fast
        self.ledger = ledger
        self.prior_tokens = prior_tokens
        self.prior_cost = prior_cost
        self.budget_reason: str | None = None
        #: "ErrorType: first line of the message" -> episodes that ended so (this session, plus kept earlier ones)
        self.error_kinds: Counter[str] = Counter()
        #: retry reason ("http 429", "timeout", "malformed", ...) -> retries made this session
        self.retry_reasons: Counter[str] = Counter()
        self.episodes_with_retries = 0
        self._role_configs: dict[tuple[int, int], GenerateConfig] = {}
        # id(a block's roles dict) -> (that dict, role -> its model): plans of a block share one roles dict
        self._bound: dict[int, tuple[dict[str, RoleSpec], dict[str, ManagedModel]]] = {}
        self._several_tasks = len(spec.tasks) > 1  # then each episode records its task (meta["task"])

    async def run(self, plans: SizedPlans, writer: EpisodeWriter) -> None:
        """Run `plans` (any sized iterable, e.g. `PendingPlans`: plans are pulled one at a time) to the end or a
        budget cap, recording each finished episode."""
        it = iter(plans)
        n_workers = min(self.concurrency, len(plans))
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
            if self.over_budget():
                return
            self.record(await self.run_one(plan), writer)

    def record(self, ep: Episode, writer: EpisodeWriter) -> None:
        """Store a finished episode and count it (synchronous: a cancellation can never leave half a line)."""
        writer.write(ep)
        self.counters.add(ep)
        self.summary.add(ep)
        if ep.error is not None:
            self.error_kinds[error_kind(ep.error_type, ep.error)] += 1
        self.bar.update()

    def usage(self) -> tuple[int, float]:
        """(tokens, cost) spent by the run so far, earlier sessions included: the budget caps compare these.

        The ledger also counts calls of episodes still running; the summary counts finished episodes, which is
        all a driver whose episodes ran elsewhere (a Ray cluster) knows of."""
        total = self.summary.total
        return (
            max(self.prior_tokens + self.ledger.total_tokens, total.tokens),
            max(self.prior_cost + self.ledger.total_cost, total.cost),
        )

    def over_budget(self) -> bool:
        """Whether a budget cap is reached (then `budget_reason` says which); no new episode may start."""
        if self.budget_reason is not None:
            return True
        cap = self.spec.budget
        tokens, cost = self.usage()
        if cap.max_tokens is not None:
            used = tokens
            if used >= cap.max_tokens:
                self.budget_reason = f"max_tokens {cap.max_tokens:,} reached ({used:,} tokens used)"
        if cap.max_cost is not None and self.budget_reason is None:
            spent = cost
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
            if len(self._role_configs) >= _ROLE_CONFIGS_KEPT:  # plans come seed by seed: old seeds are done
                self._role_configs.clear()
            cfg = self._role_configs[key] = base
        return cfg

    async def run_one(self, plan: EpisodePlan) -> Episode:
        """Run one plan; an exception becomes an error episode keeping the turns already made (re-raised instead
        when failing fast)."""
        bound = self._bound.get(id(plan.roles))
        if bound is None or bound[0] is not plan.roles:
            managed = {role: self.bindings[(role, binding_key(rspec))] for role, rspec in plan.roles.items()}
            if len(self._bound) >= _ROLE_CONFIGS_KEPT:  # plans unpickled on a Ray worker each bring their own
                self._bound.clear()
            bound = self._bound[id(plan.roles)] = (plan.roles, managed)
        models = {
            role: RoleModel(bound[1][role], role, self._role_config(rspec, plan.seed))
            for role, rspec in plan.roles.items()
        }
        q = plan.question
        balance = Balance.of(q.id, plan.seed, plan.rank)
        setup = EpisodeSetup(q, models, plan.config, plan.seed, balance, plan.judge_entry)
        start_wall = time.time()
        t0 = time.perf_counter()
        record_transcripts()
        outcome: Outcome | None = None
        error: Exception | None = None
        self._started += 1
        scope = episode_scope(self._started, q.id) if self._prefix else nullcontext()
        try:
            with scope:
                outcome = await plan.entry.run(setup)
        except Exception as err:
            if self.fail_fast:
                raise
            error = err
        duration = time.perf_counter() - t0
        tokens = cost = calls = hits = retries = 0
        for m in models.values():
            tokens += m.tokens
            cost += m.cost
            calls += m.calls
            hits += m.cache_hits
            if m.retries:
                retries += m.retries
                self.retry_reasons.update(m.reasons or {})
        self.counters.calls += calls
        self.counters.cache_hits += hits
        if retries:
            self.episodes_with_retries += 1
        extra_meta = {}
        if plan.protocol.label != plan.entry.name:
            extra_meta["label"] = plan.protocol.label
        if self._several_tasks:
            extra_meta["task"] = plan.task
        ep = assemble_episode(
            outcome,
            question=q,
            protocol=plan.entry.name,
            id=plan.id,
            experiment=self.spec.name,
            protocol_config=plan.config_dump,
            roles={role: m.name for role, m in models.items()},
            judge=plan.judge.name if plan.judge is not None else "",
            seed=plan.seed,
            tokens=tokens,
            cost=cost,
            retries=retries,
            timings={"start": start_wall, "duration": duration},
            error=error,
            partial_turns=partial_turns() if error is not None else (),
            extra_meta=extra_meta,
        )
        if ep.error is not None:  # exception texts may quote URLs with credentials or keys: never store them
            ep.error = redact(ep.error)
        return ep


def error_kind(error_type: str | None, error: str | None) -> str:
    """A short label of an episode's error for counts: its type and the first line of its message (200 chars)."""
    first = (error or "").strip().splitlines()[0] if (error or "").strip() else ""
    return f"{error_type or 'Error'}: {first[:200]}" if first else str(error_type or "Error")
