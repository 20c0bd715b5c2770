"""The IDA loop with the real CPU learner: IDA learns a small task from amplified targets alone (zero
ground-truth labels), the baseline's labels are counted, a failing distiller is reported clearly, and the label
counter catches an amplifier that peeks at ground truth."""

from __future__ import annotations

import asyncio

import pytest

torch = pytest.importorskip("torch")

from agents.algorithmic import (  # noqa: E402
    AlgorithmicOverseer,
    GraphNetDistiller,
    GraphNetStudent,
    PermutationPowering,
    UnionFind,
)
from oversight.ida import Baseline, DistillationError, Example, GroundTruth, IDAResult, run_ida  # noqa: E402
from oversight.ida.report import iteration_table, plot_accuracy, summary_table  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def small_run(task, *, iterations, baseline=False, steps=150, train=768, seed=0, truth=None, amplifier=None):
    truth = truth or task.ground_truth()

    def learner():
        return GraphNetStudent.initial(task, seed=seed, hidden=32)

    return truth, asyncio.run(
        run_ida(
            amplifier or AlgorithmicOverseer(task),
            GraphNetDistiller(task, steps=steps, seed=seed),
            learner(),
            train_queries=lambda k: task.train_queries(train, 100 + k, max_level=k),
            eval_queries=task.eval_queries(200, 10**6),
            truth=truth,
            iterations=iterations,
            baseline=Baseline(GraphNetDistiller(task, steps=steps, seed=seed), learner()) if baseline else None,
            task=task.name,
        )
    )


def test_ida_learns_union_find_from_amplified_targets_alone():
    task = UnionFind(1)
    truth, res = small_run(task, iterations=task.levels)
    accuracy = [r.ida_accuracy for r in res.iterations]
    assert accuracy[-1] >= 0.9 and accuracy[-1] >= accuracy[0] + 0.3, accuracy
    # zero ground-truth labels trained on; the ones used were held-out scoring and the after-the-fact audit only
    assert res.labels["ida_train"] == 0 and truth.used["train"] == 0
    assert res.labels["eval"] == 200 and res.labels["audit"] == 768 * task.levels
    assert res.final.target_accuracy is not None and res.final.target_accuracy >= 0.9
    assert res.overseer["oracle_calls"] > 0 and res.overseer["student_calls"] > 0
    assert res.iterations[1].overseer["student_calls"] == 0  # level 1: the overseer alone, from primitive steps
    assert all(r.examples + r.unusable_targets == 768 for r in res.iterations[1:])
    final = res.students["ida"]
    assert final.identity == res.student == f"graphnet/union-find/d1/s0/graphnet/it{task.levels}"


def test_the_baseline_trains_on_counted_ground_truth_of_the_same_queries():
    task = UnionFind(1)
    truth, res = small_run(task, iterations=2, baseline=True, steps=40, train=256)
    assert res.labels["baseline_train"] == 2 * 256 == truth.used["train"] and res.labels["ida_train"] == 0
    assert all(r.baseline_accuracy is not None for r in res.iterations)
    assert (
        {"amplify", "distil", "baseline", "eval"}
        == set(res.iterations[1].seconds)
        == set(res.iterations[1].cpu_seconds)
    )
    assert all(v >= 0 for v in res.iterations[1].cpu_seconds.values()) and res.iterations[1].cpu_seconds["distil"] > 0


class PeekingOverseer(AlgorithmicOverseer):
    """Cheats: takes its targets from ground truth. The label counter must show it."""

    def __init__(self, task, truth: GroundTruth) -> None:
        super().__init__(task)
        self.truth = truth

    async def amplify(self, queries, student):
        return self.truth.labels(queries, "train")


def test_an_amplifier_that_peeks_at_ground_truth_is_counted():
    task = UnionFind(1)
    truth = task.ground_truth()
    _, res = small_run(task, iterations=1, steps=20, train=128, truth=truth, amplifier=PeekingOverseer(task, truth))
    assert res.labels["ida_train"] == 128


