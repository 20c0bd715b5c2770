"""How a spec's roles become models: one shared `ManagedModel` per (model string, provider options), and a
`RoleModel` per role and episode that applies the role's generation settings and counts the episode's usage and
retries.

What a protocol receives
------------------------
`RoleModel` is a `Model` (`name`, `async generate(messages, config=None)`) that applies the role's generation
settings from the spec as *defaults*:

* `generate(messages)` (no config) uses `RoleModel.config`: the spec's settings for that role (temperature,
  max_tokens, ...) over `GenerateConfig()`'s defaults, with `seed` = the episode seed unless the role sets one.
* `generate(messages, cfg)` starts from `RoleModel.config` and overrides exactly the fields the protocol set
  when it built `cfg` (pydantic's `model_fields_set`), e.g. `GenerateConfig(max_tokens=1, logprobs=True)`
  for a logprob judge keeps the spec's temperature and the episode seed.

Models are built once per run per (model string, provider options) and shared by every episode that binds
them, so a scripted `outputs` list is consumed across episodes; prefer `fn = "module:function"` scripts, which
are deterministic and cache-stable.
"""

from __future__ import annotations

import json

from oversight.experiment.spec import Experiment, RoleSpec, SpecError
from oversight.models.accounting import UsageLedger
from oversight.models.base import ModelError
from oversight.models.cache import CallCache
from oversight.models.limits import EndpointLimits
from oversight.models.managed import ManagedModel
from oversight.models.registry import get_model
from oversight.models.secrets import redact, remember_secrets_in
from oversight.types import ChatMessage, GenerateConfig, ModelOutput, trusted_copy


class RoleModel:
    """One role's model inside one episode: applies role defaults to `GenerateConfig`, counts usage."""

    __slots__ = (
        "model",
        "name",
        "role",
        "config",
        "tokens",
        "cost",
        "calls",
        "cache_hits",
        "retries",
        "reasons",
        "_last",
    )

    def __init__(self, model: ManagedModel, role: str, config: GenerateConfig) -> None:
        self.model = model
        self.name = model.name
        self.role = role
        self.config = config
        self.tokens = 0
        self.cost = 0.0
        self.calls = 0
        self.cache_hits = 0
        self.retries = 0
        self.reasons: dict[str, int] | None = None  # retry reason ("http 429", "timeout", ...) -> count
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
        merged = trusted_copy(self.config, update) if update else self.config
        self._last = (config, merged)
        return merged

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig | None = None) -> ModelOutput:
        """The model's output; raises the `ModelError`s of `ManagedModel.generate`."""
        out = await self.model.generate(messages, self.effective_config(config), on_retry=self._retried)
        self.calls += 1
        if out.cached:
            self.cache_hits += 1
        else:
            usage = out.usage
            self.tokens += usage.input_tokens + usage.output_tokens
            self.cost += self.model.ledger.prices.cost(
                self.name, usage.input_tokens, usage.output_tokens, free=self.model.provider.free
            )
        return out

    def _retried(self, err: ModelError, wait: float) -> None:
        self.retries += 1
        if self.reasons is None:
            self.reasons = {}
        self.reasons[err.reason] = self.reasons.get(err.reason, 0) + 1

    def __repr__(self) -> str:
        return f"RoleModel({self.name!r}, role={self.role!r})"


def binding_key(role: RoleSpec) -> str:
    return role.model + "|" + json.dumps(role.options, sort_keys=True, default=repr)


def role_entries(spec: Experiment) -> list[tuple[str, str, RoleSpec]]:
    """(where in the spec, role, its spec) of every model entry: `roles.<role>`, then each `judges[i]` (a jury's
    jurors as `judges[i].jurors[k]`, bound to roles `judge_1`, `judge_2`, ...)."""
    entries: list[tuple[str, str, RoleSpec]] = [(f"roles.{r}", r, s) for r, s in spec.roles.items()]
    for i, judge in enumerate(spec.judge_list()):
        for role, rspec in judge.bound_roles().items():
            where = f"judges[{i}]" if role == "judge" else f"judges[{i}].jurors[{int(role.rsplit('_', 1)[1]) - 1}]"
            entries.append((where, role, rspec))
    return entries


def build_models(
    spec: Experiment, cache: CallCache | None, limits: EndpointLimits, ledger: UsageLedger
) -> dict[tuple[str, str], ManagedModel]:
    """(role, binding key) -> a role view of one shared `ManagedModel` per (model string, options), retrying as
    `spec.retry` says. Secret option values are remembered for masking. Raises `SpecError` naming the entry."""
    shared: dict[str, ManagedModel] = {}
    out: dict[tuple[str, str], ManagedModel] = {}
    retry = spec.retry.policy()
    for where, role, rspec in role_entries(spec):
        key = binding_key(rspec)
        managed = shared.get(key)
        if managed is None:
            remember_secrets_in(rspec.options)
            try:
                managed = shared[key] = get_model(
                    rspec.model, cache=cache, limits=limits, retry=retry, ledger=ledger, **rspec.options
                )
            except ModelError as err:
                raise SpecError(f"{where}.model: {redact(str(err))}") from None
        out[(role, key)] = managed.for_role(role)
    return out


def model_identities(spec: Experiment, bindings: dict[tuple[str, str], ManagedModel]) -> dict[str, str]:
    """where (`roles.debater`, `judges[0]`) -> the identity of its model: the model string plus the provider options
    that change outputs (`Provider.cache_identity`), secrets masked. What a resumed run must not change."""
    return {
        where: redact(bindings[(role, binding_key(rspec))].identity) for where, role, rspec in role_entries(spec)
    }
