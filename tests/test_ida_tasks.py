"""The algorithmic IDA tasks: ground truth agrees with the generators, the overseer's decompositions are exact
when every sub-answer is right (and wrong when the student is), only offered primitive steps run, and the text
codecs read back what they write."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.algorithmic import (
    TASKS,
    UNREACHABLE,
    AlgorithmicOverseer,
    PermutationPowering,
    Query,
    SequentialAssignments,
    ShortestPath,
    algorithmic_task,
)
from agents.algorithmic.tasks import AlgorithmicTask, halving_level

ALL = [(name, d) for name in TASKS for d in (1, 2)]


class TruthStudent:
    """Answers from the task's solver: what a perfect M would say."""

    identity = "truth"

    def __init__(self, task: AlgorithmicTask) -> None:
        self.task = task
        self.asked = 0

    async def answer(self, queries):
        self.asked += len(queries)
        return [self.task.solve(q.instance.data, q.args) for q in queries]


class ConstantStudent:
    """Always gives the same (valid but mostly wrong) answer."""

    identity = "constant"

    def __init__(self, value) -> None:
        self.value = value

    async def answer(self, queries):
        return [self.value for _ in queries]


def gold(q):
    return q.meta["numeric"] if "numeric" in q.meta else q.answer == 0


@pytest.mark.parametrize(("name", "difficulty"), ALL)
def test_ground_truth_matches_the_generator_on_its_questions(name, difficulty):
    task = algorithmic_task(name, difficulty)
    questions = task.generate(150, seed=3)
    queries = [task.top_query(q) for q in questions]
    truth = task.ground_truth()
    assert truth.labels(queries, "eval") == [gold(q) for q in questions]
    assert truth.used == {"eval": 150}
    assert {task.level(q.args) for q in queries} <= set(range(1, task.levels + 1))


@pytest.mark.parametrize(("name", "difficulty"), ALL)
def test_one_level_of_amplification_over_a_perfect_student_is_exact(name, difficulty):
    task = algorithmic_task(name, difficulty)
    queries = task.train_queries(120, seed=5) + task.eval_queries(30, seed=6)
    student = TruthStudent(task)
    overseer = AlgorithmicOverseer(task)
    targets = asyncio.run(overseer.amplify(queries, student))
    assert targets == task.ground_truth().labels(queries, "audit")
    counts = overseer.counts()
    assert counts["overseer_calls"] == len(queries) and counts["student_calls"] == student.asked > 0
    assert counts["oracle_calls"] > 0 and counts["unusable"] == 0
    assert counts["student_batches"] <= 2  # every decomposition's sub-questions of one round go in one batch


