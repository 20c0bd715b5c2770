"""Bad input through the CLI: always our own one-line error naming the file and line or the field, exit code 2,
nothing written; never a traceback. Fixed regressions first, then property-based fuzzing of spec and dataset
loading (hypothesis)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oversight.cli import main

SPEC = """
name = "bad"
[[tasks]]
dataset = "q.jsonl"
{task_extra}
[[protocols]]
name = "direct"
use_logprobs = false
[[judges]]
name = "coin"
model = "scripted/coin"
options = {{ fn = "oversight.experiment.demo_scripts:hash_judge" }}
"""
GOOD = {"id": "a", "text": "Which?", "choices": ["x", "y"], "answer": 0}
#: an error line we wrote: a location (file:line, or a spec field path), then what is wrong
LOCATED = re.compile(
    r"(\S+\.(jsonl|toml|json|yaml|csv):\d+: \S+"  # file:line: field
    r"|\S+\.(toml|json|yaml|yml): "  # a spec file
    r"|^[a-z_]+(\[\d+\])?[.:\[ ])"  # a spec field path: `tasks[0].dataset: ...`
)


def _run(folder: Path, spec: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["run", str(spec), "--output-dir", str(folder / "runs"), "--no-cache", "--progress", "off"])
    return code, capsys.readouterr().err


def _write(folder: Path, rows: list[str] | bytes, task_extra: str = "") -> Path:
    data = folder / "q.jsonl"
    data.write_bytes(rows if isinstance(rows, bytes) else "".join(r + "\n" for r in rows).encode())
    spec = folder / "spec.toml"
    spec.write_text(SPEC.format(task_extra=task_extra))
    return spec


def _row(**changes: object) -> str:
    return json.dumps({**GOOD, **changes})


@pytest.mark.parametrize(
    "rows, message",
    [
        ([_row(answer=True)], "q.jsonl:1: answer: must be an index, a letter or the text of a choice, got a boolean"),
        ([_row(choices=["only"])], "q.jsonl:1: choices: needs at least 2 choices, got 1"),
        ([_row(choices=[])], "q.jsonl:1: choices: needs at least 2 choices, got 0"),
        ([_row(choices=["x", "x"])], "q.jsonl:1: choices: choices must be distinct (repeated: 'x')"),
        ([_row(), _row(id="b", answer=7)], "q.jsonl:2: answer: 7 is out of range for 2 choices"),
        ([_row(), _row()], "q.jsonl:2: id: duplicate id 'a' (first on line 1)"),
        ([_row(), '{"id": "b", "text": '], "q.jsonl:2: row: invalid JSON"),
        ([_row(), "[1, 2]"], "q.jsonl:2: row: must be a JSON object"),
    ],
)
def test_a_bad_dataset_row_is_named_and_nothing_is_written(tmp_path, capsys, rows, message) -> None:
    code, err = _run(tmp_path, _write(tmp_path, rows), capsys)
    assert code == 2 and err.startswith("oversight: error: tasks[0].dataset: ") and message in err, err
    assert not (tmp_path / "runs").exists()


def test_a_non_utf8_file_names_the_file_and_line(tmp_path, capsys) -> None:
    rows = (_row() + "\n" + _row(id="b") + "\n").encode() + b'{"id": "c", "text": "caf\xe9"}\n'
    code, err = _run(tmp_path, _write(tmp_path, rows), capsys)
    assert code == 2 and "q.jsonl:3: file: not UTF-8 text (invalid continuation byte at byte 25)" in err, err


def test_task_options_reach_the_file_loader(tmp_path, capsys) -> None:
    rows = [json.dumps({"q": "Which?", "opts": ["x", "y"], "gold": "y"}), json.dumps({"q": "Bad", "opts": ["z"]})]
    fields = 'options = { fields = { text = "q", choices = "opts", answer = "gold" }, skip_bad = true }'
    code, err = _run(tmp_path, _write(tmp_path, rows, fields), capsys)
    assert code == 0, err  # the second row is skipped, the first maps through `fields`
    run_dir = next((tmp_path / "runs" / "bad").iterdir())
    (ep,) = [json.loads(line) for line in (run_dir / "episodes.jsonl").read_text().splitlines()]
    assert ep["choices"] == ["x", "y"] and ep["gold"] == 1
    code, err = _run(tmp_path, _write(tmp_path, rows, 'options = { skip_bad = "yes please" }'), capsys)
    assert code == 2 and "tasks[0].dataset: skip_bad: must be true or false, got 'yes please'" in err, err


# --- fuzzing -----------------------------------------------------------------------------------------------------

#: examples per fuzz test (the largest; CI keeps the suite fast; `OVERSIGHT_FUZZ_EXAMPLES=2000` hunts longer)
EXAMPLES = int(os.environ.get("OVERSIGHT_FUZZ_EXAMPLES", "80"))

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=8,
)
KEYS = st.sampled_from(["id", "text", "question", "choices", "answer", "context", "meta", "source", "x"])
ROWS = st.dictionaries(KEYS, JSON_VALUES | st.sampled_from([["x", "y"], "Which?", 0, 1, "A"]), max_size=6)
LINES = st.one_of(
    ROWS.map(json.dumps),
    st.binary(max_size=30).map(lambda b: b.decode("latin-1")),  # garbage, some of it not valid JSON
    st.just(_row()),
)


def _check(code: int, err: str) -> None:
    assert "Traceback" not in err
    if code == 0:
        return
    assert code == 2, err
    assert err.startswith("oversight: error: "), err
    first = err.removeprefix("oversight: error: ").removeprefix("invalid spec:\n  ").splitlines()[0]
    assert LOCATED.search(first), err


@settings(max_examples=EXAMPLES * 3 // 4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINES, min_size=0, max_size=5), raw=st.binary(max_size=12))
def test_fuzzed_datasets_give_located_errors(capsys, lines: list[str], raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = "".join(line + "\n" for line in lines).encode("utf-8", "surrogatepass") + raw
        code, err = _run(Path(folder), _write(Path(folder), data), capsys)
    _check(code, err)


BASE = {
    "name": "fz",
    "tasks": [{"dataset": "gen/arithmetic", "n": 2}],
    "protocols": [{"name": "direct", "use_logprobs": False}],
    "judges": [
        {"name": "coin", "model": "scripted/coin", "options": {"fn": "oversight.experiment.demo_scripts:hash_judge"}}
    ],
}
PATHS = [
    ("name",),
    ("seeds",),
    ("repeats",),
    ("concurrency",),
    ("cache",),
    ("retry",),
    ("max_error_share",),
    ("budget",),
    ("prices",),
    ("tasks",),
    ("tasks", 0),
    ("tasks", 0, "dataset"),
    ("tasks", 0, "n"),
    ("tasks", 0, "filters"),
    ("tasks", 0, "options"),
    ("protocols",),
    ("protocols", 0, "name"),
    ("protocols", 0, "rounds"),
    ("protocols", 0, "judge"),
    ("judges",),
    ("judges", 0, "model"),
    ("judges", 0, "options"),
    ("judges", 0, "temperature"),
    ("roles",),
    ("endpoint_limits",),
]


def _mutate(spec: dict, path: tuple, value: object, delete: bool) -> dict:
    """`spec` with the value at `path` replaced (or deleted); unchanged when an earlier edit removed the way there."""
    spec = json.loads(json.dumps(spec))
    node: object = spec
    for part in path[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(part, {})
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return spec
    last = path[-1]
    if isinstance(node, dict):
        if delete:
            node.pop(last, None)
        else:
            node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node[last] = value
    return spec


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(PATHS), JSON_VALUES | st.sampled_from([0, -1, "", "gen/nope"]), st.booleans()),
        min_size=1,
        max_size=3,
    ),
    form=st.sampled_from(["json", "yaml"]),
)
def test_fuzzed_specs_give_located_errors(capsys, edits: list, form: str) -> None:
    spec = BASE
    for path, value, delete in edits:
        spec = _mutate(spec, path, value, delete)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"spec.{form}"
        path.write_text(json.dumps(spec) if form == "json" else yaml.safe_dump(spec))
        code, err = _run(Path(folder), path, capsys)
    _check(code, err)


@settings(max_examples=EXAMPLES // 2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=60), suffix=st.sampled_from([".toml", ".json", ".yaml"]))
def test_fuzzed_spec_text_gives_located_errors(capsys, text: str, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"spec{suffix}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        code, err = _run(Path(folder), path, capsys)
    assert code == 2  # no text this short is a complete experiment
    _check(code, err)


@pytest.mark.parametrize(
    "damage, message",
    [
        ({"spec.json": "{"}, "spec.json: corrupt JSON"),
        ({"spec.json": json.dumps({"spec": {"name": 5}})}, "name: Input should be a valid string"),
        ({"spec.json": json.dumps({"spec": [1]})}, "spec.json: expected a table/mapping at the top level"),
        ({"episodes.jsonl": '{"id": "x"}\n{"id": \n{"id": "y"}\n'}, "episodes.jsonl:1: corrupt episode line"),
    ],
)
def test_a_damaged_run_dir_is_named_on_resume_and_show(tmp_path, capsys, damage, message) -> None:
    spec = _write(tmp_path, [_row()])
    assert main(["run", str(spec), "--output-dir", str(tmp_path / "runs"), "--run-id", "r", "--no-cache"]) == 0
    run_dir = tmp_path / "runs" / "bad" / "r"
    for name, text in damage.items():
        (run_dir / name).write_text(text)
    capsys.readouterr()
    command = ["show", str(run_dir)] if "episodes.jsonl" in damage else ["resume", str(run_dir), "--no-cache"]
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.startswith("oversight: error: ") and message in err and "Traceback" not in err, err
