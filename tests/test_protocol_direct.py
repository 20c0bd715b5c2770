"""Direct answering: naive and expert tiers, order counterbalancing, registry wiring."""

from protocol_support import run_entry

from oversight.models import get_model
from oversight.types import Question
from protocols.direct import DirectConfig

CONTEXT = "The red team finished first. The blue team was disqualified."
Q = Question(id="q1", text="Who won?", choices=["red", "blue", "green"], answer=0, context=CONTEXT)


async def run(tier, q=Q, seed=0, outputs=("Answer: A\nConfidence: 80%",)):
    model = get_model("scripted/judge", outputs=list(outputs))
    ep = await run_entry("direct", q, {"judge": model}, DirectConfig(tier=tier), seed)
    return ep


async def test_naive_tier_sees_no_context_and_two_choices():
    ep = await run("naive")
    seen = " ".join(m.content for m in ep.turns[0].seen)
    assert CONTEXT not in seen and "The red team" not in seen
    assert len(ep.choices) == 2 and "red" in ep.choices
    assert ep.question_id == "q1" and ep.protocol == "direct" and ep.roles == {"judge": "scripted/judge"}
    assert ep.judgments[-1].valid and ep.correct is not None
    assert ep.meta["tier"] == "naive" and not ep.meta["context_shown"]


async def test_expert_tier_sees_context():
    ep = await run("expert")
    assert ep.turns[0].role == "expert"
    assert any("The red team finished first" in m.content for m in ep.turns[0].seen)
    assert ep.meta["context_shown"]


async def test_correctness_follows_order_shown():
    for seed in range(8):
        ep = await run("naive", seed=seed)
        shown_first = ep.meta["order_shown"][0]
        assert ep.judgments[-1].choice == shown_first
        assert ep.correct == (shown_first == ep.gold)


async def test_order_is_balanced_and_deterministic():
    firsts = []
    for i in range(200):
        q = Q.model_copy(update={"id": f"q{i}"})
        ep = await run("naive", q=q)
        firsts.append(ep.meta["order_shown"][0] == ep.gold)
        again = await run("naive", q=q)
        assert again.meta["order_shown"] == ep.meta["order_shown"]
    assert 70 < sum(firsts) < 130


async def test_invalid_judgment_leaves_correct_unset():
    ep = await run("naive", outputs=["?", "?", "?"])
    assert not ep.judgments[-1].valid and ep.correct is None and len(ep.turns) == 3
