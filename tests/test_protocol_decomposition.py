"""The decomposition protocol with scripted and programmatic agents: concurrency and visibility of factored
children, sequential steps, depth/breadth/budget limits, bad decompositions, failing solvers, the stored tree."""

from __future__ import annotations

import asyncio
import json

import networkx as nx
import pytest
from decomposition_support import ListDecomposer, LoggingSolver, Q, asked, play, role_of
from pydantic import ValidationError

from agents import GoldDecomposer, GoldSolver, LLMCombiner, LLMDecomposer, LLMSolver
from judges import LLMJudge
from oversight.episode import Episode
from oversight.experiment import Experiment, SpecError, run_experiment
from oversight.models import get_model
from oversight.models.base import ScriptExhaustedError
from oversight.store import EpisodeWriter, iter_episodes
from oversight.tasks import load_task
from oversight.tasks.steps import gold_decomposition
from oversight.tree import preorder, tree_from_json, tree_to_json
from protocols.decomposition import (
    DecompositionConfig,
    DecompositionResult,
    check_subquestions,
    decomposition,
    question_key,
)


def scripted(fn=play, record: bool = False, **kw):
    return get_model("scripted/decomp", fn=lambda m, c: fn(m, c, **kw), record_calls=record)


def llm_agents(model):
    return dict(decomposer=LLMDecomposer(model), solver=LLMSolver(model), combiner=LLMCombiner(model))


async def run(cfg: DecompositionConfig, q=Q, model=None, judge=True, **agents):
    model = model or scripted()
    parts = {**llm_agents(model), **agents}
    return await decomposition(
        q, parts["decomposer"], parts["solver"], cfg, combiner=parts["combiner"],
        judge=LLMJudge(model) if judge else None,
    )  # fmt: skip


def nodes(outcome) -> dict[str, dict]:
    g = outcome.result.graph()
    return {n: g.nodes[n] for n in preorder(g)}


# -- concurrency and visibility -------------------------------------------------------------------------------------


async def test_factored_children_run_concurrently():
    solver = LoggingSolver(barrier=asyncio.Barrier(3))  # three leaves must all be waiting at once to pass it
    decomposer = ListDecomposer(["How many red?", "How many blue?", "How many green?"])
    out = await run(DecompositionConfig(supervision=[]), decomposer=decomposer, solver=solver, combiner=solver,
                    judge=False)  # fmt: skip
    starts = [i for i, e in enumerate(solver.log) if e.startswith("start")]
    ends = [i for i, e in enumerate(solver.log) if e.startswith("end")]
    assert len(starts) == len(ends) == 3 and max(starts) < min(ends)  # all three began before any finished
    assert all(n["status"] == "answered" for n in nodes(out).values())


async def test_sequential_steps_run_in_order_and_see_earlier_results():
    solver = LoggingSolver()
    decomposer = ListDecomposer(["How many red?", "How many blue?", "How many green?"])
    out = await run(DecompositionConfig(mode="sequential", supervision=[]), decomposer=decomposer, solver=solver,
                    combiner=solver, judge=False)  # fmt: skip
    assert solver.log == [f"{e} q.{i}" for i in (1, 2, 3) for e in ("start", "end")]
    g = out.result.graph()
    assert [(u, v) for u, v, d in g.edges(data=True) if d["kind"] == "then"] == [("q.1", "q.2"), ("q.2", "q.3")]

    model = scripted(record=True)
    await run(DecompositionConfig(mode="sequential", max_depth=1), model=model)
    calls = model.provider.calls
    step2 = next(m for m in calls if role_of(m) == "solver" and asked(m).startswith("Part 2"))[-1].content
    step1 = next(m for m in calls if role_of(m) == "solver" and asked(m).startswith("Part 1"))[-1].content
    assert "Results of the earlier steps" in step2 and "Part 1 of" in step2 and "Answer: 6" in step2
    assert "Results of the earlier steps" not in step1  # the first step has nothing earlier to see
    assert Q.text in step1 and Q.text in step2  # each step knows the question it serves


