"""Expand an `Experiment` into episode plans with stable ids: protocols x judges x seeds x questions."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from oversight.counterbalance import BALANCE_RANK, balance_ranks
from oversight.episode import episode_id
from oversight.experiment.spec import Experiment, JudgeSpec, ProtocolSpec, RoleSpec, SpecError, TaskSpec
from oversight.hashing import file_sha256, stable_hash
from oversight.protocol_registry import PROTOCOLS, ProtocolEntry, get_protocol, register_protocol
from oversight.types import Question


def resolve_protocol(name: str) -> ProtocolEntry:
    """The entry registered as `name`, or the `ProtocolEntry` at a `"module:attr"` path.

    Raises KeyError (unknown name), ImportError/AttributeError (bad path) or TypeError (not an entry).
    """
    if name not in PROTOCOLS and ":" in name:
        register_protocol(name, name)
    return get_protocol(name)


@dataclass(frozen=True, slots=True)
class TaskData:
    """The questions of one task entry and what identifies them (for `spec.json` provenance)."""

    index: int
    questions: list[Question]
    provenance: dict[str, Any]
    name: str = ""


@dataclass(slots=True)
class EpisodePlan:
    """Everything needed to run one episode; `id` is stable across runs of the same spec."""

    id: str
    question: Question
    protocol: ProtocolSpec
    entry: ProtocolEntry
    config: BaseModel
    config_dump: dict[str, Any]
    judge: JudgeSpec | None
    roles: dict[str, RoleSpec]
    seed: int
    task: str = ""  # the task entry's dataset ref


def load_task(task: TaskSpec, index: int, base_dir: Path) -> TaskData:
    """Load, filter and subsample one task entry; raises `SpecError` naming `tasks[index]`."""
    where = f"tasks[{index}]"
    path = _local_path(task.dataset, base_dir)
    try:
        if path is not None and path.suffix == ".jsonl":
            # A JSONL of our own `Question` rows is read here; anything else goes through `oversight.tasks`.
            questions = _subsample(_filter(_read_jsonl(path), task.filters), task.n, task.seed)
            prov: dict[str, Any] = {"dataset": str(path), "file_sha256": file_sha256(path)}
        else:
            questions, prov = _load_named(task, str(path) if path is not None else task.dataset)
    except SpecError as err:
        raise SpecError([f"{where}.dataset: {e}" for e in err.errors]) from None
    except (FileNotFoundError, KeyError, ValueError, ImportError, RuntimeError) as err:  # incl. data unavailable
        raise SpecError(f"{where}.dataset: {_plain(err)}") from None
    if not questions:
        raise SpecError(f"{where}: no questions left (check dataset, split, filters)")
    prov["content_hash"] = stable_hash([q.model_dump(mode="json") for q in questions], length=32)
    prov["n"] = len(questions)
    return TaskData(index, questions, prov, task.dataset)


def expand(spec: Experiment, tasks: list[TaskData] | None = None) -> list[EpisodePlan]:
    """All episode plans of `spec` in a fixed order; raises `SpecError` for bad tasks or duplicate episodes."""
    tasks = tasks if tasks is not None else [load_task(t, i, spec.base_dir) for i, t in enumerate(spec.tasks)]
    plans: list[EpisodePlan] = []
    seen: set[str] = set()
    seeds = spec.seed_list()
    # Counterbalancing is exact per task and seed: each question carries its rank in a seeded shuffle.
    ranked: dict[tuple[int, int], list[Question]] = {}
    for task in tasks:
        for seed in seeds:
            ranks = balance_ranks([q.id for q in task.questions], seed)
            ranked[(task.index, seed)] = [
                q.model_copy(update={"meta": {**q.meta, BALANCE_RANK: ranks[q.id]}}) for q in task.questions
            ]
    for p_idx, proto in enumerate(spec.protocols):
        entry = resolve_protocol(proto.name)
        try:
            config = entry.config.model_validate(proto.config)
        except ValidationError as err:  # check() normally catches this first
            raise SpecError(f"protocols[{p_idx}]: {err}") from None
        config_dump = config.model_dump(mode="json")
        hashed_config = {"protocol": proto.name, "label": proto.label, **config_dump}
        needs_judge = "judge" in entry.roles or "judge" in entry.optional_roles
        judges: list[JudgeSpec | None] = list(spec.judge_list()) if needs_judge else [None]
        wanted = [r for r in (*entry.roles, *entry.optional_roles) if r != "judge" and r in spec.roles]
        for judge in judges or [None]:
            roles = {r: spec.roles[r] for r in wanted}
            if judge is not None:
                roles["judge"] = judge
            role_key = {r: _role_identity(rs) for r, rs in roles.items()}
            for seed in seeds:
                for task in tasks:
                    for q in ranked[(task.index, seed)]:
                        eid = episode_id(spec.name, q.id, hashed_config, role_key, seed)
                        if eid in seen:
                            raise SpecError(
                                f"tasks[{task.index}]: question id {q.id!r} occurs twice; question ids must be "
                                "unique across the experiment's tasks"
                            )
                        seen.add(eid)
                        plans.append(
                            EpisodePlan(eid, q, proto, entry, config, config_dump, judge, roles, seed, task.name)
                        )
    return plans


def ids_digest(plans: list[EpisodePlan]) -> str:
    """One hash of all planned episode ids (order-free): equal digests mean resume is exact."""
    return stable_hash(sorted(p.id for p in plans), length=32)


def _role_identity(spec: RoleSpec) -> str:
    # Model + explicit generation settings decide outputs; provider options (URLs, keys) do not enter the id.
    ident: dict[str, Any] = {"model": spec.model, **spec.generation()}
    if isinstance(spec, JudgeSpec):
        ident["judge"] = spec.name
    return json.dumps(ident, sort_keys=True, default=str)


def _local_path(dataset: str, base_dir: Path) -> Path | None:
    for candidate in (Path(dataset), base_dir / dataset):
        if candidate.is_file():
            return candidate
    return None


def _load_named(task: TaskSpec, ref: str) -> tuple[list[Question], dict[str, Any]]:
    try:
        from oversight.tasks import load_task as load_named_task
    except ImportError:
        raise SpecError(f"{ref!r}: not a file, and named tasks need `oversight.tasks` (not installed)") from None
    n = None if task.filters else task.n
    kwargs: dict[str, Any] = dict(task.options)
    if task.split is not None:
        kwargs["split"] = task.split
    taskset = load_named_task(ref, n=n, seed=task.seed, **kwargs)
    questions = list(taskset.questions)
    if task.filters:
        questions = _subsample(_filter(questions, task.filters), task.n, task.seed)
    prov_fn = getattr(taskset, "provenance", None)
    prov = prov_fn() if callable(prov_fn) else {}
    if isinstance(prov, BaseModel):
        prov = prov.model_dump(mode="json")
    return questions, {"dataset": ref, **dict(prov or {})}


def _read_jsonl(path: Path) -> list[Question]:
    out = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(Question.model_validate_json(line))
        except ValidationError as err:
            first = err.errors(include_url=False)[0]
            loc = ".".join(str(x) for x in first.get("loc", ()))
            raise ValueError(f"{path}:{lineno}: {loc + ': ' if loc else ''}{first.get('msg')}") from None
    return out


def _filter(questions: list[Question], filters: dict[str, Any]) -> list[Question]:
    if not filters:
        return questions

    def value(q: Question, key: str) -> Any:
        if key.startswith("meta."):
            return q.meta.get(key[5:])
        if key in Question.model_fields:
            return getattr(q, key)
        raise ValueError(f"filters: unknown field {key!r} (use a Question field or meta.KEY)")

    def keep(q: Question) -> bool:
        for key, want in filters.items():
            got = value(q, key)
            if isinstance(want, list):
                if got not in want:
                    return False
            elif got != want:
                return False
        return True

    return [q for q in questions if keep(q)]


def _subsample(questions: list[Question], n: int | None, seed: int) -> list[Question]:
    if n is None or n >= len(questions):
        return questions
    picked = sorted(random.Random(seed).sample(range(len(questions)), n))
    return [questions[i] for i in picked]


def _plain(err: BaseException) -> str:
    text = str(err)
    return text[1:-1] if isinstance(err, KeyError) and text[:1] in "'\"" else text