@pytest.mark.parametrize("name", list(TASKS))
def test_full_depth_amplification_needs_no_student_and_is_exact(name):
    task = algorithmic_task(name, 1)
    n = 8 if name in ("union-find", "shortest-path") else 40  # the graph decompositions branch 2 * nodes ways
    queries = task.train_queries(n, seed=8) + task.eval_queries(n // 4, seed=9)
    overseer = AlgorithmicOverseer(task, depth=task.levels)
    targets = asyncio.run(overseer.amplify(queries, ConstantStudent(None)))
    assert targets == task.ground_truth().labels(queries, "audit")
    assert overseer.counts()["student_calls"] == 0


@pytest.mark.parametrize(
    ("task", "wrong"), [(PermutationPowering(1), 0), (ShortestPath(1), 0), (SequentialAssignments(1), "x0")]
)
def test_targets_follow_the_student_not_the_truth(task, wrong):
    # The overseer holds no answers: above level 1 a wrong student makes its targets wrong.
    queries = [q for q in task.train_queries(300, seed=2) if task.level(q.args) >= 2]
    targets = asyncio.run(AlgorithmicOverseer(task).amplify(queries, ConstantStudent(wrong)))
    truth = task.ground_truth().labels(queries, "audit")
    assert sum(t == y for t, y in zip(targets, truth, strict=True)) < 0.5 * len(queries)


def test_unusable_sub_answers_give_no_target_and_are_counted():
    task = PermutationPowering(1)
    queries = [q for q in task.train_queries(50, seed=1) if q.args[0] >= 2]
    overseer = AlgorithmicOverseer(task)
    targets = asyncio.run(overseer.amplify(queries, ConstantStudent(99)))  # 99 is no element of 0..7
    assert targets == [None] * len(queries) and overseer.counts()["unusable"] == len(queries)
    targets = asyncio.run(overseer.amplify(queries, ConstantStudent("three")))
    assert targets == [None] * len(queries)


def test_sub_questions_outside_the_space_are_not_asked():
    task = SequentialAssignments(1)
    queries = [q for q in task.train_queries(80, seed=4) if task.level(q.args) >= 2]
    overseer = AlgorithmicOverseer(task)
    asyncio.run(overseer.amplify(queries, ConstantStudent("x9")))  # no such variable: H stops after one ask
    assert overseer.counts()["student_calls"] == len(queries) and overseer.counts()["unusable"] == len(queries)


def test_only_offered_primitive_steps_run():
    task = PermutationPowering(1)
    steps = task.steps_for(task.eval_queries(1, seed=0)[0].instance)
    assert isinstance(steps("image", 0), int) and steps.calls == 1
    with pytest.raises(ValueError, match="'line' is not offered"):
        steps("line", 0)
    with pytest.raises(ValueError, match="'_adj' is not offered"):
        steps("_adj")


def test_curriculum_caps_the_level_and_covers_it():
    for name in TASKS:
        task = algorithmic_task(name, 2)
        for level in range(1, task.levels + 1):
            levels = {task.level(q.args) for q in task.train_queries(400, seed=level, max_level=level)}
            assert max(levels) == level
        assert {task.level(q.args) for q in task.train_queries(600, seed=0)} == set(range(1, task.levels + 1))
    with pytest.raises(ValueError, match="max_level"):
        algorithmic_task("union-find").train_queries(10, 0, max_level=0)


def test_halving_levels():
    assert [halving_level(b) for b in (1, 2, 3, 4, 5, 8, 9, 16, 17)] == [1, 2, 3, 3, 4, 4, 5, 5, 6]


def test_unknown_task_and_foreign_questions_are_refused():
    with pytest.raises(ValueError, match="unknown algorithmic task"):
        algorithmic_task("wildcard-search")
    q = algorithmic_task("union-find").generate(1, 0)[0]
    with pytest.raises(ValueError, match="not a permutation-power question"):
        PermutationPowering(1).instance(q)
    with pytest.raises(ValueError, match="difficulty"):
        ShortestPath(7)


@pytest.mark.parametrize(("name", "difficulty"), ALL)
def test_encodings_have_the_declared_shapes(name, difficulty):
    task = algorithmic_task(name, difficulty)
    queries = task.train_queries(16, seed=1)
    arr = task.encode(queries)
    assert arr.nodes.shape == (16, task.n_nodes, task.node_features)
    assert arr.adj.shape == (16, task.n_nodes, task.n_nodes) and arr.adj.any(axis=(1, 2)).all()
    assert (arr.edges is None) == (task.edge_features == 0)
    assert arr.token.max() < task.n_tokens and (arr.readout is None) == (task.n_classes == 0)
    truth = task.ground_truth().labels(queries, "audit")
    for q, y in zip(queries, truth, strict=True):  # every correct answer is one the learner can give
        indices = task.target_indices(q, y)
        assert indices and all(task.answer_at(q, i) == y for i in indices)


def _answers(task: AlgorithmicTask) -> st.SearchStrategy:
    if task.name == "permutation-power":
        return st.integers(0, task.size - 1)
    if task.name == "union-find":
        return st.booleans()
    if task.name == "shortest-path":
        return st.one_of(st.integers(0, task.max_distance), st.just(UNREACHABLE))
    return st.one_of(st.integers(0, 99), st.sampled_from(task.variables))


@pytest.mark.parametrize("name", list(TASKS))
def test_text_codec_reads_back_what_it_writes(name):
    task = algorithmic_task(name, 2)
    query = task.eval_queries(1, seed=0)[0]

    @given(_answers(task), st.sampled_from(["", "The answer is ", "Answer: "]), st.sampled_from(["", ".", " \n"]))
    def check(answer, before, after):
        assert task.parse(before + task.format(answer) + after) == answer

    check()
    assert task.parse("I do not know") is None
    assert query.instance.context in task.prompt(query)


def test_prompts_name_the_query():
    rng = random.Random(0)
    task = ShortestPath(1)
    inst = task.eval_queries(1, seed=0)[0].instance
    args = task.sample_args(inst.data, rng, task.levels)
    assert f"from {args[0]} to {args[1]} that uses at most {args[2]} roads" in task.prompt(Query(inst, args))


def test_shortest_path_split_by_first_road():
    task = ShortestPath(1, split="first-road")
    assert task.levels == task.max_hops and task.primitive_steps == {"weight", "neighbours"}
    queries = task.train_queries(100, seed=3) + task.eval_queries(20, seed=4)
    truth = task.ground_truth().labels(queries, "audit")
    overseer = AlgorithmicOverseer(task)
    assert asyncio.run(overseer.amplify(queries, TruthStudent(task))) == truth
    middle = AlgorithmicOverseer(ShortestPath(1))
    asyncio.run(middle.amplify(queries, TruthStudent(ShortestPath(1))))
    assert overseer.counts()["student_calls"] < middle.counts()["student_calls"] / 2  # one per road, not per node
    deep = AlgorithmicOverseer(task, depth=task.levels)
    assert asyncio.run(deep.amplify(queries[:10], ConstantStudent(None))) == truth[:10]
    assert {task.level(q.args) for q in task.train_queries(300, 0, max_level=3)} == {1, 2, 3}
    with pytest.raises(ValueError, match="split"):
        ShortestPath(1, split="random")


def test_assignment_targets_may_copy_any_line_but_not_unknown_constants():
    # A student's pointer can copy a constant from outside the segment; the overseer then passes that (wrong)
    # answer on as a target, which the learner must be able to train on. A constant nowhere in the program is
    # no answer it can give.
    task = SequentialAssignments(2)
    q = next(q for q in task.train_queries(200, seed=1) if q.args[2] - q.args[1] < task.lines)
    program = q.instance.data["program"]
    outside = [j for j, line in enumerate(program) if not q.args[1] <= j < q.args[2] and line.split("= ")[1].isdigit()]
    j = outside[0]
    value = int(program[j].split("= ")[1])
    assert j in task.target_indices(q, value) and task.answer_at(q, j) == value
    missing = next(c for c in range(100) if all(line.split("= ")[1] != str(c) for line in program))
    with pytest.raises(ValueError, match=f"answer {missing} is neither a variable .* nor a constant assigned"):
        task.target_indices(q, missing)
