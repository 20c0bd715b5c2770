"""The pixel protocols through the ordinary runner, store and comparison, with a real (tiny) sparse-pixel judge:
the baseline reveals exactly k distinct pixels, debaters alternate within each game and never reveal a pixel
twice, a debate is right only when the honest debater wins every game (the same verdicts as the library's
`debate_correct`), a consultant reveals every pixel, and specs that pair the wrong judges are refused."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from agents.pixel_debater import GreedyPixelDebater
from agents.pixel_game import debate_correct
from oversight.comparison import compare
from oversight.experiment import Experiment, SpecError, run_experiment
from oversight.protocol_registry import protocol_names, register_protocol
from oversight.store import load_run
from oversight.tasks import load_task
from oversight.tasks.images import load_image_set, question_image
from protocols.pixel_debate import (
    PIXEL_CONSULTANCY,
    PIXEL_DEBATE,
    RANDOM_PIXELS,
    PixelDebateConfig,
    cached_pixel_judge,
    pixel_judge_config,
)

for _entry in (PIXEL_DEBATE, RANDOM_PIXELS, PIXEL_CONSULTANCY):  # until the entry points are installed
    if _entry.name not in protocol_names():
        register_protocol(_entry)

TINY = {"k": 4, "hidden": [16], "train_masks": 40_000, "learning_rate": 0.01, "seed": 3, "pool": "nonzero"}
N = 12


def _spec(**extra):
    data = {
        "name": "pixels",
        "tasks": [{"dataset": "digits", "n": N}],
        "protocols": [
            {"name": "random-pixels", "label": "random"},
            {"name": "pixel-debate", "label": "debate"},
            {"name": "pixel-debate", "label": "debate-liar-first", "first": "liar", "liars": "random"},
            {"name": "pixel-consultancy", "label": "consultancy", "consultant": {"strategy": "mcts", "rollouts": 3}},
        ],
        "judges": [{"name": "k4", "pixel": TINY}],
        "cache": False,
        **extra,
    }
    return Experiment.from_dict(data)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OVERSIGHT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        result = run_experiment(_spec(), output_dir=tmp_path_factory.mktemp("runs"), progress="off")
        yield result, load_run(result.run_dir)


def _by(run, label):
    return [e for e in run[1].episodes if (e.meta.get("label") or e.protocol) == label]


def test_the_runner_stores_every_episode_with_its_result(run):
    result, stored = run
    assert result.status == "complete" and result.errors == 0 and len(stored.episodes) == 4 * N
    ep = _by(run, "debate")[0]
    assert ep.protocol == "pixel-debate" and ep.judge == "k4" and ep.roles == {} and ep.tokens == 0
    assert ep.meta["dataset"] == "digits" and ep.meta["k"] == 4 and ep.meta["shape"] == [8, 8]
    assert ep.meta["agents"]["judge"].startswith("program/sparse-pixel-judge/digits-k4-h16")
    assert ep.final.method == "program" and ep.final.provenance.rubric_author == "program"


def test_random_pixels_reveal_exactly_k_distinct_pool_pixels(run):
    for ep in _by(run, "random"):
        revealed = ep.meta["revealed"]
        assert len(revealed) == 4 == len(set(revealed)) and [t.meta["pixel"] for t in ep.turns] == revealed
        image = question_image(ep_question(ep)).reshape(-1)
        assert all(image[p] > 0 for p in revealed)  # the judge's pool: non-zero pixels
        assert ep.final.choice == int(np.argmax(ep.meta["logits"])) and ep.correct == (ep.final.choice == ep.gold)


@functools.cache
def _questions():
    return {q.id: q for q in load_task("digits").questions}


def ep_question(ep):
    return _questions()[ep.question_id]


def test_debaters_alternate_and_never_reveal_a_pixel_twice(run):
    for ep in _by(run, "debate") + _by(run, "debate-liar-first"):
        games = ep.meta["games"]
        assert len(games) == (9 if ep.meta["liars"] == "all" else 1)
        for g, game in enumerate(games):
            turns = [t for t in ep.turns if t.meta["game"] == g]
            assert [t.meta["pixel"] for t in turns] == game["revealed"] and len(set(game["revealed"])) == 4
            first = ep.meta["first"]
            other = "liar" if first == "honest" else "honest"
            assert game["movers"] == [first, other, first, other] == [t.role for t in turns]
            claims = {"honest": game["honest_label"], "liar": game["liar_label"]}
            assert all(t.answer == claims[t.role] for t in turns) and claims["honest"] == ep.gold
        assert ep.correct == all(g["honest_wins"] for g in games) == ep.meta["honest_wins_all"]


def test_debate_verdicts_are_the_librarys(run):
    eps = sorted(_by(run, "debate"), key=lambda e: int(e.question_id.rsplit("/", 1)[1]))
    judge = cached_pixel_judge(pixel_judge_config(_judge_entry(), ep_question(eps[0])))
    test = load_image_set("digits", "test")
    idx = np.array([int(e.question_id.rsplit("/", 1)[1]) for e in eps])
    greedy = GreedyPixelDebater()
    expected = debate_correct(judge, test.images[idx], test.labels[idx], greedy, greedy, "all", "honest")
    assert [e.correct for e in eps] == expected.tolist()


def _judge_entry():
    return _spec().judge_list()[0].entry()


def test_a_consultant_reveals_every_pixel_for_its_side(run):
    eps = _by(run, "consultancy")
    for ep in eps:
        game = ep.meta["game"]
        side = "honest" if ep.meta["consultant_correct"] else "liar"
        assert game["movers"] == [side] * 4 and {t.role for t in ep.turns} == {"consultant"}
        argued = game["honest_label"] if side == "honest" else game["liar_label"]
        assert ep.meta["sides"] == {"consultant": argued} and ep.final.choice in (
            game["honest_label"],
            game["liar_label"],
        )
    assert sum(e.meta["consultant_correct"] for e in eps) == N // 2  # the side is counterbalanced exactly


def test_compare_reads_the_pixel_protocols(run):
    cmp = compare([run[0].run_dir])
    rows = {r["protocol"]: r for r in cmp.summary}
    assert set(rows) == {"random", "debate", "debate-liar-first", "consultancy"}
    for r in rows.values():
        assert r["n"] == N and r["acc_lo"] <= r["accuracy"] <= r["acc_hi"] and r["judge"] == "k4"
    paired = {(r["a"], r["b"]) for r in cmp.paired}
    assert ("debate", "random") in paired or ("random", "debate") in paired


def test_specs_that_pair_the_wrong_judges_are_refused():
    with pytest.raises(SpecError, match=r"judges\[0\]: protocol 'pixel-debate' .* takes a pixel judge, not a model"):
        _spec(judges=[{"model": "scripted/j", "options": {"outputs": ["Answer: A"]}}])
    with pytest.raises(SpecError, match=r"judges\[0\]: protocol 'debate' .* not a pixel judge"):
        Experiment.from_dict(
            {
                "name": "x",
                "tasks": [{"dataset": "gen/hidden-passage", "n": 2}],
                "protocols": [{"name": "debate"}],
                "roles": {"debater": "scripted/d"},
                "judges": [{"pixel": {"k": 4}}],
            }
        )
    with pytest.raises(SpecError, match="cannot sit on a jury"):
        _spec(judges=[{"jurors": [{"pixel": {"k": 4}}]}])
    with pytest.raises(SpecError, match=r"protocols\[1\].*temperature: the pixel protocols sample nothing"):
        _spec(protocols=[{"name": "random-pixels"}, {"name": "pixel-debate", "temperature": 0.5}])
    with pytest.raises(SpecError, match=r"protocols\[0\].debater.strategy"):
        _spec(protocols=[{"name": "pixel-debate", "debater": {"strategy": "oracle"}}])
    assert _spec().judge_list()[0].name == "k4" and PixelDebateConfig().debater.name == "greedy"


def test_a_text_question_is_refused_by_name():
    q = load_task("gen/hidden-passage", n=1).questions[0]
    with pytest.raises(ValueError, match="not an image task"):
        pixel_judge_config(_judge_entry(), q)


def test_stopping_at_the_first_loss_records_only_the_games_played(run, tmp_path):
    spec = _spec(protocols=[{"name": "pixel-debate", "label": "debate-stop", "stop_at_loss": True}])
    short = {
        e.question_id: e for e in load_run(run_experiment(spec, output_dir=tmp_path, progress="off").run_dir).episodes
    }
    full = {e.question_id: e for e in _by(run, "debate")}
    assert set(short) == set(full) and any(not e.correct for e in full.values())
    for qid, ep in short.items():
        whole, games = full[qid].meta["games"], ep.meta["games"]
        assert ep.correct == full[qid].correct and ep.final.choice == full[qid].final.choice
        assert games == whole[: len(games)] and ep.meta["liar_classes"] == [g["liar_label"] for g in whole]
        assert ep.meta["games_skipped"] == 9 - len(games) and (
            {t.meta["game"] for t in ep.turns} == set(range(len(games)))
        )
        assert (
            (len(games) == 9)
            if ep.correct
            else (not games[-1]["honest_wins"] and len(games) == ep.meta["decisive_game"] + 1)
        )
