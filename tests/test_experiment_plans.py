"""Plans built on demand: the same ids, digest and order as building every plan up front, in 10 bytes per plan."""

from __future__ import annotations

from pathlib import Path

import pytest
from experiment_helpers import write_questions
from hypothesis import given, settings
from hypothesis import strategies as st

from oversight.episode import episode_id
from oversight.experiment import Experiment, SpecError
from oversight.experiment.expand import expand, ids_digest
from oversight.experiment.plans import IdSet, PlanSpace, _canon, _IdMaker, pack_id
from oversight.hashing import stable_hash

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(
    experiment=st.text(min_size=1),
    question_id=st.text(),
    config=st.dictionaries(st.text(max_size=8), JSONISH, max_size=4),
    roles=st.dictionaries(st.text(max_size=8), st.text(), max_size=3),
    seed=st.integers(min_value=-(2**40), max_value=2**40),
)
def test_ids_made_piecewise_equal_episode_id(experiment, question_id, config, roles, seed) -> None:
    maker = _IdMaker(experiment, config, roles)
    packed = maker.packed(_canon(question_id).encode(), _canon(seed).encode())
    assert packed.hex() == episode_id(experiment, question_id, config, roles, seed)


def _spec(tmp_path: Path, n: int = 7, seeds: list[int] | None = None, data: list[Path] | None = None) -> Experiment:
    files = data or [write_questions(tmp_path / "q.jsonl", n)]
    return Experiment.from_dict(
        {
            "name": "plans",
            "seeds": seeds or [0, 3, 9],
            "tasks": [{"dataset": str(f)} for f in files],
            "protocols": [
                {"name": "experiment_helpers:ECHO", "label": "one", "rounds": 1},
                {"name": "experiment_helpers:ECHO", "label": "two", "rounds": 2},
            ],
            "judges": [
                {"name": "a", "model": "scripted/a", "options": {"fn": "experiment_helpers:pure_judge"}},
                {"name": "b", "model": "scripted/b", "options": {"fn": "experiment_helpers:pure_judge"}},
            ],
        }
    )


def test_plan_space_matches_an_eager_expansion(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    space = expand(spec)
    assert isinstance(space, PlanSpace) and len(space) == 2 * 2 * 3 * 7
    plans = list(space)
    # the order of the eager loop it replaces: protocol entry, judge, seed, question
    assert [(p.protocol.label, p.judge.name, p.seed, p.question.id) for p in plans[:3]] == [
        ("one", "a", 0, "q00000"),
        ("one", "a", 0, "q00001"),
        ("one", "a", 0, "q00002"),
    ]
    assert (plans[7].seed, plans[21].judge.name, plans[42].protocol.label) == (3, "b", "two")
    for i, p in enumerate(plans):
        role_key = {"judge": _role_key(p)}
        config = {"protocol": p.protocol.name, "label": p.protocol.label, **p.config_dump}
        assert p.id == episode_id("plans", p.question.id, config, role_key, p.seed) == space.id_at(i)
        assert p.index == i
    assert space[-1].id == plans[-1].id and [p.id for p in space[2:4]] == [plans[2].id, plans[3].id]
    with pytest.raises(IndexError):
        space[len(space)]
    # the digest recorded in spec.json is unchanged by the packed form
    assert space.digest() == ids_digest(plans) == stable_hash(sorted(p.id for p in plans), length=32)
    # counterbalancing ranks are each task's seeded shuffle, exact per seed
    for seed in (0, 3, 9):
        ranks = sorted(p.rank for p in plans[:42] if p.seed == seed and p.judge.name == "a")
        assert ranks == list(range(7))


def _role_key(plan) -> str:
    import json

    rspec = plan.roles["judge"]
    return json.dumps({"model": rspec.model, **rspec.generation(), "judge": rspec.name}, sort_keys=True, default=str)


def test_pending_plans_skip_the_finished_ids(tmp_path: Path) -> None:
    space = expand(_spec(tmp_path))
    done_ids = [space.id_at(i) for i in range(0, len(space), 3)]
    done = IdSet([*done_ids, "not-an-id", "F" * 20, "ab"])  # foreign strings are never members
    assert len(done) == len(done_ids)
    assert done_ids[5] in done and space.id_at(1) not in done and "not-an-id" not in done and 7 not in done
    pending = space.pending(done)
    assert len(pending) == len(space) - len(done_ids)
    assert list(pending.indices()) == [i for i in range(len(space)) if i % 3]
    assert [p.id for p in pending] == [space.id_at(i) for i in range(len(space)) if i % 3]
    assert len(space.pending(IdSet())) == len(space) == len(space.pending(None))


def test_pack_id_takes_only_episode_ids() -> None:
    eid = episode_id("e", "q", {}, {}, 0)
    assert pack_id(eid) == bytes.fromhex(eid) and len(pack_id(eid)) == 10
    assert pack_id(eid.upper()) is None and pack_id(eid[:-1]) is None and pack_id("z" * 20) is None


def test_duplicates_are_named(tmp_path: Path) -> None:
    a = write_questions(tmp_path / "a.jsonl", 3)
    b = tmp_path / "b.jsonl"
    b.write_text(a.read_text().splitlines()[1] + "\n")
    with pytest.raises(SpecError, match=r"tasks\[1\]: question id 'q00001' occurs twice"):
        expand(_spec(tmp_path, data=[a, b]))
    with pytest.raises(SpecError, match="seeds: seed 3 is listed twice"):
        expand(_spec(tmp_path, seeds=[3, 1, 3]))


def test_an_empty_space_has_the_empty_digest(tmp_path: Path) -> None:
    space = expand(_spec(tmp_path))
    empty = PlanSpace("plans", [], [0], space.tasks)
    assert len(empty) == 0 and list(empty) == [] and empty.digest() == stable_hash([], length=32)


def test_a_plan_space_holds_about_ten_bytes_per_plan(tmp_path: Path) -> None:
    import tracemalloc

    spec = _spec(tmp_path, n=500, seeds=list(range(10)))  # 2 protocols x 2 judges x 10 seeds x 500 = 20,000 plans
    from oversight.experiment.expand import load_task

    tasks = [load_task(t, i, spec.base_dir) for i, t in enumerate(spec.tasks)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        space = expand(spec, tasks)
        held = tracemalloc.get_traced_memory()[0] - before
        for _ in space.pending(IdSet([space.id_at(7)]), grouped=True):  # pulling plans builds and drops them
            pass
        after_iteration = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(space) == 20_000
    # 10 bytes per packed id, plus the shared parts (a canonical id per question, 4 bytes of rank per seed x question)
    assert held / len(space) < 16, held
    assert after_iteration - held < 64 * 1024, (held, after_iteration)
