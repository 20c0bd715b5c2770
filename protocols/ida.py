"""IDA as a protocol: iterated distillation and amplification (Christiano, Shlegeris & Amodei 2018) trained on an
algorithmic task, then scored on the spec's questions, iteration by iteration, through the ordinary runner.

For k = 1..K an overseer H that may only take primitive steps decomposes training queries and asks the current
model M_{k-1} for the sub-answers (amplification); the targets train M_k (distillation, a small torch network on
the CPU). `arm = "supervised"` trains the same network on ground-truth labels of the same queries instead (the
baseline). Training runs once per (task, difficulty, config, seed) in a process and is shared by that seed's
episodes; each episode asks M_0..M_K its question, one judgment per model (the last is final), so accuracy per
iteration comes out of `oversight compare`'s rounds table. The loop itself is `oversight.ida.run_ida`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from oversight.episode import Judgment, Outcome, ProtocolResult, Provenance
from oversight.protocol_registry import EpisodeSetup, ProtocolEntry
from oversight.types import Question


class IDAConfig(BaseModel):
    """What is trained, how much, and which arm answers."""

    model_config = ConfigDict(extra="forbid")

    arm: Literal["ida", "supervised"] = "ida"  # amplified targets (no labels) or ground truth (the baseline)
    iterations: int | None = Field(default=None, ge=1)  # None: the task's decomposition levels + 2
    train: int = Field(default=2048, ge=1)  # training queries per iteration
    steps: int = Field(default=400, ge=1)  # Adam steps per distillation
    batch_size: int = Field(default=128, ge=1)
    lr: float = Field(default=3e-3, gt=0)
    hidden: int = Field(default=32, ge=1)
    curriculum: bool | None = None  # cap iteration k's queries at level k; None: on for the graph tasks
    shortest_path_split: Literal["middle", "first-road"] = "first-road"
    eval: int = Field(default=200, ge=1)  # the loop's own held-out questions (its per-iteration record)
    threads: int = Field(default=1, ge=1)  # torch threads: 1 is fastest on a shared 2-core machine


class IDAEpisodeResult(ProtocolResult):
    """Per iteration k: M_k's answer to this question and whether it is right; the training run's record."""

    task: str = ""
    arm: str = "ida"
    iteration_answers: list[str | None] = Field(default_factory=list)
    iteration_correct: list[bool | None] = Field(default_factory=list)
    #: ground-truth labels the trained arm was trained on (IDA: zero), plus eval/audit labels the loop used
    labels: dict[str, int] = Field(default_factory=dict)
    overseer: dict[str, int] = Field(default_factory=dict)  # overseer, oracle and student calls of the training
    #: the training run's per-iteration accuracy on its own held-out questions, and its wall seconds
    training: list[dict[str, Any]] = Field(default_factory=list)
    training_seconds: float = 0.0


#: (task, difficulty, config, seed) -> the training run, shared by the episodes of one process
_RUNS: dict[str, asyncio.Future[Any]] = {}


async def ida(question: Question, cfg: IDAConfig, seed: int = 0) -> Outcome:
    """Train (or reuse) the `cfg.arm` students for `question`'s algorithmic task and seed, and ask each of M_0..M_K
    `question`. Raises ValueError for a question that is not from an algorithmic IDA generator."""
    from agents.algorithmic import TASKS, algorithmic_task

    name = question.meta.get("ida_task")
    if name not in TASKS:
        raise ValueError(f"{question.id}: IDA needs a question of an algorithmic task ({', '.join(TASKS)})")
    difficulty = int(question.meta.get("difficulty", 1))
    options = {"split": cfg.shortest_path_split} if name == "shortest-path" else {}
    task = algorithmic_task(name, difficulty, **options)
    key = json.dumps([name, difficulty, cfg.model_dump(mode="json"), seed], sort_keys=True)
    if key not in _RUNS:  # trained in a thread, so the event loop (progress, Ctrl-C, other protocols) goes on
        _RUNS[key] = asyncio.ensure_future(asyncio.to_thread(asyncio.run, _train(task, cfg, seed)))
    run = await asyncio.shield(_RUNS[key])
    students = run.history["ida" if cfg.arm == "ida" else "baseline"]
    query = task.top_query(question)
    truth = task.solve(query.instance.data, query.args)
    judgments, answers, correct = [], [], []
    for k, student in enumerate(students):
        (answer,) = await student.answer([query])
        judgments.append(_judgment(question, answer, f"{cfg.arm}/M{k}#{student.identity}", k))
        answers.append(None if answer is None else _text(answer))
        correct.append(None if answer is None else answer == truth)
    result = IDAEpisodeResult(
        task=name,
        arm=cfg.arm,
        iteration_answers=answers,
        iteration_correct=correct,
        labels={"trained_on": run.labels["ida_train" if cfg.arm == "ida" else "baseline_train"], **run.labels},
        overseer=run.overseer,
        training=[
            {"iteration": r.iteration, "accuracy": r.ida_accuracy if cfg.arm == "ida" else r.baseline_accuracy}
            for r in run.iterations
        ],
        training_seconds=run.seconds,
        agents={"student": students[-1].identity},
    )
    return Outcome(question, [], judgments, result)


async def _train(task: Any, cfg: IDAConfig, seed: int) -> Any:
    import torch

    from agents.algorithmic import AlgorithmicOverseer, GraphNetDistiller, GraphNetStudent
    from oversight.ida import Baseline, run_ida

    torch.set_num_threads(cfg.threads)
    curriculum = cfg.curriculum if cfg.curriculum is not None else task.name in ("union-find", "shortest-path")
    iterations = cfg.iterations or task.levels + 2

    def learner() -> GraphNetStudent:
        return GraphNetStudent.initial(task, seed=seed, hidden=cfg.hidden)

    def distiller(label: str) -> GraphNetDistiller:
        return GraphNetDistiller(task, steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, seed=seed, name=label)

    supervised = cfg.arm == "supervised"
    return await run_ida(
        AlgorithmicOverseer(task),
        distiller("ida"),
        learner(),
        train_queries=lambda k: task.train_queries(cfg.train, 1000 * seed + k, max_level=k if curriculum else None),
        eval_queries=task.eval_queries(cfg.eval, 10**6 + seed),  # other generator seeds: held-out instances
        truth=task.ground_truth(),
        iterations=iterations,
        baseline=Baseline(distiller("supervised"), learner()) if supervised else None,
        task=task.name,
        keep_students=True,
    )


def _text(answer: Any) -> str:
    if isinstance(answer, bool):
        return "Yes" if answer else "No"
    return str(answer)


def _judgment(q: Question, answer: Any, identity: str, k: int) -> Judgment:
    """M_k's answer as a program judgment: a choice when the question shows choices, else free-form text."""
    prov = Provenance(judge=identity, aggregation=f"the answer of M_{k}", order_shown=list(range(len(q.choices))))
    if answer is None:
        return Judgment(judge=identity, valid=False, method="program", rationale="no usable answer", provenance=prov)
    text = _text(answer)
    if q.choices:
        choice = q.choices.index(text) if text in q.choices else None
        probs = None if choice is None else [1.0 if i == choice else 0.0 for i in range(len(q.choices))]
        return Judgment(
            judge=identity, probabilities=probs, choice=choice, valid=choice is not None, method="program",
            rationale=text, provenance=prov,
        )  # fmt: skip
    return Judgment(judge=identity, answer=text, method="program", rationale=text, provenance=prov)


async def run(setup: EpisodeSetup) -> Outcome:
    """Registry entry point: no model roles; the students are trained in this process."""
    return await ida(setup.question, setup.config_as(IDAConfig), setup.seed)


IDA = ProtocolEntry(
    name="ida",
    config=IDAConfig,
    roles=(),
    run=run,
    description="Iterated distillation and amplification on an algorithmic task; M_0..M_K answer each question.",
)
