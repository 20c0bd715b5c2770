"""File loaders: JSONL, CSV and Parquet with a field mapping, exact located errors, skip-bad reporting."""

from __future__ import annotations

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from oversight.tasks import FieldMap, TaskFileError, load_file, load_task


def write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


GOOD = [
    {"id": "q1", "question": "2+2?", "choices": ["3", "4"], "answer": 1, "context": "secret", "topic": "maths"},
    {"id": "q2", "question": "Capital of France?", "choices": ["Paris", "Rome", "Oslo"], "answer": "Paris"},
    {"question": "Pick B", "choices": ["x", "y", "z"], "answer": "B"},
]


def test_jsonl_loads_with_ids_context_meta_and_hash(tmp_path):
    path = write_jsonl(tmp_path / "mine.jsonl", GOOD)
    tasks = load_task(path)
    assert [q.id for q in tasks] == ["q1", "q2", "mine:3"]
    assert [q.answer for q in tasks] == [1, 0, 1]
    assert tasks[0].context == "secret" and tasks[0].meta == {"topic": "maths"}
    prov = tasks.provenance()
    assert prov["files"][0]["file"] == str(path) and len(prov["files"][0]["sha256"]) == 64
    assert tasks[0].source.sha256 == prov["files"][0]["sha256"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"question": "q", "choices": ["a", "b"], "answer": 2}, "answer: 2 is out of range for 2 choices"),
        ({"question": "q", "choices": ["a", "b"]}, "answer: missing"),
        ({"choices": ["a", "b"], "answer": 0}, "question: missing"),
        ({"question": "  ", "choices": ["a", "b"], "answer": 0}, "question: is empty"),
        ({"question": 5, "choices": ["a", "b"], "answer": 0}, "question: must be a string, got int"),
        ({"question": "q", "choices": ["a"], "answer": 0}, "choices: needs at least 2 choices, got 1"),
        ({"question": "q", "choices": "a", "answer": 0}, "choices: needs at least 2 choices, got 1"),
        ({"question": "q", "choices": ["a", ""], "answer": 0}, "choices: choice 1 is empty"),
        ({"question": "q", "choices": ["a", "b"], "answer": "c"}, "answer: 'c' is out of range for 2 choices"),
        (
            {"question": "q", "choices": ["a", "b"], "answer": "zz"},
            "answer: 'zz' is not an index, a letter or the text of a choice",
        ),
        ({"question": "q", "choices": ["a", "b"], "answer": 0, "context": 3}, "context: must be a string, got int"),
        ("[1, 2]", "row: must be a JSON object"),
        ('{"question": "q",', "row: invalid JSON (Expecting property name enclosed in double quotes at column 18)"),
    ],
)
def test_jsonl_errors_are_located(tmp_path, row, message):
    path = write_jsonl(tmp_path / "bad.jsonl", [GOOD[0], row])
    with pytest.raises(TaskFileError) as err:
        load_file(path)
    assert str(err.value) == f"{path}:2: {message}"
    assert (err.value.line, err.value.file) == (2, str(path))


def test_duplicate_id_and_blank_lines_keep_physical_line_numbers(tmp_path):
    path = write_jsonl(tmp_path / "dup.jsonl", [GOOD[0], "", GOOD[0]])
    with pytest.raises(TaskFileError, match=r"dup.jsonl:3: id: duplicate id 'q1' \(first on line 1\)$"):
        load_file(path)


def test_skip_bad_reports_how_many(tmp_path, caplog):
    rows = [GOOD[0], {"question": "q", "choices": ["a", "b"], "answer": 9}, "not json", GOOD[1]]
    path = write_jsonl(tmp_path / "mixed.jsonl", rows)
    tasks = load_file(path, skip_bad=True)
    assert len(tasks) == 2 and tasks.skipped == 2
    assert tasks.problems == [
        f"{path}:2: answer: 9 is out of range for 2 choices",
        f"{path}:3: row: invalid JSON (Expecting value at column 1)",
    ]
    assert "skipped 2 bad row(s)" in caplog.text
    assert tasks.provenance()["skipped"] == 2


