"""Expand an `Experiment` into episode plans with stable ids: protocols x judges x seeds x questions (built on
demand: `oversight.experiment.plans`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from oversight.experiment.plans import EpisodePlan, PlanBlock, PlanSpace, TaskData
from oversight.experiment.spec import Experiment, JudgeSpec, JurorSpec, RoleSpec, SpecError, TaskSpec
from oversight.hashing import stable_hash
from oversight.protocol_registry import get_protocol
from oversight.tasks.taskset import subsample
from oversight.types import Question


def load_task(task: TaskSpec, index: int, base_dir: Path) -> TaskData:
    """Load, filter and subsample one task entry; raises `SpecError` naming `tasks[index]`."""
    where = f"tasks[{index}]"
    path = _local_path(task.dataset, base_dir)
    try:
        questions, prov = _load_named(task, path if path is not None else task.dataset)
    except SpecError as err:
        raise SpecError([f"{where}.dataset: {e}" for e in err.errors]) from None
    except (FileNotFoundError, KeyError, ValueError, ImportError, RuntimeError) as err:  # incl. data unavailable
        raise SpecError(f"{where}.dataset: {_plain(err)}") from None
    except TypeError as err:  # an option the loader does not take, or of the wrong type
        raise SpecError(f"{where}.options: not accepted by {task.dataset!r}: {_plain(err)}") from None
    except OSError as err:  # unreadable file
        raise SpecError(f"{where}.dataset: {err}") from None
    if not questions:
        raise SpecError(f"{where}: no questions left (check dataset, split, filters)")
    prov["content_hash"] = stable_hash([q.model_dump(mode="json") for q in questions], length=32)
    prov["n"] = len(questions)
    return TaskData(index, questions, prov, task.dataset)


def expand(spec: Experiment, tasks: list[TaskData] | None = None) -> PlanSpace:
    """All episode plans of `spec` in a fixed order (protocol entry, judge, seed, task, question), built on demand
    (`PlanSpace`: memory holds 10 bytes per planned episode, not a plan object). Raises `SpecError` for bad tasks
    or duplicate episodes."""
    tasks = tasks if tasks is not None else [load_task(t, i, spec.base_dir) for i, t in enumerate(spec.tasks)]
    blocks: list[PlanBlock] = []
    for p_idx, proto in enumerate(spec.protocols):
        protocol = get_protocol(proto.name)
        try:
            config = protocol.config.model_validate(proto.config)
        except ValidationError as err:  # check() normally catches this first
            raise SpecError(f"protocols[{p_idx}]: {err}") from None
        config_dump = config.model_dump(mode="json")
        hashed_config = {"protocol": proto.name, "label": proto.label, **config_dump}
        judges: list[JudgeSpec | None] = list(spec.judge_list()) if protocol.judged else [None]
        wanted = [r for r in (*protocol.roles, *protocol.optional_roles) if r != "judge" and r in spec.roles]
        for j_idx, judge in enumerate(judges or [None]):
            roles = {r: spec.roles[r] for r in wanted}
            if judge is not None:
                roles.update(judge.bound_roles())
            role_key = {r: _role_identity(rs) for r, rs in roles.items()}
            if judge is not None and judge.kind != "model":  # no model, or several: the entry itself is the judge
                role_key["judge"] = _entry_identity(judge)
            entry = judge.entry() if judge is not None else None
            where = f"protocols[{p_idx}]" + (f" x judges[{j_idx}]" if judge is not None else "")
            blocks.append(
                PlanBlock(where, proto, protocol, config, config_dump, judge, roles, entry, hashed_config, role_key)
            )
    return PlanSpace(spec.name, blocks, spec.seed_list(), tasks)


def ids_digest(plans: Iterable[EpisodePlan]) -> str:
    """One hash of all planned episode ids (order-free): equal digests mean resume is exact."""
    if isinstance(plans, PlanSpace):
        return plans.digest()
    return stable_hash(sorted(p.id for p in plans), length=32)


def _role_identity(spec: RoleSpec) -> str:
    # Model + explicit generation settings decide outputs; provider options (URLs, keys) do not enter the id.
    ident: dict[str, Any] = {"model": spec.model, **spec.generation()}
    if isinstance(spec, JurorSpec) and spec.persona is not None:
        ident["persona"] = spec.persona  # a persona is a prompt: it changes outputs
    if isinstance(spec, JudgeSpec):
        ident["judge"] = spec.name
    return json.dumps(ident, sort_keys=True, default=str)


def _entry_identity(judge: JudgeSpec) -> str:
    # Simulated parameters, human ids, jurors and the jury's rule all decide a judgment; options do not.
    data = judge.model_dump(mode="json", exclude_defaults=True, exclude={"options"})
    for juror in data.get("jurors") or []:
        juror.pop("options", None)
    return json.dumps({"entry": data}, sort_keys=True, default=str)


def _local_path(dataset: str, base_dir: Path) -> Path | None:
    for candidate in (Path(dataset), base_dir / dataset):
        if candidate.is_file():
            return candidate
    return None


def _load_named(task: TaskSpec, ref: str | Path) -> tuple[list[Question], dict[str, Any]]:
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
        questions = subsample(_filter(questions, task.filters), task.n, task.seed)
    prov_fn = getattr(taskset, "provenance", None)
    prov = prov_fn() if callable(prov_fn) else {}
    if isinstance(prov, BaseModel):
        prov = prov.model_dump(mode="json")
    return questions, {"dataset": str(ref), **dict(prov or {})}


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


def _plain(err: BaseException) -> str:
    text = str(err)
    return text[1:-1] if isinstance(err, KeyError) and text[:1] in "'\"" else text
