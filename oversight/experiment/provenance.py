"""What a run records about itself up front (`spec.json`): the resolved spec, the planned episodes, what their
results depend on (`depends_on`, compared on resume: see `oversight.experiment.resume`) and the provenance of its
inputs (versions, git commit, prompt-file hashes, dataset content hashes)."""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oversight.experiment.expand import TaskData
from oversight.experiment.resume import dependencies
from oversight.experiment.spec import Experiment
from oversight.hashing import stable_hash
from oversight.models.secrets import redact_argv, redact_data


def spec_record(
    spec: Experiment,
    run_id: str,
    tasks: list[TaskData],
    total: int,
    digest: str,
    models: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The content of `spec.json`. `models` maps each model entry (`roles.x`, `judges[i]`) to its identity
    (`oversight.experiment.roles.model_identities`)."""
    prov = provenance(spec, tasks)
    return {
        "format": 1,
        "experiment": spec.name,
        "run_id": run_id,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "base_dir": str(spec.base_dir),
        "spec": spec.resolved(),
        "episodes": {"total": total, "ids_digest": digest},
        "depends_on": dependencies(models or {}, tasks, prov["prompts"]),
        "provenance": prov,
    }


def provenance(spec: Experiment, tasks: list[TaskData]) -> dict[str, Any]:
    """Versions, git commit, Python, the command line (secrets masked), prompt-file hashes and dataset content
    hashes of a run."""
    import oversight

    return {
        "oversight_version": oversight.__version__,
        "git": _git_state(Path(oversight.__file__).resolve().parent.parent),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "argv": redact_argv(sys.argv),  # `-o api_key=...` and the like are masked
        "prompts": prompt_hashes(),
        "datasets": [{"entry": f"tasks[{t.index}]", **redact_data(t.provenance)} for t in tasks],
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