def test_field_mapping_and_answer_formats(tmp_path):
    rows = [{"q": "Which?", "opts": ["a", "b", "c"], "gold": 3, "doc": "ctx", "key": 17}]
    path = write_jsonl(tmp_path / "mapped.jsonl", rows)
    fields = {
        "text": "q",
        "choices": "opts",
        "answer": "gold",
        "context": "doc",
        "id": "key",
        "answer_format": "index1",
    }
    (q,) = load_task(path, fields=fields)
    assert (q.id, q.text, q.answer, q.context) == ("17", "Which?", 2, "ctx")
    with pytest.raises(ValueError, match="unknown key"):
        FieldMap.of({"txt": "q"})


def test_free_form_rows(tmp_path):
    path = write_jsonl(tmp_path / "free.jsonl", [{"question": "Name a colour", "answer": ["red", "blue"]}])
    (q,) = load_file(path, fields={"choices": None})
    assert q.choices == [] and q.answer is None and q.meta["answers"] == ["red", "blue"]


def test_csv_choice_columns_multiline_and_errors(tmp_path):
    path = tmp_path / "set.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["question", "A", "B", "C", "answer"])
        w.writerow(["Two\nlines", "x", "y", "z", "C"])
        w.writerow(["ok", "x", "y", "z", "1"])
        w.writerow(["bad", "x", "y", "z", "D"])
    fields = {"choices": ["A", "B", "C"]}
    with pytest.raises(TaskFileError) as err:
        load_file(path, fields=fields)
    assert str(err.value) == f"{path}:5: answer: 'D' is out of range for 3 choices"
    tasks = load_file(path, fields=fields, skip_bad=True)
    assert [q.answer for q in tasks] == [2, 1] and tasks[0].text == "Two\nlines" and tasks.skipped == 1
    assert tasks[0].id == "set:2" and tasks[1].id == "set:4"


def test_csv_choices_in_one_column(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text('question,choices,answer\nq1,"[""a"", ""b""]",b\nq2,a|b|c,0\nq3,a,0\n')
    with pytest.raises(TaskFileError) as err:
        load_file(path)
    assert str(err.value) == f"{path}:4: choices: needs at least 2 choices, got 1"
    tasks = load_file(path, skip_bad=True)
    assert [q.choices for q in tasks] == [["a", "b"], ["a", "b", "c"]] and [q.answer for q in tasks] == [1, 0]


def test_csv_ragged_row(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("question,choices,answer\nq,a|b\n")
    with pytest.raises(TaskFileError, match=r"ragged.csv:2: row: has 2 values but the header has 3 columns$"):
        load_file(path)


def test_parquet_rows_and_errors(tmp_path):
    path = tmp_path / "set.parquet"
    table = pa.table(
        {
            "question": ["q1", "q2", "q3"],
            "choices": [["a", "b"], ["c", "d"], ["e", "f"]],
            "answer": [0, 1, 5],
            "context": ["p1", None, "p3"],
        }
    )
    pq.write_table(table, path)
    with pytest.raises(TaskFileError) as err:
        load_task(path)
    assert str(err.value) == f"{path}:3: answer: 5 is out of range for 2 choices"
    tasks = load_task(path, skip_bad=True)
    assert len(tasks) == 2 and tasks[1].context is None and tasks.skipped == 1


def test_sampling_is_seeded_and_keeps_order(tmp_path):
    rows = [{"id": f"r{i}", "question": f"q{i}", "choices": ["a", "b"], "answer": i % 2} for i in range(50)]
    path = write_jsonl(tmp_path / "many.jsonl", rows)
    a, b = load_task(path, n=10, seed=3), load_task(path, n=10, seed=3)
    assert [q.id for q in a] == [q.id for q in b]
    assert [q.id for q in a] == sorted((q.id for q in a), key=lambda s: int(s[1:]))
    assert [q.id for q in load_task(path, n=10, seed=4)] != [q.id for q in a]
    assert a.provenance()["sampled"] == {"n": 10, "seed": 3, "of": 50}