async def test_factored_children_never_see_parent_or_siblings():
    model = scripted(record=True)
    out = await run(DecompositionConfig(max_depth=1), model=model)
    children = [m for m in model.provider.calls if role_of(m) == "solver"]
    assert len(children) == 2
    for msgs in children:
        system, user = msgs[0].content, msgs[-1].content
        mine = asked(msgs)
        sibling = "Part 2" if mine.startswith("Part 1") else "Part 1"
        assert Q.text not in user and "marbles" not in user  # not the parent's question
        assert sibling not in system + user and "Results" not in user  # no sibling, no earlier results
        assert Q.context in system  # agents read the hidden source (agents_see_context)
    combine = next(m for m in model.provider.calls if role_of(m) == "combiner")[-1].content
    assert "Part 1" in combine and "Part 2" in combine and Q.text in combine  # the parent sees its children
    assert "Answers:\nA: " in combine and "12" in combine and "15" in combine  # and the root's choices
    assert out.result.answer_correct is not None


async def test_judges_never_see_the_context_and_agents_can_be_denied_it():
    model = scripted(record=True)
    await run(DecompositionConfig(max_depth=1, agents_see_context=False), model=model)
    assert all(Q.context not in m.content for msgs in model.provider.calls for m in msgs)
    model = scripted(record=True)
    await run(DecompositionConfig(max_depth=1), model=model)
    judged = [msgs for msgs in model.provider.calls if role_of(msgs) == "judge"]
    assert judged and all(Q.context not in m.content for msgs in judged for m in msgs)


# -- limits ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("depth", "breadth"), [(1, 2), (2, 2), (3, 2), (2, 3)])
async def test_depth_and_breadth_limits_hold(depth: int, breadth: int):
    model = scripted(n=breadth, deep=True)  # this decomposer splits every question it is asked to
    cfg = DecompositionConfig(max_depth=depth, breadth=breadth, budget=1000, supervision=[])
    out = await run(cfg, model=model, judge=False)
    ns = nodes(out)
    assert max(n["depth"] for n in ns.values()) == depth
    assert len(ns) == sum(breadth**k for k in range(depth + 1))  # a full tree, no deeper and no wider
    assert all(n["decomposition"] == "leaf" for n in ns.values() if n["depth"] == depth)
    assert all(n["status"] == "answered" for n in ns.values())
    assert out.result.calls == len(ns) + sum(1 for n in ns.values() if n["depth"] < depth)


async def test_more_subquestions_than_the_breadth_is_retried_then_invalid():
    decomposer = ListDecomposer(["a?", "b?", "c?", "d?"])
    out = await run(DecompositionConfig(breadth=3, max_retries=2, supervision=[]), decomposer=decomposer, judge=False)
    root = nodes(out)["q"]
    assert len(decomposer.calls) == 3 and root["attempts"] == 3 and root["decomposition"] == "invalid"
    assert root["error"] == "4 subquestions, more than the breadth of 3"
    assert decomposer.calls[1].extra["feedback"] == root["error"]  # the retry is told what was wrong
    assert root["status"] == "answered" and out.result.invalid_nodes == ["q"]  # on_invalid = "solve"

    stop = DecompositionConfig(breadth=3, max_retries=0, on_invalid="stop", supervision=[])
    out = await run(stop, decomposer=ListDecomposer(["a?", "b?", "c?", "d?"]), judge=False)
    assert nodes(out)["q"]["status"] == "invalid" and out.result.answer is None
    ep = out.episode()
    assert ep.final.valid is False and ep.correct is None


async def test_budget_stops_the_tree_and_records_where():
    model = scripted(n=3, deep=True)
    cfg = DecompositionConfig(max_depth=3, breadth=3, budget=7, supervision=[])
    out = await run(cfg, model=model, judge=False)
    ns = nodes(out)
    assert out.result.calls == 7 == sum(len([t for t in out.turns if t.meta.get("node") == n]) for n in ns)
    stopped = [n for n, a in ns.items() if a["status"] == "budget"]
    assert stopped and out.result.stopped_at in stopped and ns["q"]["status"] == "budget"
    assert out.result.answer is None and out.episode().final.valid is False


