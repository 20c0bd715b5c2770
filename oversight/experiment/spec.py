"""The `Experiment` spec: what to run, described once, loadable from TOML/YAML/JSON or built in Python.

Validation happens in two steps. Pydantic checks shapes and ranges when the spec is built; `Experiment.check()`
then resolves protocol names and validates each protocol's own config model. Both report problems as
path-qualified lines (`protocols[1].rounds: must be >= 1`) collected in one `SpecError`.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from oversight.judge_entry import JudgeEntry, PixelJudgeParams, SimulatedJudgeParams, check_judge_id
from oversight.metrics.jury import Aggregate, JuryRule
from oversight.models.retry import RetryPolicy
from oversight.models.secrets import MASK, redact_data
from oversight.protocol_registry import get_protocol
from oversight.types import GenerateConfig


class SpecError(ValueError):
    """A spec is malformed. `errors` holds one path-qualified line per problem; `str()` joins them."""

    def __init__(self, errors: list[str] | str) -> None:
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskSpec(_Strict):
    """Which questions to run: a named task (`gen/arithmetic`, ...) or a JSONL file of `Question`s.

    `filters` keep questions whose field (or `meta.KEY`) equals the value, or is one of a list of values.
    """

    dataset: str = Field(min_length=1)
    split: str | None = None
    n: int | None = Field(default=None, ge=1)
    seed: int = 0
    filters: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)


_GEN_FIELDS = ("temperature", "max_tokens", "seed", "stop", "logprobs", "top_logprobs", "extra")


def _check_model_string(value: str) -> str:
    from oversight.models.base import ModelConfigError
    from oversight.models.registry import split_model_string

    try:
        split_model_string(value)
    except ModelConfigError as err:
        raise ValueError(str(err)) from None
    return value


class RoleSpec(_Strict):
    """A model string, provider options, and generation settings that become this role's defaults."""

    model: str = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1)
    seed: int | None = None
    stop: list[str] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    extra: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"model": value} if isinstance(value, str) else value

    @field_validator("model")
    @classmethod
    def _model_string(cls, value: str) -> str:
        return _check_model_string(value)

    def generation(self) -> dict[str, Any]:
        """The generation settings this spec sets explicitly (unset ones are left to the protocol)."""
        return {k: getattr(self, k) for k in _GEN_FIELDS if getattr(self, k) is not None}

    def generate_config(self) -> GenerateConfig:
        """A `GenerateConfig` holding exactly the explicitly set settings (its `model_fields_set`)."""
        gen = self.generation()
        if "stop" in gen:
            gen["stop"] = tuple(gen["stop"])
        return GenerateConfig(**gen)


