"""Gold decompositions (GSM8K, the IDA generators, FanOutQA) checked against independent computation, the FanOutQA
loader, free-form answer matching and the decomposition reply parser (with hypothesis for the parsers)."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.decomposer import parse_decomposition
from oversight.tasks import DataUnavailableError, load_task
from oversight.tasks import fanoutqa as fanout_module
from oversight.tasks._packages import DataPackage
from oversight.tasks.answers import answers_match, final_answer, numbers_in
from oversight.tasks.generators.ida import dijkstra, permutation_power, run_program
from oversight.tasks.steps import gold_decomposition, gsm8k_steps, render_answer
from oversight.types import Question

# -- IDA generators: every gold step's answer, recomputed another way -------------------------------------------------


def test_permutation_power_steps():
    for q in load_task("gen/permutation-power", n=20, seed=2, difficulty=1):
        inst, g = q.meta["instance"], gold_decomposition(q)
        assert len(g.steps) == inst["k"] - 1 and g.answer == str(q.meta["numeric"])
        for j, step in enumerate(g.steps, 1):
            assert f"applied {'once' if j == 1 else f'{j} times'} send {inst['x']}?" in step.question
            assert step.answer == str(permutation_power(inst["perm"], j, inst["x"]))


def test_sequential_assignment_steps():
    for q in load_task("gen/sequential-assignments", n=30, seed=4, difficulty=3):
        program, g = q.meta["instance"]["program"], gold_decomposition(q)
        assert g.answer == str(q.meta["numeric"])
        for step in g.steps:
            var, line = step.question.removeprefix("What is the value of ").removesuffix("?").split(" after line ")
            assert step.answer == str(run_program(program[: int(line) + 1])[var]) == g.answer  # one value flows


def test_union_find_steps():
    for q in load_task("gen/union-find", n=30, seed=6, difficulty=2):
        inst, g = q.meta["instance"], gold_decomposition(q)
        assert g.answer == q.choices[q.answer]
        reached: set[int] = set()
        for hops, step in enumerate(g.steps, 1):
            now = {int(v) for v in step.answer.split(", ")}
            assert reached < now  # each step reaches further
            reached = now
            assert f"in at most {hops} link" in step.question
        if g.steps and g.answer == "Yes":
            assert inst["y"] in reached  # the last step reaches y when they are connected


def test_shortest_path_steps():
    for q in load_task("gen/shortest-path", n=20, seed=8, difficulty=2):
        inst, g = q.meta["instance"], gold_decomposition(q)
        distances = []
        for step in g.steps:
            v = int(step.question.rsplit(" to ", 1)[1].rstrip("?"))
            assert step.answer == str(dijkstra(inst["nodes"], inst["edges"], inst["s"], v))
            distances.append(int(step.answer))
        assert distances == sorted(distances) and all(d < int(g.answer) for d in distances)  # along the route


# -- GSM8K ------------------------------------------------------------------------------------------------------------


def test_gsm8k_steps_from_the_worked_solution():
    solution = (
        "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
        "No calculation here.\n"
        "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May."
    )
    steps = gsm8k_steps(solution)
    assert [(s.question, s.answer) for s in steps] == [
        ("Fill in the ?: Natalia sold 48/2 = ? clips in May.", "24"),
        ("Fill in the ?: Natalia sold 48+24 = ? clips altogether in April and May.", "72"),
    ]
    two = gsm8k_steps("He pays 2*5 = <<2*5=10>>10 and 10+3 = <<10+3=13>>13 dollars.")
    assert two[0].question == "Fill in the ?: He pays 2*5 = 10 and 10+3 = ? dollars." and two[0].answer == "13"


def test_gsm8k_gold_decompositions_end_at_the_gold_answer():
    questions = load_task("gsm8k", n=50, seed=0).questions
    for q in questions:
        g = gold_decomposition(q)
        assert g.answer == q.meta["answers"][0]
        assert all("<<" not in s.question and "?" in s.question for s in g.steps)
    # a few solutions (18 of the 1,319) carry no calculator marks: those questions have no steps
    assert sum(bool(gold_decomposition(q).steps) for q in questions) >= 45
    # the last worked step computes the final answer in most solutions
    lasts = [(g.steps[-1].answer, g.answer) for g in map(gold_decomposition, questions) if g.steps]
    assert sum(answers_match(step, final) for step, final in lasts) >= 40


_expr = st.tuples(st.integers(0, 999), st.sampled_from("+-*/"), st.integers(1, 999))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(string.ascii_letters + " ", max_size=20), _expr, st.integers(0, 10**6)), max_size=5))
def test_gsm8k_step_parser_on_generated_solutions(lines):
    solution = "\n".join(f"{words} {a}{op}{b} = <<{a}{op}{b}={v}>>{v} units." for words, (a, op, b), v in lines)
    steps = gsm8k_steps(solution)
    assert [s.answer for s in steps] == [str(v) for *_, v in lines]
    assert all(s.question.count("?") >= 1 and "<<" not in s.question for s in steps)


# -- FanOutQA ---------------------------------------------------------------------------------------------------------


def test_fanoutqa_dev_loads_with_gold_decompositions():
    tasks = load_task("fanoutqa")
    assert len(tasks) == 310 and tasks.licence == "CC-BY-SA-4.0" and tasks.package == "fanoutqa"
    assert len({q.id for q in tasks}) == 310 and tasks.files[0].file == "fanoutqa/data/fanout-final-dev.json"
    for q in tasks:
        g = gold_decomposition(q)
        assert g.answer == q.meta["answers"][0] and len(g.steps) == len(q.meta["decomposition"]) >= 1
    nested = [q for q in tasks if any(d.get("decomposition") for d in q.meta["decomposition"])]
    assert nested and all(any(s.steps for s in gold_decomposition(q).steps) for q in nested)


def test_fanoutqa_without_the_package_or_with_a_bad_file(monkeypatch, tmp_path):
    monkeypatch.setattr(fanout_module, "find_data_package", lambda *a: None)
    with pytest.raises(DataUnavailableError, match="pip install --no-deps fanoutqa"):
        fanout_module.load_fanoutqa()
    (tmp_path / "fanoutqa" / "data").mkdir(parents=True)
    pkg = DataPackage("fanoutqa", tmp_path / "fanoutqa", "0")
    monkeypatch.setattr(fanout_module, "find_data_package", lambda *a: pkg)
    with pytest.raises(DataUnavailableError, match="fanout-final-dev.json not found"):
        fanout_module.load_fanoutqa()
    bad = tmp_path / "fanoutqa" / "data" / "fanout-final-dev.json"
    bad.write_text(json.dumps([{"id": "x", "question": "q?", "answer": "a"}]))
    with pytest.raises(ValueError, match=r"fanout-final-dev.json: question 0 \(x\): missing decomposition"):
        fanout_module.load_fanoutqa()
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not a FanOutQA JSON file"):
        fanout_module.load_fanoutqa()
    with pytest.raises(ValueError, match="no split 'test'"):
        fanout_module.load_fanoutqa("test")


def test_render_answer():
    assert render_answer({"Ann": "Left", "Bob": ["x", 2.0]}) == "Ann: Left; Bob: x, 2"
    assert render_answer(True) == "yes" and render_answer(3.5) == "3.5"


def test_questions_without_gold_steps():
    assert gold_decomposition(Question(id="x", text="Why?", choices=["a", "b"], answer=0)) is None
    assert gold_decomposition(Question(id="x", text="Why?")) is None


# -- answers ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "gold", "match"),
    [
        ("So 5 x 40 = 200. Answer: 200 pounds", "200", True),
        ("Answer: 199", "200", False),
        ("Answer: $1,234.50", "1234.5", True),
        ("Answer: 5, 3, 0", "0, 3, 5", True),
        ("Answer: 5, 3", "0, 3, 5", False),
        ("Answer: No, they are not linked", "No", True),
        ("Answer: yes", "No", False),
        ("Answer: Paris, France", "paris", True),
        (
            "Mandarin Chinese: 920,000,000; Hindi: 322,000,000",
            "Hindi: 322,000,000; Mandarin Chinese: 920,000,000",
            True,
        ),
        ("Mandarin Chinese: 920,000,000", "Hindi: 322,000,000; Mandarin Chinese: 920,000,000", False),
        ("Answer: anything", "", False),
    ],
)
def test_answers_match(answer: str, gold: str, match: bool):
    assert answers_match(answer, gold) is match


@given(st.integers(-(10**9), 10**9), st.integers(-(10**9), 10**9))
def test_numbers_match_by_value(a: int, b: int):
    assert answers_match(f"The result is {a:,}. Answer: {a:,}", str(b)) is (a == b)
    assert numbers_in(f"x {a} y") == [float(a)]


def test_final_answer():
    assert final_answer("Working.\n**Answer: 42.**") == "42"
    assert final_answer("first\nsecond line\n\n") == "second line"
    assert final_answer("") == ""


# -- the decomposer's reply -------------------------------------------------------------------------------------------


def test_parse_decomposition_accepts_fenced_or_embedded_json():
    assert parse_decomposition('```json\n{"subquestions": ["a?", "b?"]}\n```') == (["a?", "b?"], None)
    assert parse_decomposition('Here: {"subquestions": []} done') == ([], None)
    assert parse_decomposition('{"subquestions": ["a"], "why": "x"}')[1].startswith("JSON does not match the schema")
    assert "at least 1 character" in parse_decomposition('{"subquestions": [""]}')[1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=30), max_size=6), st.text(max_size=20))
def test_parse_decomposition_round_trips_any_strings(subs, prefix):
    text = prefix.replace("{", "(") + json.dumps({"subquestions": subs})
    assert parse_decomposition(text) == (subs, None)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_parse_decomposition_never_raises(text):
    subs, error = parse_decomposition(text)
    assert (subs is None) != (error is None)