async def test_a_budget_of_one_call_decomposes_and_stops():
    out = await run(DecompositionConfig(budget=1, supervision=[]), judge=False)
    root = nodes(out)["q"]
    assert out.result.calls == 1 and root["decomposition"] == "split" and out.result.stopped_at is not None


@pytest.mark.parametrize("field", ["max_depth", "breadth", "budget"])
def test_limits_below_one_are_refused(field: str):
    with pytest.raises(ValidationError, match=field):
        DecompositionConfig(**{field: 0})
    spec = {
        "name": "bad",
        "tasks": [{"dataset": "gen/arithmetic", "n": 1}],
        "protocols": [{"name": "decomposition", field: 0}],
        "roles": {"solver": {"model": "scripted/s", "options": {"outputs": ["Answer: 1"]}}},
        "judges": [{"model": "scripted/j", "options": {"outputs": ["Answer: A"]}}],
    }
    with pytest.raises(SpecError, match=rf"protocols\[0\]\.{field}"):
        Experiment.from_dict(spec).check()


def test_inconsistent_configs_are_refused():
    with pytest.raises(ValidationError, match="needs decomposer = 'gold'"):
        DecompositionConfig(solver="gold")
    with pytest.raises(ValidationError, match="error_rate"):
        DecompositionConfig(error_rate=0.2)
    with pytest.raises(ValidationError, match="twice"):
        DecompositionConfig(supervision=["process", "process"])


# -- bad decompositions and failing agents ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ([Q.text, "How many?"], "subquestion 1 repeats the question itself (a cycle)"),
        (["How many?", "  "], "subquestion 2 is empty"),
        (["How many?", "how many"], "subquestions 1 and 2 are the same"),
        ("no json here", "no JSON object in the reply"),
        ('{"subquestions": ["a?", 7]}', "JSON does not match the schema: subquestions.1"),
        ('{"subquestions": ["a?"', "invalid JSON"),
        ('{"parts": ["a?"]}', "JSON does not match the schema"),
        (RuntimeError("decomposer broke"), "RuntimeError: decomposer broke"),
    ],
)
async def test_bad_decompositions_are_retried_then_recorded_invalid(reply, error):
    decomposer = ListDecomposer(reply)
    out = await run(DecompositionConfig(max_retries=1, supervision=[]), decomposer=decomposer, judge=False)
    root = nodes(out)["q"]
    assert len(decomposer.calls) == 2 and root["decomposition"] == "invalid" and error in root["error"]
    attempts = [t for t in out.turns if t.kind == "decomposition"]
    assert len(attempts) == 2 and all(t.meta["valid"] is False for t in attempts)
    assert root["status"] == "answered"  # then answered directly


def test_cycles_through_an_enclosing_question_are_caught():
    enclosing = (question_key("How many marbles in all?"), question_key("How many red marbles?"))
    assert check_subquestions(["How many marbles in all"], 3, enclosing).startswith(
        "subquestion 1 repeats a question it is part of (a cycle)"
    )
    assert check_subquestions(["Which ones are red?"], 3, enclosing) is None
    assert check_subquestions("not a list", 3, enclosing) == "subquestions must be a list of strings"


async def test_a_decomposer_that_repeats_its_question_never_hangs():
    def echo(messages, config):  # always hands the question back as its only subquestion
        if role_of(messages) == "decomposer":
            return json.dumps({"subquestions": [asked(messages)]})
        return play(messages, config)

    out = await asyncio.wait_for(run(DecompositionConfig(max_depth=5, supervision=[]), model=scripted(echo),
                                     judge=False), timeout=30)  # fmt: skip
    assert nodes(out)["q"]["decomposition"] == "invalid" and "cycle" in nodes(out)["q"]["error"]