class JurorSpec(RoleSpec):
    """One judge: a model (an LLM judge, a persona juror with `persona`), a simulated judge (`simulated = {...}`,
    see `judges.SimulatedJudgeParams`), a sparse-pixel judge (`pixel = {k = 6, ...}`, see
    `oversight.judge_entry.PixelJudgeParams`; pixel protocols only) or a human (`human = "judge-id"`: pending
    until judged, or live). `population` labels the population a juror stands for. Give exactly one of model,
    simulated, pixel, human."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")

    model: str = ""
    name: str = ""
    simulated: SimulatedJudgeParams | None = None
    pixel: PixelJudgeParams | None = None
    human: str | None = None
    persona: str | None = Field(default=None, min_length=1)
    population: str | None = None

    @field_validator("model")
    @classmethod
    def _model_string(cls, value: str) -> str:
        return _check_model_string(value) if value else value

    @field_validator("human")
    @classmethod
    def _human_id(cls, value: str | None) -> str | None:
        return None if value is None else check_judge_id(value)

    @property
    def kind(self) -> str:
        """`model`, `simulated`, `pixel`, `human` (or, for a judge entry, `jury`)."""
        return next(iter(self._kinds()), "human")

    def _kinds(self) -> list[str]:
        given = (("model", self.model), ("simulated", self.simulated), ("pixel", self.pixel), ("human", self.human))
        return [k for k, v in given if v]

    @model_validator(mode="after")
    def _one_kind(self) -> JurorSpec:
        kinds = self._kinds()
        if len(kinds) != 1 and type(self) is JurorSpec:
            raise ValueError(f"give exactly one of model, simulated, pixel, human (got {', '.join(kinds) or 'none'})")
        if self.pixel is not None and type(self) is JurorSpec:
            raise ValueError("pixel: a sparse-pixel judge decides alone; it cannot sit on a jury")
        if self.persona is not None and not self.model:
            raise ValueError("persona: a persona juror is a prompt on a model; give model too")
        return self

    def default_name(self) -> str:
        if self.pixel is not None:
            hidden = "x".join(str(h) for h in self.pixel.hidden)
            return f"pixel/k{self.pixel.k}-h{hidden}"
        return self.model or (f"human/{self.human}" if self.human else "simulated")

    def entry(self, role: str) -> JudgeEntry:
        """This judge as the judges layer builds it, its model (if any) bound to `role`."""
        return JudgeEntry(
            name=self.name or self.default_name(),
            kind=self.kind,  # type: ignore[arg-type]
            role=role if self.model else None,
            simulated=self.simulated,
            pixel=self.pixel,
            human=self.human,
            persona=self.persona,
            population=self.population,
        )


class JudgeSpec(JurorSpec):
    """A judge entry; each yields its own episodes, its model bound to the "judge" role. `name` defaults to the
    model. A jury instead lists `jurors` (each a `JurorSpec`; their models are bound to the roles `judge_1`,
    `judge_2`, ...) and names its rule: `aggregate` (majority, mean, welfare, thresholded), `alpha` (welfare
    rules, >= 0; `inf` is the minimum), `threshold` (thresholded, in [0, 1]) and `disagreement` (signal or
    noise, recorded in provenance)."""

    jurors: list[JurorSpec] | None = None
    aggregate: Aggregate = "mean"
    alpha: float = Field(default=1.0, ge=0.0)
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    disagreement: Literal["signal", "noise"] = "noise"

    @property
    def kind(self) -> str:
        return "jury" if self.jurors is not None else super().kind

    @model_validator(mode="after")
    def _default_name(self) -> JudgeSpec:
        kinds = self._kinds() + (["jurors"] if self.jurors is not None else [])
        if len(kinds) != 1:
            raise ValueError(
                f"give exactly one of model, simulated, pixel, human, jurors (got {', '.join(kinds) or 'none'})"
            )
        if self.jurors is not None and not self.jurors:
            raise ValueError("jurors: a jury needs at least one juror")
        if not self.name:
            self.name = "jury" if self.jurors is not None else self.default_name()
        return self

    def bound_roles(self) -> dict[str, RoleSpec]:
        """role -> the model entry bound to it: "judge" for a model judge, `judge_<k>` for a jury's model jurors."""
        if self.jurors is not None:
            return {f"judge_{k + 1}": j for k, j in enumerate(self.jurors) if j.model}
        return {"judge": self} if self.model else {}

    def entry(self, role: str = "judge") -> JudgeEntry:
        """This judge entry as the judges layer builds it (`judges.JudgeEntry`)."""
        if self.jurors is None:
            return super().entry(role)
        rule = JuryRule(
            aggregate=self.aggregate, alpha=self.alpha, threshold=self.threshold, disagreement=self.disagreement
        )
        jurors = tuple(j.entry(f"judge_{k + 1}") for k, j in enumerate(self.jurors))
        return JudgeEntry(name=self.name, kind="jury", jurors=jurors, rule=rule)


