"""Two-answer form: correct answer + one distractor, seeded order, mapping kept; numeric and free-form text."""

from __future__ import annotations

import pytest

from oversight.models import get_model
from oversight.tasks import load_task, to_two_answer, two_answer
from oversight.tasks.two_answer import to_two_answer_by_model
from oversight.types import ModelOutput, Question


def mc():
    return Question(id="q", text="Which?", choices=["a", "b", "c", "d"], answer=2)


def test_multiple_choice_keeps_correct_and_maps_back():
    seen_order, seen_distractor = set(), set()
    for seed in range(40):
        t = two_answer(mc(), seed)
        info = t.meta["two_answer"]
        assert len(t.choices) == 2 and t.choices[t.answer] == "c"
        assert [mc().choices[i] for i in info["original_choices"]] == t.choices
        assert info["rule"] == "random" and t.id == f"q/2ans-s{seed}"
        assert t == two_answer(mc(), seed)  # deterministic per seed
        seen_order.add(t.answer)
        seen_distractor.add(info["distractor"])
    assert seen_order == {0, 1} and seen_distractor == {"a", "b", "d"}


def test_given_distractor_and_validation():
    t = two_answer(mc(), 0, distractor=3)
    assert set(t.choices) == {"c", "d"} and t.meta["two_answer"]["rule"] == "given"
    with pytest.raises(ValueError, match="not a wrong choice"):
        two_answer(mc(), 0, distractor=2)


def test_gsm8k_gets_a_plausible_wrong_number():
    tasks = to_two_answer(load_task("gsm8k", n=200, seed=0), seed=1)
    assert len(tasks) == 200 and tasks.skipped == 0
    from_solution = 0
    for q in tasks:
        info = q.meta["two_answer"]
        assert q.choices[q.answer] == q.meta["answers"][0] and info["distractor"] != info["correct"]
        assert float(info["distractor"]) != q.meta["numeric"]
        from_solution += info["distractor"] in q.meta["solution"]
    assert from_solution > 150  # mostly intermediate results of the worked solution


def test_generated_arithmetic_two_answer_uses_slips():
    for q in to_two_answer(load_task("gen/arithmetic", n=50, seed=2)):
        assert int(q.meta["two_answer"]["distractor"]) in q.meta["wrong_candidates"]


@pytest.mark.parametrize("name", ["squad", "narrativeqa"])
def test_free_form_text_gets_another_answer_about_the_same_passage(name):
    tasks = to_two_answer(load_task(name), seed=0)
    rules = [q.meta["two_answer"]["rule"] for q in tasks]
    near = rules.count("same-passage") + rules.count("same-article")
    assert len(tasks) >= 100 and near > 0.9 * len(rules), (rules.count("same-passage"), near)
    for q in tasks:
        assert q.choices[q.answer] == q.meta["answers"][0] and q.context


async def test_model_picks_the_most_plausible_distractor():
    # The scripted model sees only the wrong choices (a, b, d as A, B, C) and names C -> "d".
    model = get_model("scripted/picker", outputs=[ModelOutput(text="C")], cycle=True)
    tasks = load_task("mmlu", n=3, seed=0)
    out = await to_two_answer_by_model(tasks, model, seed=0)
    for original, q in zip(tasks, out, strict=True):
        wrong = [c for i, c in enumerate(original.choices) if i != original.answer]
        assert q.meta["two_answer"]["distractor"] == wrong[2] and q.meta["two_answer"]["rule"] == "model"
