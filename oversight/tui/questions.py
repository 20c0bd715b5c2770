"""The questions of a run, for the viewer: episodes store a question's id and choices, not its text or hidden
context, so these are reloaded from the tasks the run's `spec.json` names (and checked against its hashes)."""

from __future__ import annotations

import threading
from pathlib import Path

from oversight.store import SPEC_FILE, StoreError, read_json
from oversight.types import Question


class RunQuestions:
    """Question id -> Question for one run, loaded once by `load()` (slow: call it off the UI thread).

    After `load()`, `error` says why nothing could be loaded (None when it worked) and `warnings` lists tasks
    whose data no longer matches the run's recorded content hash.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.loaded = False
        self.error: str | None = None
        self.warnings: list[str] = []
        self._questions: dict[str, Question] = {}
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load every task of the run's spec (once; later calls return at once). Never raises."""
        with self._lock:
            if self.loaded:
                return
            try:
                self._load()
            except Exception as err:  # any task loader failure is a message in the viewer, never a crash
                self.error = f"{type(err).__name__}: {err}".splitlines()[0]
            self.loaded = True

    def _load(self) -> None:
        from oversight.experiment.expand import load_task
        from oversight.experiment.runner import resume_spec

        spec = resume_spec(self.run_dir)
        recorded = read_json(self.run_dir / SPEC_FILE).get("provenance", {}).get("datasets", [])
        hashes = {d.get("entry"): d.get("content_hash") for d in recorded if isinstance(d, dict)}
        for i, task in enumerate(spec.tasks):
            data = load_task(task, i, spec.base_dir)
            want = hashes.get(f"tasks[{i}]")
            if want and want != data.provenance.get("content_hash"):
                self.warnings.append(f"tasks[{i}] ({task.dataset}): the data changed since the run; texts may differ")
            for q in data.questions:
                self._questions.setdefault(q.id, q)

    def get(self, question_id: str) -> Question | None:
        """The question with this id, or None (not loaded yet, or not among the run's tasks)."""
        return self._questions.get(question_id)

    def __len__(self) -> int:
        return len(self._questions)


def run_title(run_dir: Path) -> str:
    """`experiment / run-id` from a run's spec.json; raises `StoreError` when the dir is not a run."""
    meta = read_json(run_dir / SPEC_FILE)
    if not isinstance(meta, dict):
        raise StoreError(f"{run_dir / SPEC_FILE}: not a run spec")
    return f"{meta.get('experiment', '?')} / {meta.get('run_id', run_dir.name)}"
