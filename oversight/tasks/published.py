"""QuALITY and GPQA, read from local copies in the formats their authors publish (neither ships on PyPI).

QuALITY (Pang et al. 2022, CC BY 4.0): JSONL, one article per line with `article`, `title`, `article_id` and
`questions: [{question, options[4], gold_label (1-based), question_unique_id, difficult}]`; the article is the
hidden context. GPQA (Rein et al. 2023, CC BY 4.0): CSV with `Question`, `Correct Answer`, `Incorrect Answer
1..3`, `Record ID`; the choices are put in an order fixed by the record id, so ids and answers are stable.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

from oversight.tasks._packages import DataUnavailableError
from oversight.tasks.files import TaskFileError
from oversight.tasks.taskset import FileRecord, TaskSet
from oversight.types import Question, Source

QUALITY_LICENCE = "CC-BY-4.0"
GPQA_LICENCE = "CC-BY-4.0"


def load_quality(
    split: str | None = None, path: str | Path | None = None, hard_only: bool = False, skip_bad: bool = False
) -> TaskSet:
    """Questions of a QuALITY file (e.g. `QuALITY.v1.0.1.htmlstripped.dev`), one per question, article hidden.

    Questions without `gold_label` (the unlabelled test split) are skipped and counted. `hard_only` keeps the
    questions marked `difficult`. Raises TaskFileError (`file:line: field: problem`) for a malformed line unless
    `skip_bad`, and ValueError when no path is given.
    """
    if path is None:
        raise ValueError("quality: pass path=<QuALITY .jsonl/.dev/.train file> (the data is not on PyPI)")
    p, shown = Path(path), str(path)
    split = split or _split_from_name(p.name)
    record = FileRecord.of(p)
    source = Source(dataset="quality", split=split, licence=QUALITY_LICENCE, file=shown, sha256=record.sha256)
    questions: list[Question] = []
    problems: list[str] = []
    unlabelled = 0
    with p.open(encoding="utf-8") as fh:
        for line, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                made, missing = _quality_article(raw, split, source, hard_only)
            except TaskFileError as err:
                located = TaskFileError(shown, line, err.field, err.problem)
                if not skip_bad:
                    raise located from None
                problems.append(str(located))
                continue
            questions.extend(made)
            unlabelled += missing
    return TaskSet(
        name="quality",
        questions=questions,
        split=split,
        licence=QUALITY_LICENCE,
        files=[record],
        options={"hard_only": hard_only, "unlabelled_skipped": unlabelled},
        skipped=len(problems),
        problems=problems,
    )


def _quality_article(raw: str, split: str, source: Source, hard_only: bool) -> tuple[list[Question], int]:
    def bad(field: str, problem: str) -> TaskFileError:
        return TaskFileError("", 0, field, problem)

    try:
        art = json.loads(raw)
    except json.JSONDecodeError as err:
        raise bad("row", f"invalid JSON ({err.msg} at column {err.colno})") from None
    for key in ("article", "questions"):
        if key not in art:
            raise bad(key, "missing")
    article_id = str(art.get("article_id") or art.get("set_unique_id") or "")
    out: list[Question] = []
    unlabelled = 0
    for k, item in enumerate(art["questions"]):
        where = f"questions[{k}]"
        options = item.get("options")
        if not isinstance(options, list) or len(options) < 2:
            raise bad(f"{where}.options", "must be a list of at least 2 strings")
        gold = item.get("gold_label")
        if gold is None:
            unlabelled += 1
            continue
        if not isinstance(gold, int) or not 1 <= gold <= len(options):
            raise bad(f"{where}.gold_label", f"{gold!r} is out of range 1..{len(options)}")
        if hard_only and not item.get("difficult"):
            continue
        uid = item.get("question_unique_id") or f"{article_id}/{k}"
        out.append(
            Question(
                id=f"quality/{split}/{uid}",
                text=item["question"],
                choices=[str(o) for o in options],
                answer=gold - 1,
                context=art["article"],
                source=source,
                meta={
                    "title": art.get("title"),
                    "article_id": article_id,
                    "context_id": article_id,
                    "difficult": bool(item.get("difficult")),
                },
            )
        )
    return out, unlabelled


_GPQA_INCORRECT = ("Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")


def load_gpqa(split: str | None = None, path: str | Path | None = None, skip_bad: bool = False) -> TaskSet:
    """Questions of a GPQA CSV (`gpqa_main.csv`, `gpqa_diamond.csv`, `gpqa_extended.csv`).

    Without `path`, tries the gated hub set `Idavidrein/gpqa` through Hugging Face `datasets` (needs a login and
    network). Raises TaskFileError for a malformed row unless `skip_bad`; DataUnavailableError with no source.
    """
    if path is None:
        return _gpqa_from_hub(split or "gpqa_diamond")
    p, shown = Path(path), str(path)
    split = split or p.stem
    record = FileRecord.of(p)
    source = Source(dataset="gpqa", split=split, licence=GPQA_LICENCE, file=shown, sha256=record.sha256)
    questions: list[Question] = []
    problems: list[str] = []
    with p.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        start = reader.line_num + 1
        for row in reader:
            line, start = start, reader.line_num + 1
            try:
                questions.append(_gpqa_row(row, split, source))
            except TaskFileError as err:
                located = TaskFileError(shown, line, err.field, err.problem)
                if not skip_bad:
                    raise located from None
                problems.append(str(located))
    return TaskSet(
        name="gpqa",
        questions=questions,
        split=split,
        licence=GPQA_LICENCE,
        files=[record],
        skipped=len(problems),
        problems=problems,
    )


def _gpqa_row(row: dict[str, Any], split: str, source: Source) -> Question:
    for key in ("Question", "Correct Answer", *_GPQA_INCORRECT, "Record ID"):
        if not (row.get(key) or "").strip():
            raise TaskFileError("", 0, key, "missing")
    correct = row["Correct Answer"].strip()
    options = [correct, *(row[k].strip() for k in _GPQA_INCORRECT)]
    order = list(range(4))
    random.Random(f"gpqa:{row['Record ID']}").shuffle(order)
    return Question(
        id=f"gpqa/{split}/{row['Record ID']}",
        text=row["Question"].strip(),
        choices=[options[i] for i in order],
        answer=order.index(0),
        source=source,
        meta={
            "domain": row.get("High-level domain"),
            "subdomain": row.get("Subdomain"),
            "explanation": row.get("Explanation"),
        },
    )


def _gpqa_from_hub(config: str) -> TaskSet:
    from oversight.tasks.datasets import hf_available

    if not hf_available():
        raise DataUnavailableError(
            "gpqa: pass path=<gpqa_*.csv> (the published zip), or install `datasets` and log in to the hub"
        )
    import datasets  # type: ignore[import-not-found]

    try:
        ds = datasets.load_dataset("Idavidrein/gpqa", config, split="train")
    except Exception as err:
        raise DataUnavailableError(f"gpqa: loading Idavidrein/gpqa ({config}) failed: {err}") from err
    source = Source(dataset="gpqa", split=config, licence=GPQA_LICENCE, package="datasets", file="hf://Idavidrein/gpqa")
    questions = [_gpqa_row(dict(r), config, source) for r in ds]
    return TaskSet(name="gpqa", questions=questions, split=config, licence=GPQA_LICENCE, package="datasets")


def _split_from_name(name: str) -> str:
    for split in ("train", "dev", "test"):
        if f".{split}" in name or f"_{split}" in name:
            return split
    return Path(name).stem
