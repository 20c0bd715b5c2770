"""FanOutQA (Zhu et al. 2024): multi-hop questions over Wikipedia with human-written gold decompositions.

Read offline from the JSON files the PyPI package `fanoutqa` ships (`fanoutqa/data/fanout-final-<split>.json`,
2.2 MB; data CC-BY-SA-4.0, code MIT), never imported: its own imports pull spaCy. Install it with
`pip install --no-deps fanoutqa==1.1.1` (`scripts/install-data` does). Only the dev split (310 questions) ships
answers and decompositions; the test split's are withheld, so it is not offered.

Each question is free-form: `meta["answers"]` holds the gold answer rendered as text (lists "a, b", mappings
"name: value; ..."), `meta["decomposition"]` the gold subquestions with their answers (nested, with `depends_on`
ids) that `oversight.tasks.steps.gold_decomposition` turns into gold steps. The Wikipedia evidence is not
shipped, so the questions are closed-book here (no hidden context).
"""

from __future__ import annotations

import json
from typing import Any

from oversight.tasks._packages import DataUnavailableError, find_data_package
from oversight.tasks.steps import render_answer
from oversight.tasks.taskset import FileRecord, TaskSet
from oversight.types import Question, Source

PACKAGE = ("fanoutqa", "fanoutqa")
LICENCE = "CC-BY-SA-4.0"
SPLITS = ("dev",)
INSTALL = "pip install --no-deps fanoutqa==1.1.1 (or scripts/install-data)"


def load_fanoutqa(split: str = "dev") -> TaskSet:
    """Every question of FanOutQA's `split` with its gold answer and decomposition.

    Raises ValueError for a split other than "dev", DataUnavailableError when the package is not installed or
    its data file is missing, and ValueError naming the file and question for a malformed row.
    """
    if split not in SPLITS:
        raise ValueError(f"fanoutqa: no split {split!r} with answers (splits: {', '.join(SPLITS)})")
    pkg = find_data_package(*PACKAGE)
    if pkg is None:
        raise DataUnavailableError(f"fanoutqa: the package is not installed; {INSTALL}")
    path = pkg.root / "data" / f"fanout-final-{split}.json"
    if not path.is_file():
        raise DataUnavailableError(f"fanoutqa: {path} not found in fanoutqa {pkg.version}; {INSTALL}")
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a FanOutQA JSON file ({err})") from None
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a JSON list of questions, got {type(rows).__name__}")
    record = FileRecord.of(path, relative_to=pkg.root.parent)
    source = Source(
        dataset="fanoutqa",
        split=split,
        licence=LICENCE,
        package=pkg.dist,
        version=pkg.version,
        file=record.file,
        sha256=record.sha256,
    )
    questions = [_question(row, i, path.name, source) for i, row in enumerate(rows)]
    return TaskSet(
        name="fanoutqa",
        questions=questions,
        split=split,
        licence=LICENCE,
        package=pkg.dist,
        version=pkg.version,
        files=[record],
        options={"via": "package"},
    )


def _question(row: Any, i: int, file: str, source: Source) -> Question:
    where = f"{file}: question {i}"
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected an object, got {type(row).__name__}")
    missing = [k for k in ("id", "question", "answer", "decomposition") if k not in row]
    if missing:
        raise ValueError(f"{where} ({row.get('id', '?')}): missing {', '.join(missing)}")
    if not isinstance(row["decomposition"], list):
        raise ValueError(f"{where} ({row['id']}): decomposition is not a list")
    return Question(
        id=f"fanoutqa/{source.split}/{row['id']}",
        text=str(row["question"]),
        source=source,
        meta={
            "answers": [render_answer(row["answer"])],
            "decomposition": row["decomposition"],
            "categories": list(row.get("categories") or []),
        },
    )


__all__ = ["load_fanoutqa"]
