"""What a resumed run must not change, and what `--force` records when it does.

`spec.json` records under `depends_on` everything an episode's result depends on besides its id: each model
entry's identity (model string plus output-changing provider options: a script's content, a base URL, a vLLM
model folder, a GGUF fingerprint; never secrets), each task's content hash (questions, choices, gold answers and
contexts as loaded) and the hash of every prompt file. Resuming compares them, and the episode ids, with the
run's record; any difference is refused (`ResumeMismatchError`, one line per change) unless forced, in which case
the old `spec.json` is kept as `spec.<time>.json` and the change is appended to the new one's `changes` list.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oversight.experiment.expand import TaskData
from oversight.experiment.spec import SpecError
from oversight.store import SPEC_FILE, read_json, write_json


class ResumeMismatchError(SpecError):
    """Resuming with a spec that changes what the run's results depend on; `errors` lists each change. Pass
    `force=True` (`--force`) to resume anyway: the change is then recorded in the run."""


def dependencies(models: dict[str, str], tasks: list[TaskData], prompts: dict[str, str]) -> dict[str, Any]:
    """The `depends_on` record of `spec.json`: model identities by spec entry, task content hashes, prompt hashes."""
    return {
        "models": dict(models),
        "datasets": {
            f"tasks[{t.index}]": {"dataset": t.name, "content_hash": t.provenance.get("content_hash")} for t in tasks
        },
        "prompts": dict(prompts),
    }


def resume_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """One line per difference between a run's `spec.json` (`old`) and the record of the spec resuming it (`new`).

    Runs recorded before `depends_on` existed are compared on what they hold: episode ids, dataset content hashes
    and prompt hashes from their provenance.
    """
    changes: list[str] = []
    was, now = _depends_on(old), new["depends_on"]
    if was.get("models") is not None:
        for where in sorted(set(was["models"]) | set(now["models"])):
            a, b = was["models"].get(where), now["models"].get(where)
            if a != b:
                changes.append(_changed(f"{where}: the model", a, b))
    for where in sorted(set(was.get("datasets", {})) | set(now["datasets"])):
        a, b = was.get("datasets", {}).get(where), now["datasets"].get(where)
        if a is None or b is None:
            changes.append(f"{where}: the task entry was {'added' if a is None else 'removed'}")
        elif a.get("content_hash") != b.get("content_hash"):
            name = b.get("dataset") or a.get("dataset")
            changes.append(
                f"{where} ({name}): the questions changed (an edited file or different options; content hash "
                f"{a.get('content_hash')} -> {b.get('content_hash')})"
            )
    prompts_was = was.get("prompts")
    if prompts_was is not None:
        for name in sorted(set(prompts_was) | set(now["prompts"])):
            a, b = prompts_was.get(name), now["prompts"].get(name)
            if a != b:
                what = "added" if a is None else "removed" if b is None else f"changed ({a} -> {b})"
                changes.append(f"prompt {name}: {what}")
    old_eps, new_eps = old.get("episodes", {}), new["episodes"]
    if old_eps.get("ids_digest") != new_eps["ids_digest"]:
        changes.append(
            f"episodes: this spec would change the episode ids of the run ({old_eps.get('total', '?')} planned "
            f"before, {new_eps['total']} now: the experiment, tasks, protocol configs, roles or seeds differ)"
        )
    return changes


def check_resume(run_dir: Path, record: dict[str, Any], force: bool) -> list[str]:
    """The changes `record` makes to the run in `run_dir` (empty: an exact resume). Raises `ResumeMismatchError`
    listing them unless `force`; raises `StoreError` when `spec.json` is missing or corrupt."""
    changes = resume_changes(read_json(run_dir / SPEC_FILE), record)
    if changes and not force:
        raise ResumeMismatchError(
            [
                f"{run_dir}: resuming with this spec would mix two experiments in one run; what changed:",
                *(f"  - {c}" for c in changes),
                "Start a new run, or pass --force to resume anyway (the change is recorded under `changes` in "
                "spec.json and the old spec kept beside it).",
            ]
        )
    return changes


def record_forced_resume(run_dir: Path, record: dict[str, Any], changes: list[str], argv: list[str]) -> dict[str, Any]:
    """Keep the run's current `spec.json` as `spec.<time>.json`, write `record` as the new one with this change
    appended to its `changes` list (earlier forced resumes kept), and return what was written."""
    old = read_json(run_dir / SPEC_FILE)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    kept = run_dir / f"spec.{stamp}.json"
    n = 1
    while kept.exists():
        n += 1
        kept = run_dir / f"spec.{stamp}-{n}.json"
    write_json(kept, old)
    entry = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "old_spec": kept.name, "argv": argv}
    record = {**record, "changes": [*old.get("changes", []), {**entry, "changes": changes}]}
    write_json(run_dir / SPEC_FILE, record)
    return record


def _depends_on(meta: dict[str, Any]) -> dict[str, Any]:
    recorded = meta.get("depends_on")
    if isinstance(recorded, dict):
        return recorded
    prov = meta.get("provenance", {}) or {}
    datasets = {
        d["entry"]: {"dataset": d.get("dataset"), "content_hash": d.get("content_hash")}
        for d in prov.get("datasets", [])
        if isinstance(d, dict) and "entry" in d
    }
    return {"models": None, "datasets": datasets, "prompts": prov.get("prompts")}


def _changed(what: str, a: str | None, b: str | None) -> str:
    if a is None:
        return f"{what} entry was added ({b})"
    if b is None:
        return f"{what} entry was removed (was {a})"
    return f"{what} changed: {a} -> {b}"