class ProtocolSpec(BaseModel):
    """A protocol by registered name (or a `"module:attr"` path to a `ProtocolEntry`) plus its config keys.

    Keys other than `name` and `label` are the protocol's config (validated by `Experiment.check()`).
    `label` tells apart two entries of the same protocol in reports; it defaults to `name`.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    label: str = ""
    config: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _flat_config(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"name": value}
        if isinstance(value, dict):
            known = {"name", "label", "config"}
            rest = {k: v for k, v in value.items() if k not in known}
            if rest:
                value = {k: v for k, v in value.items() if k in known}
                value["config"] = {**value.get("config", {}), **rest}
        return value

    @model_validator(mode="after")
    def _default_label(self) -> ProtocolSpec:
        if not self.label:
            self.label = self.name
        return self


class BudgetSpec(_Strict):
    """Caps over the whole run (resumes included): no new episode starts once one is reached."""

    max_tokens: int | None = Field(default=None, ge=1)
    max_cost: float | None = Field(default=None, gt=0)


class ExecutorSpec(_Strict):
    """Where episodes run: in this process (`local`, the default) or on a Ray cluster (`ray`; see docs/scale-out.md).

    `address`: "auto" (a cluster started with `ray start`), "ray://host:port", or none to start Ray in-process.
    `workers`: Ray actors (default: one per CPU). `node_options`: per-node role options, keyed by node IP or
    `"*"`, e.g. `{"10.0.0.2" = {debater = {base_url = "http://127.0.0.1:8001/v1"}}}`.
    """

    kind: Literal["local", "ray"] = "local"
    address: str | None = "auto"
    workers: int | None = Field(default=None, ge=1)
    node_options: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)


class RetrySpec(_Strict):
    """How model calls are retried after a transient failure (rate limit, 408/409/5xx, timeout, connection error,
    malformed body): `max_attempts` tries in all, waiting `base * 2**n` seconds with jitter, at most `cap`
    (a server's `Retry-After` replaces the computed wait, also capped)."""

    max_attempts: int = Field(default=6, ge=1, le=100)
    base: float = Field(default=0.5, ge=0.0)
    cap: float = Field(default=30.0, ge=0.0)

    def policy(self) -> RetryPolicy:
        """The middleware's `RetryPolicy` with these settings."""
        return RetryPolicy(max_attempts=self.max_attempts, base=self.base, cap=self.cap)


class Experiment(_Strict):
    """An experiment: tasks x protocols x judges x seeds, with role models, limits, budget and output dir.

    Build it in Python, or load it with `Experiment.from_file(path)` (TOML, YAML or JSON). `cache` is
    true (the default call cache), false (no cache) or a path to a SQLite file. `retry` sets the retries of model
    calls; `max_error_share` when a run counts as failed.
    """

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    tasks: list[TaskSpec] = Field(min_length=1)
    protocols: list[ProtocolSpec] = Field(min_length=1)
    roles: dict[str, RoleSpec] = Field(default_factory=dict)
    judges: list[JudgeSpec] = Field(default_factory=list)
    seeds: list[int] | None = Field(default=None, min_length=1)
    repeats: int = Field(default=1, ge=1)
    #: episodes in flight: "auto" keeps enough to fill every endpoint's call limit (their sum), or a number
    concurrency: int | Literal["auto"] = "auto"
    #: "prefix": a question's episodes run together, waiting calls go earliest-started episode first and an
    #: episode's calls stay on one server (prefix caches answer the shared part); "arrival": spec order, calls in
    #: arrival order, each call to the least-loaded server
    schedule: Literal["prefix", "arrival"] = "prefix"
    endpoint_concurrency: int = Field(default=8, ge=1)
    endpoint_limits: dict[str, int] = Field(default_factory=dict)
    budget: BudgetSpec = Field(default_factory=BudgetSpec)
    retry: RetrySpec = Field(default_factory=RetrySpec)
    #: the run fails (exit code 1) when at least this share of its episodes ended in an error; 1.0: only when all did
    max_error_share: float = Field(default=1.0, gt=0.0, le=1.0)
    #: model string -> [USD per million input tokens, USD per million output tokens]; overrides the defaults
    prices: dict[str, tuple[float, float]] = Field(default_factory=dict)
    output_dir: str = "runs"
    cache: bool | str = True
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)

    _base_dir: Path | None = PrivateAttr(default=None)

    @field_validator("concurrency")
    @classmethod
    def _positive_concurrency(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError('must be >= 1 (or "auto")')
        return value

    @field_validator("endpoint_limits")
    @classmethod
    def _positive_limits(cls, value: dict[str, int]) -> dict[str, int]:
        for endpoint, limit in value.items():
            if limit < 1:
                raise ValueError(f"{endpoint}: must be >= 1")
        return value

    @field_validator("prices")
    @classmethod
    def _non_negative_prices(cls, value: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for model, (inp, out) in value.items():
            if inp < 0 or out < 0:
                raise ValueError(f"{model}: prices must be >= 0")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Experiment:
        if self.seeds is not None and self.repeats != 1:
            raise ValueError("repeats: give seeds or repeats, not both")
        if "judge" in self.roles and self.judges:
            raise ValueError("roles.judge: give the judge under judges or under roles, not both")
        names = [j.name for j in self.judges]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"judges: names must be distinct (repeated: {', '.join(sorted(dup))})")
        labels = [p.label for p in self.protocols]
        dup = {lb for lb in labels if labels.count(lb) > 1}
        if dup:
            raise ValueError(
                f"protocols: entries must have distinct labels (repeated: {', '.join(sorted(dup))}); "
                "set `label` on each"
            )
        return self

    # --- derived values ---------------------------------------------------------------------------------------

    def seed_list(self) -> list[int]:
        """The episode seeds: `seeds` if given, else `0 .. repeats-1`."""
        return list(self.seeds) if self.seeds is not None else list(range(self.repeats))

    def judge_list(self) -> list[JudgeSpec]:
        """The judge entries; a `roles.judge` entry counts as one judge named "judge"."""
        if self.judges:
            return list(self.judges)
        if "judge" in self.roles:
            role = self.roles["judge"]
            return [JudgeSpec(name="judge", **role.model_dump(exclude_none=True))]
        return []

    @property
    def base_dir(self) -> Path:
        """Directory relative dataset paths are resolved against (the spec file's folder, else the cwd)."""
        return self._base_dir or Path.cwd()

    def resolved(self) -> dict[str, Any]:
        """The spec as plain JSON-able data, defaults filled in (what `spec.json` records). Secrets given as
        options (`api_key`, tokens, passwords, headers such as `X-Api-Key`, credentials in URLs) are replaced by
        `"***"` (`oversight.models.secrets.redact_data`): keys belong in the environment or the config file, and
        never in a run directory."""
        return redact_data(json.loads(self.model_dump_json(fallback=str)))

    # --- loading and checking ---------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "spec", base_dir: Path | None = None) -> Experiment:
        """Build and `check()` a spec from parsed data; raises `SpecError` with path-qualified lines."""
        if not isinstance(data, dict):
            raise SpecError(f"{source}: expected a table/mapping at the top level, got {type(data).__name__}")
        try:
            spec = cls.model_validate(data)
        except ValidationError as err:
            raise SpecError(format_validation_error(err)) from None
        spec._base_dir = base_dir
        spec.check()
        return spec

    @classmethod
    def from_file(cls, path: str | Path) -> Experiment:
        """Load a `.toml`, `.yaml`/`.yml` or `.json` spec; raises `SpecError` for unreadable or invalid files."""
        path = Path(path)
        if not path.is_file():
            raise SpecError(f"{path}: no such spec file")
        text = path.read_text()
        suffix = path.suffix.lower()
        try:
            if suffix == ".toml":
                data = tomllib.loads(text)
            elif suffix in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text)
            elif suffix == ".json":
                data = json.loads(text)
            else:
                raise SpecError(f"{path}: unknown spec format {suffix!r} (use .toml, .yaml or .json)")
        except SpecError:
            raise
        except Exception as err:  # tomllib/yaml/json parse errors: one clean line
            raise SpecError(f"{path}: cannot parse: {err}".replace("\n", " ")) from None
        return cls.from_dict(data, source=str(path), base_dir=path.resolve().parent)

    def check(self) -> None:
        """Resolve every protocol and validate its config and roles; raises `SpecError` listing all problems."""
        errors: list[str] = []
        used_roles: set[str] = set()
        for i, proto in enumerate(self.protocols):
            where = f"protocols[{i}]"
            try:
                entry = get_protocol(proto.name)
            except (KeyError, ImportError, AttributeError, TypeError) as err:
                errors.append(f"{where}.name: {_strip_quotes(err)}")
                continue
            try:
                needed = entry.roles_needed(entry.config.model_validate(proto.config))
            except ValidationError as err:
                errors.extend(format_validation_error(err, prefix=where))
                needed = entry.roles
            except (TypeError, ValueError, KeyError, AttributeError) as err:  # a config validator that raised
                errors.append(f"{where}: invalid config ({type(err).__name__}: {err})")
                needed = entry.roles
            for role in needed:
                used_roles.add(role)
                if role == "judge":
                    if not self.judge_list():
                        errors.append(f"judges: protocol {proto.name!r} ({where}) needs a judge; add a judges entry")
                    for k, judge in enumerate(self.judge_list()):
                        if judge.kind not in entry.judge_kinds:
                            takes = " or ".join(entry.judge_kinds)
                            errors.append(
                                f"judges[{k}]: protocol {proto.name!r} ({where}) takes a {takes} judge, not a "
                                f"{judge.kind} judge (every judge entry judges every protocol of a spec)"
                            )
                elif role not in self.roles:
                    errors.append(f"roles: protocol {proto.name!r} ({where}) needs role {role!r}")
            used_roles.update(entry.optional_roles)
        for role in self.roles:
            if role != "judge" and role not in used_roles and not errors:
                errors.append(f"roles.{role}: no protocol of this experiment uses this role")
        if errors:
            raise SpecError(errors)


