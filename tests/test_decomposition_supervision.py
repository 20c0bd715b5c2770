"""Oversight of decompositions: process vs outcome supervision on hand-built trees, wrong steps caught against
gold steps (gold decomposer + error-injecting gold solver), the step judge's views, and `oversight compare`."""

from __future__ import annotations

import re

import pytest
from decomposition_support import GoldJudge

from agents import GoldDecomposer, GoldSolver, StepJudge
from agents.step_judge import CHECK_CHOICES, StepInput
from judges import LLMJudge
from oversight.cli import main
from oversight.comparison import compare
from oversight.experiment import Experiment, run_experiment
from oversight.models import get_model
from oversight.tasks import load_task
from oversight.tasks.steps import gold_decomposition
from oversight.tree import new_tree
from oversight.types import Question
from protocols.decomposition import (
    DecompositionConfig,
    DecompositionResult,
    GrownTree,
    StepCheck,
    decomposition,
    oversee,
    score,
)

Q = Question(id="hand/0", text="How many marbles do Ann and Bob have together?", choices=["12", "13"], answer=0)


def rejecting(*answers: str):
    """A scripted judge that rejects steps whose proposed answer is one of `answers` and accepts the rest, whatever
    order the two choices are shown in."""

    def fn(messages, config):
        user = messages[-1].content
        proposed = re.findall(r"^\| Proposed answer: (.*)$", user, flags=re.M)[-1]
        verdict = CHECK_CHOICES[1] if proposed in answers else CHECK_CHOICES[0]
        letter = re.search(rf"^([AB]): {re.escape(verdict)}$", user, flags=re.M).group(1)
        return f"Answer: {letter}\nConfidence: 90%"

    return LLMJudge(get_model("scripted/judge", fn=fn, record_calls=True), use_logprobs=False)


def hand_tree(root: str, step1: str, step2: str) -> GrownTree:
    """Q -> (Ann's marbles, Bob's marbles); gold: 5 and 7, answer 12."""
    g = new_tree(mode="factored")
    for node, question, answer, gold in [
        ("q", Q.text, root, "12"),
        ("q.1", "How many marbles does Ann have?", step1, "5"),
        ("q.2", "How many marbles does Bob have?", step2, "7"),
    ]:
        g.add_node(node, question=question, depth=node.count("."), status="answered", answer=answer, gold=gold,
                   gold_correct=answer == gold, decomposition=None, turns=[])  # fmt: skip
    g.add_edge("q", "q.1", kind="child", index=0)
    g.add_edge("q", "q.2", kind="child", index=1)
    used = {"q": [StepInput("Subquestion 1", "How many marbles does Ann have?", step1),
                  StepInput("Subquestion 2", "How many marbles does Bob have?", step2)]}  # fmt: skip
    return GrownTree(g, [], used, root, Q.choices.index(root) if root in Q.choices else None, 3, None)


async def test_process_and_outcome_supervision_scores_on_a_hand_built_tree():
    # Right answer (12) reached through a wrong step (Bob: 8, and 5 + 8 = 12 by luck); the judge flags the 8.
    tree = hand_tree("12", "5", "8")
    judge = rejecting("8")
    out = await oversee(tree, Q, StepJudge(judge), ["process", "outcome"], truth=True)
    process, outcome = out.scores["process"], out.scores["outcome"]
    assert (process.accepted, process.correct) == (False, False)  # rejects a right answer for its wrong step
    assert (process.checked, process.gold_steps, process.wrong_steps, process.caught, process.false_alarms) == (
        3, 3, 1, 1, 0,
    )  # fmt: skip
    assert (outcome.accepted, outcome.correct, outcome.checked, outcome.wrong_steps) == (True, True, 1, 0)
    assert [(c.node, c.overseer, c.accepted) for c in out.checks] == [
        ("q", "process", True), ("q.1", "process", True), ("q.2", "process", False), ("q", "outcome", True),
    ]  # fmt: skip
    assert tree.graph.nodes["q.2"]["process"]["accepted"] is False and tree.graph.nodes["q"]["outcome"]["accepted"]

    # Wrong answer (13) from a wrong step (Bob: 8): the process judge catches the step, the outcome judge sees none.
    tree = hand_tree("13", "5", "8")
    out = await oversee(tree, Q, StepJudge(rejecting("8")), ["process", "outcome"], truth=False)
    process, outcome = out.scores["process"], out.scores["outcome"]
    assert (process.accepted, process.correct, process.wrong_steps, process.caught) == (False, True, 2, 1)
    assert (outcome.accepted, outcome.correct, outcome.wrong_steps, outcome.caught) == (True, False, 1, 0)


async def test_what_the_step_judge_sees():
    judge = rejecting()
    await oversee(hand_tree("12", "5", "7"), Q, StepJudge(judge), ["process", "outcome"], truth=True)
    prompts = [msgs[-1].content for msgs in judge.model.provider.calls]
    root_process = next(p for p in prompts if "Final step" in p)
    assert "Subquestion 1" in root_process and "Subquestion 2" in root_process  # the results it combined
    leaf = next(p for p in prompts if "Ann have?" in p.split("Checked step")[-1] and "Subquestion" not in p)
    assert "How many marbles do Ann and Bob" not in leaf  # a leaf is checked on its own
    outcome = prompts[-1]
    assert "Subquestion" not in outcome and f"| Question: {Q.text}" in outcome and "| Proposed answer: 12" in outcome


