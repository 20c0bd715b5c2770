"""Counterbalancing is exact across a run: a judge that always picks the first answer scores exactly 50%."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from oversight.counterbalance import Balance, balance_ranks
from oversight.experiment import Experiment, run_experiment
from oversight.store import load_run
from oversight.types import Question


def test_ranks_are_a_seeded_permutation():
    ids = [f"q{i}" for i in range(10)]
    r0, r1 = balance_ranks(ids, 0), balance_ranks(ids, 1)
    assert sorted(r0.values()) == list(range(10)) and r0 == balance_ranks(ids, 0)
    assert r0 != r1


def test_bits_follow_the_rank_when_present():
    q = Question(id="x", text="?", choices=["a", "b"], answer=0)
    assert all((Balance.of(q.id, 3, rank=r).bits & 7) == r for r in range(8))
    assert Balance.of(q.id, 3) == Balance.of(q.id, 3)  # fallback: a hash, still reproducible


def _spec(protocol: str, extra: str = "") -> dict:
    always_a = {"outputs": ["Answer: A\nConfidence: 90%"], "cycle": True}
    roles = {"judge": {"model": "scripted/always-a", "options": always_a}}
    if protocol == "debate":
        roles["debater"] = {"model": "scripted/deb", "options": {"outputs": ["I argue my side."], "cycle": True}}
    if protocol == "consultancy":
        roles["consultant"] = {"model": "scripted/con", "options": {"outputs": ["Trust me."], "cycle": True}}
    return {
        "name": f"balance-{protocol}",
        "seeds": [0, 1],
        "tasks": [{"dataset": "gen/hidden-passage", "n": 16, "seed": 5}],
        "protocols": [{"name": protocol, "use_logprobs": False}],
        "roles": roles,
        "cache": False,
    }


def test_always_first_judge_scores_exactly_half_and_factors_split_evenly(tmp_path: Path):
    for protocol in ("direct", "consultancy", "debate"):
        spec = Experiment.from_dict(_spec(protocol))
        result = run_experiment(spec, output_dir=tmp_path, progress="off")
        episodes = load_run(result.run_dir).episodes
        assert len(episodes) == 32 and not any(e.error for e in episodes), protocol
        for seed in (0, 1):
            eps = [e for e in episodes if e.seed == seed]
            assert sum(bool(e.correct) for e in eps) == 8, (protocol, seed)  # position bias cannot score
            firsts = Counter(e.final.provenance.order_shown[0] == e.gold for e in eps)
            assert firsts == {True: 8, False: 8}, (protocol, seed)
            if protocol == "consultancy":
                assert Counter(e.meta["consultant_correct"] for e in eps) == {True: 8, False: 8}
            if protocol == "debate":  # honest side x who speaks first: all four combinations, four times each
                combos = Counter((e.meta["honest"], e.meta["speaking_order"][0]) for e in eps)
                assert sorted(combos.values()) == [4, 4, 4, 4], combos
