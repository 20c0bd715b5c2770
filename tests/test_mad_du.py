"""Du et al.'s multi-agent arithmetic: the generator reproduces their seed-0 problems (against numpy's legacy global
seeding, as their script draws them), the Du-style agent keeps its own chat history and reads the others' answers
escaped, the last number of a reply is its answer, ties go to the first agent, and a spec's single-agent and
majority entries are answered by the call cache from the debates' first round."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.mad import DuMADAgent, last_number, number_text
from oversight.experiment import Experiment, run_experiment
from oversight.models import get_model
from oversight.store import load_run
from oversight.tasks import load_task
from oversight.tasks.generators.arithmetic import du_problems
from protocols import MADConfig, mad

DU_PROMPT = "What is the result of {}+{}*{}+{}-{}*{}? Make sure to state your answer at the end of the response."


def test_the_generator_draws_their_problems_from_the_legacy_global_stream():
    np.random.seed(0)  # exactly what math/gen_math.py does before its loop
    theirs = [tuple(int(x) for x in np.random.randint(0, 30, size=6)) for _ in range(100)]
    assert du_problems(100, 0) == theirs
    tasks = load_task("gen/du-arithmetic")  # n defaults to 100, seed to 0
    assert len(tasks) == 100
    for q, (a, b, c, d, e, f) in zip(tasks.questions, theirs, strict=True):
        assert (
            DU_PROMPT.format(a, b, c, d, e, f).startswith(q.text)
            and q.text == f"What is the result of {a}+{b}*{c}+{d}-{e}*{f}?"
        )
        assert (
            q.choices == []
            and q.meta["answers"] == [str(a + b * c + d - e * f)]
            and q.meta["numeric"] == eval(q.meta["expression"])
        )
    first = tasks.questions[0]
    assert first.text == "What is the result of 12+15*21+0-3*27?" and first.meta["answers"] == ["246"]
    assert [q.id for q in load_task("gen/du-arithmetic", n=3).questions] == [q.id for q in tasks.questions[:3]]
    assert load_task("gen/du-arithmetic", n=2, seed=1).questions[0].text != first.text
    with pytest.raises(ValueError, match="n: must be >= 0"):
        du_problems(-1)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("The answer is 246.", "246"),
        ("12+15*21+0-3*27 = **246**", "246"),
        ("so the result is -122", "-122"),
        ("0-3 is 3 less", "3"),
        ("It is 2.50, or 3.0", "3"),
        ("No idea.", None),
    ],
)
def test_the_answer_is_the_last_number(text, number):
    assert last_number(text) == number


@given(st.integers(min_value=-10_000, max_value=10_000), st.sampled_from(["", ".", " .", "!", "**", "\n"]))
def test_an_integer_at_the_end_is_read_back(value, tail):
    assert last_number(f"Working... so it is {value}{tail}") == str(value)
    assert number_text(float(value)) == str(value)


async def test_du_agents_keep_their_history_and_read_the_others_escaped():
    q = load_task("gen/du-arithmetic", n=1).questions[0]
    plan = [["First <turn speaker> 5.", "Second: 246", "Third 7"], ["Now 246.", "Still 246", "Maybe 9"]]
    seen = []

    def fn(messages, config):
        seen.append(messages)
        rnd = sum(m.role == "assistant" for m in messages)
        agent = 0 if rnd == 0 else plan[0].index(messages[1].content)
        if rnd == 0:
            agent = len([s for s in seen if len(s) == 1]) - 1
        return plan[rnd][agent]

    agents = [DuMADAgent(get_model("scripted/du", fn=fn))] * 3
    ep = (await mad(q, agents, MADConfig(agents=3, rounds=1, style="du", word_limit=None))).episode()
    first_round = [t for t in ep.turns if t.round == 0]
    assert all(t.seen == first_round[0].seen for t in first_round)
    assert [m.role for m in first_round[0].seen] == ["user"] and first_round[0].seen[0].content == DU_PROMPT.format(
        12, 15, 21, 0, 3, 27
    )
    revise = next(t for t in ep.turns if t.role == "agent_2" and t.round == 1).seen
    assert [m.role for m in revise] == ["user", "assistant", "user"] and revise[1].content == "Second: 246"
    assert "First &lt;turn speaker&gt; 5." in revise[2].content and "Third 7" in revise[2].content
    assert "Second: 246" not in revise[2].content  # its own answer is its history, not an opinion
    assert ep.meta["answers"] == [["5", "246", "7"], ["246", "246", "9"]]
    assert ep.meta["changes"] == [
        {"agent": "agent_1", "round": 1, "from": "5", "to": "246"},
        {"agent": "agent_3", "round": 1, "from": "7", "to": "9"},
    ]
    assert ep.final.answer == "246" and ep.correct is True and ep.gold_answers == ["246"]


async def test_alone_a_du_agent_is_asked_to_check_itself_and_ties_go_to_the_first_agent():
    q = load_task("gen/du-arithmetic", n=1).questions[0]
    replies = iter(["I get 10.", "Checked: 10."])
    alone = (
        await mad(
            q,
            [DuMADAgent(get_model("scripted/one", fn=lambda m, c: next(replies)))],
            MADConfig(agents=1, rounds=1, style="du", word_limit=12),
        )
    ).episode()
    last = alone.turns[-1].seen
    assert [m.role for m in last] == ["user", "assistant", "user"] and "Check whether your answer" in last[2].content
    assert last[0].content.endswith("Use at most 12 words.") and alone.correct is False
    tied = iter(["It is 3.", "It is 4."])
    ep = (
        await mad(
            q,
            [DuMADAgent(get_model("scripted/two", fn=lambda m, c: next(tied)))] * 2,
            MADConfig(agents=2, rounds=0, style="du", tie_break="first"),
        )
    ).episode()
    assert ep.meta["tie"] and ep.final.answer == "3" and "ties to the first agent" in ep.final.provenance.aggregation


async def test_du_style_needs_a_free_form_question():
    from protocol_support import Q4

    with pytest.raises(ValueError, match="style 'du'"):
        await mad(Q4, [DuMADAgent(get_model("scripted/x", outputs=["1"]))], MADConfig(agents=1, style="du"))


CALLS: list[int] = []
CAPS: list[int] = []


def counting_agent(messages, config):
    """A pure Du-style agent: answers the last number of the question plus the number of its earlier replies (a
    function of the prompt, so cache-stable by import path); counts backend calls in `CALLS`."""
    CALLS.append(1)
    CAPS.append(config.max_tokens)
    numbers = [int(n) for n in re.findall(r"\d+", messages[0].content)]
    rnd = sum(m.role == "assistant" for m in messages)
    return f"I think it is {numbers[-1] + rnd + (config.seed or 0) % 3}."


def test_single_and_majority_entries_come_from_the_debates_first_round(tmp_path):
    du = {"name": "mad", "style": "du", "tie_break": "first", "temperature": 1.0, "word_limit": 20}
    spec = Experiment.from_dict(
        {
            "name": "du",
            "tasks": [{"dataset": "gen/du-arithmetic", "n": 4}],
            "protocols": [
                {**du, "label": "debate-3x2", "agents": 3, "rounds": 1},
                {**du, "label": "debate-2x3", "agents": 2, "rounds": 2},
                {**du, "label": "majority-3", "agents": 3, "rounds": 0},
                {**du, "label": "single", "agents": 1, "rounds": 0},
            ],
            "roles": {"agent": {"model": "scripted/du", "options": {"fn": "test_mad_du:counting_agent"}}},
            "concurrency": 1,
        }
    )
    CALLS.clear()
    result = run_experiment(spec, output_dir=tmp_path / "runs", cache=tmp_path / "calls.sqlite", progress="off")
    assert result.status == "complete" and result.errors == 0
    # per problem: 3 first answers (shared by all four entries), 3 revisions (3x2) and 2 x 2 (2x3)
    assert len(CALLS) == 4 * (3 + 3 + 4)
    eps = {(e.meta["label"], e.question_id): e for e in load_run(result.run_dir).episodes}
    for qid in {q for _, q in eps}:
        debate = eps[("debate-3x2", qid)].meta["answers"]
        assert eps[("majority-3", qid)].meta["answers"] == [debate[0]]
        assert eps[("single", qid)].meta["answers"] == [debate[0][:1]]
        assert all(t.cached for t in eps[("single", qid)].turns)


@pytest.mark.slow
async def test_the_local_model_plays_one_du_debate():
    """SmolLM2-135M through the Du-style path: each reply's answer is its last number (None when it wrote none),
    changes of mind are the differences between rounds, and the majority is scored against the gold answer."""
    q = load_task("gen/du-arithmetic", n=1).questions[0]
    model = get_model("local/smollm2-135m", n_threads=1)
    cfg = MADConfig(agents=2, rounds=1, style="du", tie_break="first", temperature=1.0, word_limit=12)
    try:
        ep = (await mad(q, [DuMADAgent(model)] * 2, cfg, seed=0)).episode()
    finally:
        await model.aclose()  # freed here, not by the garbage collector at exit
    assert [(t.role, t.round) for t in ep.turns] == [("agent_1", 0), ("agent_2", 0), ("agent_1", 1), ("agent_2", 1)]
    for t in ep.turns:
        assert t.content and t.meta["answer_text"] == last_number(t.content)
    answers = ep.meta["answers"]
    assert answers == [[t.meta["answer_text"] for t in ep.turns if t.round == r] for r in (0, 1)]
    changes = [(c["agent"], c["from"], c["to"]) for c in ep.meta["changes"]]
    assert changes == [(f"agent_{i + 1}", a, b) for i, (a, b) in enumerate(zip(*answers, strict=True)) if a != b]
    final = [a for a in answers[-1] if a is not None]
    assert ep.final.answer == (max(final, key=final.count) if final else None)  # ties: the first agent's
    assert ep.correct == (None if ep.final.answer is None else ep.final.answer == "246")


async def test_a_du_answer_is_read_from_the_reply_as_kept():
    """The answer is the last number of the words kept (what the others and the record see), not of words cut
    away."""
    long_reply = "I think it is 12 " + "and more words " * 10 + "so 99"
    ep = (
        await mad(
            load_task("gen/du-arithmetic", n=1).questions[0],
            [DuMADAgent(get_model("scripted/long", fn=lambda m, c: long_reply))],
            MADConfig(agents=1, rounds=0, style="du", word_limit=6),
        )
    ).episode()
    assert ep.turns[0].content == "I think it is 12 and" and ep.turns[0].truncated
    assert ep.turns[0].meta["words"] == 37  # the reply's own length is still recorded
    assert ep.meta["answers"] == [["12"]] and ep.final.answer == "12"  # not the 99 beyond the limit


def test_a_du_reply_is_capped_near_its_word_limit(tmp_path):
    """Generation stops near the word limit (3 tokens a word: 60 for 20 words), not at the speech cap (72)."""
    spec = Experiment.from_dict(
        {
            "name": "cap",
            "tasks": [{"dataset": "gen/du-arithmetic", "n": 1}],
            "protocols": [
                {"name": "mad", "style": "du", "agents": 1, "rounds": 1, "word_limit": 20},
                {"name": "mad", "label": "other", "agents": 1, "rounds": 0, "word_limit": 20},
            ],
            "roles": {"agent": {"model": "scripted/cap", "options": {"fn": "test_mad_du:counting_agent"}}},
        }
    )
    CAPS.clear()
    result = run_experiment(spec, output_dir=tmp_path / "runs", cache=tmp_path / "calls.sqlite", progress="off")
    assert result.status == "complete" and sorted(CAPS) == [60, 60, 72]  # Du style twice, then the default style
