"""Multi-agent debate: rounds, what each agent reads, change log, majority and judge."""

import re

from protocol_support import CONTEXT, Q4, run_entry

from agents import MADAgent
from judges import LLMJudge
from oversight.models import get_model
from protocols import MADConfig, mad


def scripted_agents(plan):
    """plan[agent][round] -> letter (or None for no answer)."""

    def fn(messages, config):
        name = re.match(r"You are (Agent \d+)", messages[0].content).group(1)
        i = int(name.split()[1]) - 1
        rnd = max((int(r) for r in re.findall(r'round="(\d+)"', messages[-1].content)), default=0)
        letter = plan[i][rnd]
        return f"{name} reasons. Answer: {letter}" if letter else f"{name} is unsure."

    return get_model("scripted/mad", fn=fn)


async def test_rounds_change_log_and_majority():
    plan = [["A", "B", "B"], ["B", "B", "B"], ["C", "C", "B"]]
    m = scripted_agents(plan)
    ep = (await mad(Q4, [MADAgent(m)] * 3, MADConfig(agents=3, rounds=2))).episode()
    assert ep.meta["answers"] == [[0, 1, 2], [1, 1, 2], [1, 1, 1]]
    assert ep.meta["changes"] == [
        {"agent": "agent_1", "round": 1, "from": 0, "to": 1},
        {"agent": "agent_3", "round": 2, "from": 2, "to": 1},
    ]
    final = ep.judgments[-1]
    assert final.method == "majority" and final.choice == 1 and final.probabilities[1] == 1.0
    assert ep.correct is True and ep.meta["majority_correct"] is True
    assert [(t.role, t.round) for t in ep.turns] == [(f"agent_{i}", r) for r in range(3) for i in (1, 2, 3)]


async def test_agents_read_only_the_previous_round():
    plan = [["A", "A", "A"], ["B", "B", "B"]]
    ep = (await mad(Q4, [MADAgent(scripted_agents(plan))] * 2, MADConfig(agents=2, rounds=2))).episode()
    for t in ep.turns:
        shown = t.seen[-1].content
        assert shown.count("<turn ") == (0 if t.round == 0 else 2)
        if t.round:
            assert f'round="{t.round}"' in shown and f'round="{t.round + 1}"' not in shown
        assert CONTEXT.splitlines()[0] not in shown  # agents_see_context is off by default


async def test_context_for_agents_when_asked_and_never_for_the_judge():
    plan = [["A", "B"], ["B", "B"], ["B", "B"]]
    judge = LLMJudge(get_model("scripted/j", outputs=["Answer: B\nConfidence: 60%"]))
    ep = (
        await mad(Q4, [MADAgent(scripted_agents(plan))] * 3, MADConfig(rounds=1, agents_see_context=True), judge=judge)
    ).episode()
    assert all(CONTEXT.splitlines()[0] in t.seen[-1].content for t in ep.turns if t.role.startswith("agent"))
    judge_turn = ep.turns[-1]
    assert judge_turn.role == "judge" and CONTEXT.splitlines()[0] not in judge_turn.seen[-1].content
    assert judge_turn.seen[-1].content.count("<turn ") == 3  # the final answers only
    assert [j.method for j in ep.judgments] == ["majority", "stated"]
    assert ep.judgments[-1].choice == 1 and ep.correct is True


async def test_tie_and_missing_answers():
    plan = [["A"], ["B"], [None]]
    ep = (await mad(Q4, [MADAgent(scripted_agents(plan))] * 3, MADConfig(rounds=0), seed=3)).episode()
    assert ep.meta["answers"] == [[0, 1, None]] and ep.meta["tie"]
    again = (await mad(Q4, [MADAgent(scripted_agents(plan))] * 3, MADConfig(rounds=0), seed=3)).episode()
    assert again.judgments[-1].choice == ep.judgments[-1].choice in (0, 1)
    nobody = (await mad(Q4, [MADAgent(scripted_agents([[None]]))], MADConfig(agents=1, rounds=0))).episode()
    assert not nobody.judgments[-1].valid and nobody.correct is None


async def test_registry_run_uses_distinct_seeds_per_agent():
    seeds = []

    def fn(messages, config):
        seeds.append(config.seed)
        return "Answer: B"

    m = get_model("scripted/a", fn=fn)
    ep = await run_entry("mad", Q4, {"agent": m}, MADConfig(agents=3, rounds=1), 0)
    assert len(set(seeds)) == 6 and ep.judgments[-1].choice == 1


async def test_free_form_numeric_question_gets_two_answers():
    from oversight.tasks import load_task

    q = load_task("gen/arithmetic", n=1, seed=3).questions[0]
    assert not q.choices  # free-form: the gold answer is a number

    def fn(messages, config):
        return "I compute it. Answer: A"

    ep = (
        await mad(q, [MADAgent(get_model("scripted/num", fn=fn))] * 2, MADConfig(agents=2, rounds=1, two_choice=True))
    ).episode()
    assert len(ep.choices) == 2 and ep.gold is not None
    assert ep.meta["answers"][0][0] == ep.meta["answers"][0][1]  # both said "A"
    assert ep.correct is not None


async def test_free_form_question_is_answered_in_text_and_scored_by_value():
    from agents import FreeFormMADAgent
    from oversight.tasks import load_task

    q = load_task("gen/arithmetic", n=1, seed=3).questions[0]
    gold = q.meta["answers"][0]
    replies = {"Agent 1": f"It is {gold}.0 I think. Answer: {gold}.0", "Agent 2": "Answer: 7"}

    def fn(messages, config):
        return replies[re.match(r"You are (Agent \d+)", messages[0].content).group(1)]

    agents = [FreeFormMADAgent(get_model("scripted/free", fn=fn))] * 2
    ep = (await mad(q, agents, MADConfig(agents=2, rounds=0, tie_break="first"))).episode()
    assert ep.choices == [] and ep.gold_answers == [gold]
    assert ep.meta["answers"] == [[gold, "7"]] and ep.meta["tie"]  # 318.0 counts as 318
    assert ep.final.answer == gold and ep.final.choice is None and ep.correct is True
    assert ep.meta["majority_answer"] == gold and ep.meta["majority_correct"] is True
