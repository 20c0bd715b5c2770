"""Consultancy: rounds, balanced assignment, interactive questions, open choice, visibility, word limits."""

from collections import Counter

from protocol_support import CONTEXT, Q, model, question, run_entry

from agents import RetrievalArguer
from judges import QuoteCountJudge
from protocols import ConsultancyConfig, consultancy


async def run(cfg=None, q=Q, seed=0, **kw):
    m = model(**kw)
    return await run_entry("consultancy", q, {"consultant": m, "judge": m}, cfg or ConsultancyConfig(), seed)


def text(turn):
    return "\n".join(m.content for m in turn.seen)


async def test_rounds_then_judgment_and_visibility():
    ep = await run(ConsultancyConfig(rounds=3))
    assert [(t.role, t.kind, t.round) for t in ep.turns] == [
        ("consultant", "speech", 0),
        ("consultant", "speech", 1),
        ("consultant", "speech", 2),
        ("judge", "judgment", 2),
    ]
    assert all(CONTEXT.splitlines()[0] in text(t) for t in ep.turns[:3])
    assert "founded in 1926 by Susteim" not in text(ep.turns[-1])
    assert ep.turns[1].seen[-1].content.count('<turn speaker="Consultant" round="1">') == 1
    assert ep.roles == {"consultant": "scripted/all", "judge": "scripted/all"}
    assert ep.meta["agents"]["consultant"].startswith("scripted/all#")


async def test_assignment_balanced_deterministic_and_recorded():
    sides = Counter()
    for i in range(300):
        q = question(i)
        ep = (await consultancy(q, RetrievalArguer(), QuoteCountJudge(), ConsultancyConfig(rounds=1))).episode()
        again = (await consultancy(q, RetrievalArguer(), QuoteCountJudge(), ConsultancyConfig(rounds=1))).episode()
        assert ep.meta["sides"]["consultant"] == again.meta["sides"]["consultant"]
        assert ep.meta["consultant_correct"] == (ep.meta["sides"]["consultant"] == ep.gold)
        assert all(t.answer == ep.meta["sides"]["consultant"] for t in ep.turns if t.role == "consultant")
        sides[ep.meta["consultant_correct"]] += 1
    assert 115 < sides[True] < 185, sides


async def test_side_override():
    for side, expect in (("correct", True), ("incorrect", False)):
        ep = await run(ConsultancyConfig(rounds=1, side=side))
        assert ep.meta["consultant_correct"] is expect


async def test_interactive_judge_asks_between_rounds_and_consultant_sees_it():
    ep = await run(ConsultancyConfig(rounds=3, interactive=True))
    assert [(t.role, t.kind) for t in ep.turns] == [
        ("consultant", "speech"),
        ("judge", "question"),
        ("consultant", "speech"),
        ("judge", "question"),
        ("consultant", "speech"),
        ("judge", "judgment"),
    ]
    assert "What exactly does the text say?" in text(ep.turns[2])
    assert "founded in 1926 by Susteim" not in text(ep.turns[1])


async def test_open_consultancy_records_choice_hidden_from_judge():
    ep = await run(ConsultancyConfig(rounds=1, open=True))
    assert ep.turns[0].kind == "choice" and ep.meta["chosen"]
    assert ep.meta["sides"]["consultant"] == ep.meta["order_shown"][0]  # the script picks A
    assert "Answer: A" not in ep.turns[-1].seen[-1].content.split("Transcript:")[-1].split("Which answer")[0]
    assert '<turn speaker="Consultant"' in ep.turns[-1].seen[-1].content
    assert ep.turns[-1].seen[-1].content.count("<turn ") == 1


async def test_word_limit():
    ep = await run(ConsultancyConfig(rounds=1, word_limit=5), speech_words=50)
    assert ep.turns[0].truncated and len(ep.turns[0].content.split()) == 5


async def test_invalid_judge():
    ep = await run(ConsultancyConfig(rounds=1, judge_max_retries=0), judge="???")
    assert ep.correct is None and not ep.judgments[-1].valid