def test_score_counts():
    checks = [
        StepCheck(node="q", overseer="process", accepted=True, gold_correct=False),
        StepCheck(node="q.1", overseer="process", accepted=False, gold_correct=True),
        StepCheck(node="q.2", overseer="process", accepted=False, gold_correct=False),
        StepCheck(node="q.3", overseer="process", accepted=None, gold_correct=False),  # invalid check: not counted
        StepCheck(node="q.4", overseer="process", accepted=True, gold_correct=None),  # no gold: not a gold step
    ]
    s = score(checks, truth=False)
    assert (s.accepted, s.correct, s.checked, s.gold_steps, s.wrong_steps, s.caught, s.false_alarms) == (
        False, True, 4, 3, 2, 1, 1,
    )  # fmt: skip
    assert score([StepCheck(node="q", overseer="outcome", accepted=None)], truth=True).accepted is None
    assert score([StepCheck(node="q", overseer="outcome", accepted=True)], truth=None).correct is None


async def test_the_choice_order_is_counterbalanced_per_step():
    always_a = LLMJudge(get_model("scripted/a", outputs=["Answer: A"], cycle=True), use_logprobs=False)
    verdicts = [
        await StepJudge(always_a).check("How many?", "5", key=f"k{i}", seed=0) for i in range(40)
    ]  # a judge that always picks the first answer shown accepts only where "Yes" happens to be first
    accepted = [v.accepted for v in verdicts]
    assert 10 < sum(accepted) < 30 and all(v.accepted == (v.order[0] == 0) for v in verdicts)


@pytest.mark.parametrize("task", ["gen/sequential-assignments", "gen/permutation-power", "gsm8k", "fanoutqa"])
async def test_a_gold_judge_catches_exactly_the_injected_wrong_steps(task: str):
    options = {"difficulty": 1} if task.startswith("gen/") else {}
    if task == "gen/permutation-power":
        options["power"] = 4
    cfg = DecompositionConfig(decomposer="gold", solver="gold", error_rate=0.4, breadth=50, max_depth=2,
                              two_choice=task != "fanoutqa")  # fmt: skip
    wrong = injected = 0
    for q in load_task(task, n=6, seed=1, **options):
        gold = gold_decomposition(q)
        answers = {s.question: s.answer for s in _walk(gold)}
        solver = GoldSolver(gold, error_rate=0.4, question_id=q.id)
        out = await decomposition(q, GoldDecomposer(gold), solver, cfg, judge=GoldJudge(answers))
        res = out.result
        g = res.graph()
        steps = [n for n in g if n != "q"]
        bad = {n for n in steps if g.nodes[n]["gold_correct"] is False}
        hit = {n for n in steps if any(t.meta.get("injected") for t in out.turns if t.meta.get("node") == n)}
        assert bad == hit  # a step is wrong against gold exactly when the solver was made to err there
        p = res.supervision["process"]
        assert p.caught == p.wrong_steps and p.false_alarms == 0 and p.gold_steps == len(g)
        assert res.supervision["outcome"].correct is True  # knowing the gold, the judge is never fooled
        wrong, injected = wrong + p.wrong_steps, injected + len(hit)
    assert wrong >= injected > 0


def _walk(step):
    yield step
    for s in step.steps:
        yield from _walk(s)


def test_compare_reports_both_supervision_accuracies(tmp_path, capsys):
    spec = Experiment.from_dict(
        {
            "name": "oversight",
            "tasks": [{"dataset": "gen/sequential-assignments", "n": 8, "options": {"difficulty": 2}}],
            "protocols": [
                {
                    "name": "decomposition",
                    "decomposer": "gold",
                    "solver": "gold",
                    "error_rate": 0.3,
                    "breadth": 12,
                    "max_depth": 1,
                }
            ],  # fmt: skip
            "judges": [{"model": "scripted/coin", "options": {"fn": "oversight.experiment.demo_scripts:hash_judge"}}],
            "cache": False,
        }
    )
    result = run_experiment(spec, output_dir=tmp_path, progress="off")
    assert result.status == "complete" and result.errors == 0
    c = compare(result.run_dir)
    rows = {r["overseer"]: r for r in c.rows("supervision")}
    assert set(rows) == {"process", "outcome"}
    results = [DecompositionResult.from_meta(ep.meta) for ep in _episodes(result.run_dir)]
    for who, row in rows.items():
        scores = [r.supervision[who] for r in results]
        judged = [s for s in scores if s.correct is not None]
        assert row["n"] == len(judged) and row["accuracy"] == sum(s.correct for s in judged) / len(judged)
        assert row["wrong_steps"] == sum(s.wrong_steps for s in scores) and row["caught"] == sum(
            s.caught for s in scores
        )
    assert rows["process"]["wrong_steps"] > rows["outcome"]["wrong_steps"]  # process sees every step
    text = c.table("supervision")
    assert "overseer" in text and "catch rate" in text and "process" in text
    assert "Oversight: process and outcome supervision" in c.report(tmp_path / "report.md").read_text()
    assert main(["compare", str(result.run_dir), "--no-report", "--table", "supervision", "--resamples", "20"]) == 0
    out = capsys.readouterr().out
    assert "overseer" in out and "false alarms" in out and out.count("decomposition") == 2


def _episodes(run_dir):
    from oversight.store import iter_episodes

    return list(iter_episodes(run_dir))