class BrokenDistiller:
    name = "broken"

    async def distil(self, examples, student, iteration):
        raise RuntimeError("trainer ran out of memory")


def test_a_distiller_that_raises_gives_a_clear_error():
    task = PermutationPowering(1)
    with pytest.raises(DistillationError, match=r"distiller 'broken' failed at iteration 1 on 64 examples: .*memory"):
        asyncio.run(
            run_ida(
                AlgorithmicOverseer(task),
                BrokenDistiller(),
                GraphNetStudent.initial(task),
                train_queries=lambda k: task.train_queries(64, k, max_level=k),
                eval_queries=task.eval_queries(10, 1),
                truth=task.ground_truth(),
                iterations=2,
            )
        )


def test_the_learner_rejects_targets_outside_the_answer_space_by_example():
    task = PermutationPowering(1)
    queries = task.train_queries(4, seed=0)
    examples = [Example(q, 3, "amplified") for q in queries[:3]] + [Example(queries[3], 42, "amplified")]
    distiller = GraphNetDistiller(task, steps=1)
    with pytest.raises(ValueError, match=r"example 3 \(amplified, args .*\): .*42 is not an element of 0\.\.7"):
        asyncio.run(distiller.distil(examples, GraphNetStudent.initial(task), 1))
    with pytest.raises(ValueError, match="no examples"):
        asyncio.run(distiller.distil([], GraphNetStudent.initial(task), 1))
    with pytest.raises(ValueError, match="must be positive"):
        GraphNetDistiller(task, steps=0)


def test_distilling_leaves_the_previous_student_untouched():
    task = PermutationPowering(1)
    m0 = GraphNetStudent.initial(task, seed=1)
    before = {k: v.clone() for k, v in m0.net.state_dict().items()}
    queries = task.train_queries(64, seed=0)
    labels = task.ground_truth().labels(queries, "train")
    examples = [Example(q, y, "ground-truth") for q, y in zip(queries, labels, strict=True)]
    m1 = asyncio.run(GraphNetDistiller(task, steps=5).distil(examples, m0, 1))
    assert all(torch.equal(before[k], v) for k, v in m0.net.state_dict().items())
    assert not all(torch.equal(before[k], v) for k, v in m1.net.state_dict().items())
    assert m1.identity.endswith("/it1") and m0.identity.endswith("/it0")
    answers = asyncio.run(m1.answer(queries))
    assert all(isinstance(a, int) and 0 <= a < task.size for a in answers)


def test_bad_loop_arguments_are_refused():
    task = UnionFind(1)
    common = dict(train_queries=lambda k: [], truth=task.ground_truth())
    with pytest.raises(ValueError, match="iterations"):
        asyncio.run(
            run_ida(
                AlgorithmicOverseer(task),
                GraphNetDistiller(task),
                GraphNetStudent.initial(task),
                eval_queries=task.eval_queries(1, 0),
                iterations=0,
                **common,
            )
        )
    with pytest.raises(ValueError, match="eval_queries"):
        asyncio.run(
            run_ida(
                AlgorithmicOverseer(task),
                GraphNetDistiller(task),
                GraphNetStudent.initial(task),
                eval_queries=[],
                iterations=1,
                **common,
            )
        )


def test_tables_and_plot_of_runs(tmp_path):
    task = UnionFind(1)
    runs = [small_run(task, iterations=2, baseline=True, steps=5, train=64, seed=s)[1] for s in (0, 1)]
    again = [IDAResult.model_validate_json(r.model_dump_json()) for r in runs]  # results survive JSON
    assert [r.model_dump() for r in again] == [r.model_dump() for r in runs]
    assert runs[0].student == "graphnet/union-find/d1/s0/graphnet/it2"
    summary = summary_table({"union-find": runs})
    assert "| union-find | 2 | 2 |" in summary and "| 0 / 128 |" in summary
    table = iteration_table(runs)
    assert table.count("\n") == 2 + 2  # header, rule, iterations 0..2
    png = plot_accuracy({"union-find": runs, "again": again}, tmp_path / "ida.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