async def test_a_solver_that_raises_gives_an_error_node_and_the_tree_goes_on():
    def flaky(messages, config):
        if role_of(messages) == "solver" and asked(messages).startswith("Part 2"):
            raise ValueError("solver broke on part 2")
        return play(messages, config)

    out = await run(DecompositionConfig(max_depth=1), model=scripted(flaky))
    ns = nodes(out)
    assert ns["q.2"]["status"] == "error" and "ValueError: solver broke on part 2" in ns["q.2"]["error"]
    assert ns["q.1"]["status"] == ns["q"]["status"] == "answered" and out.result.error_nodes == ["q.2"]
    combine = next(t for t in out.turns if t.kind == "combination")
    assert "(no answer: error)" in combine.seen[-1].content  # the parent sees the failure
    assert "q.2" not in {c.node for c in out.result.checks}  # nothing to check on a node without an answer


async def test_model_errors_fail_the_episode_and_cancel_siblings():
    solver = LoggingSolver()

    class Exhausted:
        identity = "program/exhausted"

        async def solve(self, view):
            if view.extra["node"] == "q.1":
                raise ScriptExhaustedError("out of outputs", model="scripted/x")
            return await solver.solve(view)

    decomposer = ListDecomposer(["a?", "b?", "c?"])
    with pytest.raises(ScriptExhaustedError):
        await run(DecompositionConfig(supervision=[]), decomposer=decomposer, solver=Exhausted(), combiner=solver,
                  judge=False)  # fmt: skip
    await asyncio.sleep(0.01)
    assert not [e for e in solver.log if e.startswith("end")]  # the siblings were cancelled, not left running


# -- answers, judgments and the stored tree -------------------------------------------------------------------------


async def test_root_answer_is_a_choice_and_the_episode_is_scored():
    out = await run(DecompositionConfig(max_depth=1))
    ep = out.episode(protocol="decomposition")
    assert ep.final.method == "program" and ep.final.valid and ep.final.choice == out.result.choice
    assert out.result.answer == Q.choices[out.result.choice]
    assert ep.correct == out.result.answer_correct == (out.result.choice == Q.answer)
    assert ep.meta["tree"] == out.result.tree and ep.meta["calls"] == out.result.calls


@pytest.mark.parametrize(
    ("reply", "choice"),
    [("So it is B.\nAnswer: B", "B"), ("Answer: 15 marbles", "15"), ("A: 12\nB: 15", None), ("Answer: 14", None)],
)
async def test_the_root_must_name_one_of_the_answers_shown(reply: str, choice: str | None):
    def root(messages, config):
        if role_of(messages) == "decomposer":
            return '{"subquestions": []}'
        return reply if role_of(messages) == "solver" else play(messages, config)

    out = await run(DecompositionConfig(order="correct_first"), model=scripted(root))  # A: 12, B: 15
    r = nodes(out)["q"]
    if choice is None:  # listing the answers, or naming another, chooses none
        assert r["status"] == "error" and r["error"] == "the solver named none of the answers shown"
        assert out.episode().final.valid is False and out.result.checks == []
    else:
        assert out.result.answer == {"B": "15"}.get(choice, choice) and out.result.choice == Q.choices.index("15")


async def test_free_form_questions_are_scored_by_their_gold_answer():
    q = load_task("gen/arithmetic", n=1, seed=3).questions[0]  # numeric gold in meta
    gold = q.meta["answers"][0]

    def exact(messages, config):
        if role_of(messages) == "decomposer":
            return '{"subquestions": []}'
        return f"Answer: {gold}" if role_of(messages) == "solver" else play(messages, config)

    out = await run(DecompositionConfig(two_choice=False), q=q, model=scripted(exact))
    assert out.result.answer == gold and out.result.answer_correct is True and out.result.choice is None
    ep = out.episode()
    assert ep.gold is None and ep.final.valid and ep.final.answer == gold  # free-form: no gold choice ...
    assert ep.gold_answers == [gold] and ep.correct is True  # ... scored against the gold answers


