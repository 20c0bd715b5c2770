"""Persuasion-optimised arguers: generic best-of-N selection, best-of-N speeches ranked by a preference model (every
candidate, its score and the choice recorded), critique-and-refine, and both wired into debate and consultancy."""

from __future__ import annotations

import re

import pytest
from protocol_support import CONTEXT, Q, question

from agents import Debater
from agents.persuasion import Critic, PersuasiveArguer
from agents.selection import best_index, sample_and_select, select_best
from judges import QuoteCountJudge
from oversight.experiment import Experiment, run_experiment
from oversight.experiment.spec import SpecError
from oversight.models import get_model
from oversight.store import load_run
from oversight.transcript import Transcript
from protocols import DebateConfig, debate

SENTENCES = [s.strip() + "." for s in CONTEXT.replace("\n", " ").split(".") if s.strip()]


async def test_select_best_keeps_the_top_score_and_records_all():
    async def score(x: int) -> float | None:
        return None if x == 3 else -abs(x - 5)

    sel = await select_best([1, 3, 6, 4], score)
    assert sel.best == 6 and sel.chosen == 2 and sel.scores == [-4, None, -1, -1]  # ties: the earliest
    assert best_index([None, None]) == 0 and best_index([None, 0.1]) == 1
    made = await sample_and_select(3, lambda k: _value(k * 2), score)
    assert [c.item for c in made.candidates] == [0, 2, 4] and made.best == 4
    with pytest.raises(ValueError):
        await select_best([], score)


async def _value(x):
    return x


def quoting(messages, config):
    """A debater whose k-th candidate (by seed) quotes k verified sentences: more quotes, more persuasive."""
    k = (config.seed or 0) % 3
    return "My case. " + " ".join(f"<quote>{s}</quote>" for s in SENTENCES[:k]) + " Answer: A"


async def test_best_of_n_keeps_the_candidate_the_preference_model_scores_highest():
    seeds = []

    def fn(messages, config):
        seeds.append(config.seed)
        return quoting(messages, config)

    debater = Debater(get_model("scripted/d", fn=fn))
    wrapped = PersuasiveArguer(debater, best_of=4, preference=QuoteCountJudge(), temperature=0.9)
    t = Transcript(question(0), order=(0, 1), context_roles={"debater_a"})
    turn = await wrapped.argue(t.view_for("debater_a", answer=0, word_limit=150))
    record = turn.meta["persuasion"]
    scores = [c["score"] for c in record["candidates"]]
    assert len(record["candidates"]) == 4 and len(set(seeds)) == 4
    assert (
        record["chosen"] == scores.index(max(scores))
        and turn.content == record["candidates"][record["chosen"]]["content"]
    )
    verified = [c["content"].count("<quote>") for c in record["candidates"]]
    assert verified[record["chosen"]] == max(verified) and max(verified) > min(verified)
    assert all(s == pytest.approx((1 + v) / (2 + v)) for s, v in zip(scores, verified, strict=True))
    assert record["preference"] == "program/quote-count"


async def test_critique_and_refine_records_each_critique_and_rewrite():
    critic = Critic(get_model("scripted/critic", outputs=["Quote the founding year.", "Shorter, please."]))
    drafts = iter(
        ["Draft one. Answer: A", "Draft two with <quote>Faerma Company was founded in 1926</quote>", "Final."]
    )
    seen = []

    def fn(messages, config):
        seen.append(messages[-1].content)
        return next(drafts)

    wrapped = PersuasiveArguer(
        Debater(get_model("scripted/d", fn=fn)), refine_rounds=2, critic=critic, preference=QuoteCountJudge()
    )
    t = Transcript(Q, order=(0, 1), context_roles={"debater_a"})
    turn = await wrapped.argue(t.view_for("debater_a", answer=0))
    record = turn.meta["persuasion"]
    assert turn.content == "Final." and [r["critique"] for r in record["refinements"]] == [
        "Quote the founding year.",
        "Shorter, please.",
    ]
    assert record["refinements"][0]["score"] > record["refinements"][1]["score"]  # the verified quote counted
    assert "<critique>\nQuote the founding year.\n</critique>" in seen[1] and "&lt;quote&gt;" in seen[2]  # escaped
    with pytest.raises(ValueError, match="critic"):
        PersuasiveArguer(Debater(get_model("scripted/d", fn=fn)), refine_rounds=1)
    with pytest.raises(ValueError, match="preference"):
        PersuasiveArguer(Debater(get_model("scripted/d", fn=fn)), best_of=2)


