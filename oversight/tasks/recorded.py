"""The task `recorded`: the episodes of a finished run as questions, for judging again (`oversight rejudge`).

Each question is one recorded judgment's view: its id is the episode's id (`<id>/<k>` for the k-th judgment with
`judgment = "all"`), its text, choices and gold answer those the judge was shown, and its `meta` holds what the
`rejudge` protocol needs to rebuild the view: the turns shown (without the prompts they were made from), the view
record, the source episode's typed result, and the link to it (`source`). `meta.label`, `meta.judge` and
`meta.protocol` are the source episode's, so a task's `filters` can pick them.

Episodes that errored, or whose judgment records no view (runs stored before views were recorded; a
multi-agent debate's majority vote), are skipped and counted in the task's provenance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from oversight.episode import Episode, EpisodeSource, ProtocolResult
from oversight.store import EPISODES_FILE, SPEC_FILE, StoreError, iter_episodes, read_json, resolve_run_dir
from oversight.tasks.taskset import FileRecord, TaskSet
from oversight.types import Question, Source


@dataclass
class RecordedTaskSet(TaskSet):
    """A `TaskSet` whose provenance also links the source run and the episodes taken from it."""

    source: dict[str, Any] = field(default_factory=dict)

    def provenance(self) -> dict[str, Any]:
        """The task provenance plus `source`: run dir, experiment, run id, and the episode ids re-judged."""
        record = super().provenance()
        episodes = [q.meta["source"]["episode"] for q in self.questions]
        record["source"] = {**self.source, "episodes": episodes}
        return record


def load_recorded(
    split: str | None = None, *, run: str, judgment: Literal["final", "all"] = "final", **_: Any
) -> TaskSet:
    """The recorded judgments of run `run` (a run directory, or an experiment directory: its newest run) as
    questions. `judgment`: the final judgment of each episode, or every judgment that records a view.

    Raises ValueError when `run` is not a run directory or `judgment` is unknown.
    """
    if judgment not in ("final", "all"):
        raise ValueError(f"judgment: must be 'final' or 'all', got {judgment!r}")
    try:
        run_dir = resolve_run_dir(run).resolve()
        spec = read_json(run_dir / SPEC_FILE)
    except StoreError as err:
        raise ValueError(str(err)) from None
    default_task = _single_task(spec)
    questions: list[Question] = []
    skipped = {"errored": 0, "no_view": 0}
    for ep in iter_episodes(run_dir, seen=False):
        if ep.error is not None:
            skipped["errored"] += 1
            continue
        picks = [len(ep.judgments) - 1] if judgment == "final" else list(range(len(ep.judgments)))
        picks = [k for k in picks if k >= 0 and ep.judgments[k].view is not None]
        if not picks:
            skipped["no_view"] += 1
            continue
        for k in picks:
            qid = ep.id if judgment == "final" else f"{ep.id}/{k}"
            questions.append(_question(ep, k, qid, run_dir, spec, default_task))
    files = [FileRecord.of(run_dir / EPISODES_FILE)] if (run_dir / EPISODES_FILE).exists() else []
    return RecordedTaskSet(
        name="recorded",
        questions=questions,
        split=split,
        files=files,
        options={"run": str(run_dir), "judgment": judgment},
        skipped=sum(skipped.values()),
        problems=[f"{n} episode(s) skipped: {why.replace('_', ' ')}" for why, n in skipped.items() if n],
        source={
            "run": str(run_dir),
            "experiment": spec.get("experiment", ""),
            "run_id": spec.get("run_id", run_dir.name),
            "skipped": skipped,
        },
    )


def _question(ep: Episode, k: int, qid: str, run_dir: Path, spec: dict[str, Any], task: str) -> Question:
    judged = ep.judgments[k]
    view = judged.view
    assert view is not None  # picked above
    result = ProtocolResult.read(ep.meta)
    earlier = result.source  # a re-judged episode: keep pointing at the transcript's origin
    label = earlier.label if earlier else str(ep.meta.get("label") or ep.protocol)
    src = EpisodeSource(
        run=str(run_dir),
        run_id=str(spec.get("run_id", run_dir.name)),
        episode=ep.id,
        judgment=k,
        label=label,
        task=earlier.task if earlier else str(ep.meta.get("task") or task),
        judge=ep.judge,
        protocol=earlier.protocol if earlier else ep.protocol,
        transcript=earlier.transcript if earlier else ep.id,
        question=earlier.question if earlier else ep.question_id,
        seed=earlier.seed if earlier else ep.seed,
    )
    shown = [ep.turns[i].model_dump(mode="json", exclude={"seen"}) for i in view.turns]
    record = view.model_copy(update={"turns": list(range(len(shown)))})
    result.source = src
    gold = judged.provenance.gold_source
    name, _, version = gold.partition("@")
    return Question(
        id=qid,
        text=view.question,
        choices=list(ep.choices),
        answer=ep.gold,
        context=view.context,
        source=Source(dataset=name or "recorded", version=version or None),
        meta={
            "label": label,
            "judge": ep.judge,
            "protocol": ep.protocol,
            "seed": ep.seed,
            "source": src.model_dump(mode="json"),
            "view": record.model_dump(mode="json"),
            "turns": shown,
            "result": result.model_dump(mode="json", exclude={"source"}),
        },
    )


def _single_task(spec: dict[str, Any]) -> str:
    tasks = (spec.get("spec") or {}).get("tasks") or []
    if len(tasks) != 1 or not isinstance(tasks[0], dict) or not tasks[0].get("dataset"):
        return "all"
    dataset = str(tasks[0]["dataset"])
    if dataset == "recorded":
        return "all"
    return Path(dataset).stem if Path(dataset).suffix in (".jsonl", ".json", ".csv") else dataset


__all__ = ["RecordedTaskSet", "load_recorded"]