async def test_structured_outputs_send_the_schema_to_the_backend():
    seen = []

    def capture(messages, config):
        seen.append(config.extra)
        return play(messages, config)

    model = scripted(capture)
    cfg = DecompositionConfig(breadth=4, max_depth=1, supervision=[])
    await decomposition(Q, LLMDecomposer(model, structured_outputs=True), LLMSolver(model), cfg,
                        combiner=LLMCombiner(model))  # fmt: skip
    schema = seen[0]["structured_outputs"]["json"]
    assert schema["properties"]["subquestions"]["maxItems"] == 4 and schema["additionalProperties"] is False
    assert all(not e for e in seen[1:])  # only decomposer calls carry it


async def test_the_tree_is_saved_and_reloaded_identically(tmp_path):
    out = await run(
        DecompositionConfig(mode="sequential", max_depth=2, breadth=2, budget=40), model=scripted(deep=True)
    )
    g = out.result.graph()
    assert nx.is_directed_acyclic_graph(g) and len(g) == 7
    assert tree_to_json(tree_from_json(out.result.tree)) == out.result.tree
    with EpisodeWriter(tmp_path) as w:
        w.write(out.episode(id="e1", protocol="decomposition"))
    (back,) = list(iter_episodes(tmp_path))
    assert back.meta["tree"] == out.result.tree
    h = DecompositionResult.from_meta(back.meta).graph()
    assert nx.utils.graphs_equal(g, h) and list(g.nodes(data=True)) == list(h.nodes(data=True))
    assert list(g.edges(data=True)) == list(h.edges(data=True)) and g.graph == h.graph
    for n, attrs in h.nodes(data=True):  # every node's turns are its own
        assert all(back.turns[i].meta["node"] == n for i in attrs["turns"])
    assert sorted(i for _, a in h.nodes(data=True) for i in a["turns"]) == list(range(len(back.turns)))


def test_a_run_stores_trees_that_reload(tmp_path):
    spec = Experiment.from_dict(
        {
            "name": "decomp",
            "tasks": [{"dataset": "gen/arithmetic", "n": 4}],
            "protocols": [{"name": "decomposition", "max_depth": 1}, {"name": "decomposition", "label": "seq",
                                                                      "mode": "sequential", "max_depth": 1}],
            "roles": {"solver": {"model": "scripted/s", "options": {"fn": "decomposition_support:play_fn"}}},
            "judges": [{"model": "scripted/j", "options": {"fn": "decomposition_support:play_fn"}}],
            "cache": False,
        }
    )  # fmt: skip
    result = run_experiment(spec, output_dir=tmp_path, progress="off")
    assert result.status == "complete" and result.errors == 0 and result.done == 8
    for ep in iter_episodes(result.run_dir):
        res = DecompositionResult.from_meta(ep.meta)
        assert tree_to_json(res.graph()) == ep.meta["tree"] and set(res.supervision) == {"process", "outcome"}
        assert ep.roles.keys() == {"solver", "judge"} and ep.final.method == "program"
        assert Episode.model_validate_json(ep.model_dump_json()).meta == ep.meta


# -- gold decompositions ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["gsm8k", "gen/sequential-assignments", "gen/shortest-path"])
async def test_gold_decomposer_and_solver_replay_the_gold_steps(task: str):
    q = load_task(task, n=1, seed=5).questions[0]
    gold = gold_decomposition(q)
    cfg = DecompositionConfig(decomposer="gold", solver="gold", breadth=12, max_depth=1, supervision=[])
    solver = GoldSolver(gold, question_id=q.id)
    out = await decomposition(q, GoldDecomposer(gold), solver, cfg)
    ns = nodes(out)
    assert [ns[f"q.{i}"]["question"] for i in range(1, len(gold.steps) + 1)] == [s.question for s in gold.steps]
    assert all(a["gold_correct"] is True for a in ns.values()) and out.result.answer_correct is True
    assert out.episode().correct is True