def _strip_quotes(err: BaseException) -> str:
    text = str(err)
    return text[1:-1] if isinstance(err, KeyError) and text.startswith(("'", '"')) else text


def _loc(loc: tuple[Any, ...], prefix: str = "") -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "json-")):
            continue  # pydantic's validator wrappers are noise in a user-facing path
        else:
            out += f".{part}" if out else str(part)
    return out


def format_validation_error(err: ValidationError, prefix: str = "") -> list[str]:
    """Pydantic errors as short `path: message` lines, e.g. `protocols[1].rounds: must be >= 1`."""
    lines = []
    for e in err.errors(include_url=False):
        loc = tuple(e.get("loc", ()))
        # ProtocolSpec keeps config keys under `config`; users wrote them flat, so report them flat.
        if len(loc) >= 3 and loc[0] == "protocols" and loc[2] == "config":
            loc = loc[:2] + loc[3:]
        path = _loc(loc, prefix)
        lines.append(f"{path}: {_message(e)}" if path else _message(e))  # model-level messages carry their path
    return lines


def _message(e: Any) -> str:
    kind, ctx = e.get("type", ""), e.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required"
    for bound, op in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        if bound in ctx and kind.startswith(("greater", "less")):
            return f"must be {op} {ctx[bound]}"
    if kind == "too_short" and ctx.get("min_length") is not None:
        return f"must have at least {ctx['min_length']} item(s)"
    if kind == "string_too_short":
        return "must not be empty"
    msg = str(e.get("msg", "invalid"))
    return msg.removeprefix("Value error, ")


def drop_masked(data: Any, where: str = "") -> Any:
    """`data` without the entries `resolved()` masked, so a resumed run reads its keys from the environment again.

    Raises `SpecError` naming the field when a URL's credentials were masked: they cannot be read back, so such a
    run is resumed from its original spec file (`oversight run SPEC --resume RUN_DIR`).
    """
    if isinstance(data, dict):
        return {k: drop_masked(v, f"{where}.{k}" if where else str(k)) for k, v in data.items() if v != MASK}
    if isinstance(data, list):
        return [drop_masked(v, f"{where}[{i}]") for i, v in enumerate(data)]
    if isinstance(data, str) and f"://{MASK}@" in data:
        raise SpecError(
            f"{where}: the URL's credentials were masked in spec.json; resume from the original spec file with "
            "`oversight run SPEC --resume RUN_DIR`"
        )
    return data