def preference_judge(messages, config):
    """Prefers the side whose speeches quote more: reads the judge prompt, answers with a stated confidence."""
    prompt = messages[-1].content
    turns = re.findall(r'<turn speaker="Debater ([AB])"[^>]*>(.*?)</turn>', prompt, flags=re.S)
    counts = {"A": 0, "B": 0}
    for who, body in turns:
        counts[who] += body.count('status="verified"')
    letter = "A" if counts["A"] >= counts["B"] else "B"
    return f"Answer: {letter}\nConfidence: {60 + 10 * min(3, abs(counts['A'] - counts['B']))}%"


def _spec(tmp_path, protocol: dict, roles: dict) -> dict:
    return {
        "name": "persuade",
        "tasks": [{"dataset": "gen/hidden-passage", "n": 4}],
        "protocols": [protocol],
        "roles": roles,
        "judges": [
            {
                "name": "coin",
                "model": "scripted/coin",
                "options": {"fn": "oversight.experiment.demo_scripts:hash_judge"},
            }
        ],
        "cache": False,
        "output_dir": str(tmp_path),
    }


def test_debate_and_consultancy_run_persuasive_arguers_from_a_spec(tmp_path):
    speaker = {"model": "scripted/s", "options": {"fn": "oversight.experiment.demo_scripts:hash_judge"}}
    pref = {"model": "scripted/pref", "options": {"fn": preference_judge}}
    critic = {"model": "scripted/critic", "options": {"outputs": ["Quote more."], "cycle": True}}
    for protocol, role in (("debate", "debater"), ("consultancy", "consultant")):
        spec = Experiment.from_dict(
            _spec(
                tmp_path / protocol,
                {"name": protocol, "rounds": 1, "persuasion": {"best_of": 3, "refine_rounds": 1}},
                {role: speaker, "preference": pref, "critic": critic},
            )
        )
        result = run_experiment(spec, progress="off")
        assert result.status == "complete" and result.errors == 0
        for ep in load_run(result.run_dir).episodes:
            speeches = [t for t in ep.turns if t.kind == "speech"]
            assert speeches and all(len(t.meta["persuasion"]["candidates"]) == 3 for t in speeches)
            assert all(t.meta["persuasion"]["refinements"][0]["critique"] == "Quote more." for t in speeches)
            assert set(ep.roles) >= {"preference", "critic"}
            assert "+persuasive(best_of=3,refine=1" in next(
                iter(v for k, v in ep.meta["agents"].items() if k != "judge")
            )


def test_a_persuasion_role_without_a_model_is_refused(tmp_path):
    speaker = {"model": "scripted/s", "options": {"outputs": ["x"], "cycle": True}}
    with pytest.raises(SpecError, match="needs role 'preference'"):
        Experiment.from_dict(_spec(tmp_path, {"name": "debate", "persuasion": {"best_of": 2}}, {"debater": speaker}))
    with pytest.raises(SpecError, match="persuasion.best_of: must be >= 1"):
        Experiment.from_dict(_spec(tmp_path, {"name": "debate", "persuasion": {"best_of": 0}}, {"debater": speaker}))


def test_default_configs_hash_as_before():
    dump = DebateConfig().model_dump(mode="json")
    assert "persuasion" not in dump and "mode" not in dump["judge"]
    assert DebateConfig(persuasion={"best_of": 2}).model_dump(mode="json")["persuasion"]["best_of"] == 2


async def test_best_of_one_is_the_plain_arguer():
    m = get_model("scripted/d", fn=quoting)
    t = Transcript(Q, order=(0, 1), context_roles={"debater_a", "debater_b"})
    plain = await Debater(m).argue(t.view_for("debater_a", answer=0))
    wrapped = await PersuasiveArguer(Debater(m)).argue(t.view_for("debater_a", answer=0))
    assert wrapped.content == plain.content and wrapped.meta["persuasion"]["chosen"] == 0
    out = await debate(
        question(1), (PersuasiveArguer(Debater(m)), Debater(m)), QuoteCountJudge(), DebateConfig(rounds=1)
    )
    assert out.episode().final.valid
