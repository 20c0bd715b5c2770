"""Each protocol once on the real embedded model (SmolLM2-135M through llama.cpp; needs `oversight[local]`).

A 135M model argues and judges badly; these tests prove the wiring end to end: real prompts go out, real text
and logprobs come back, quotes are checked against the real passage, and each Episode is complete and
serialisable. Measurements are printed (`pytest -s`).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator

import pytest

from oversight.episode import Episode
from oversight.models import ManagedModel, get_model
from oversight.protocol_registry import EpisodeSetup, get_protocol
from oversight.tasks import load_task
from oversight.types import Question

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SPEC = "local/smollm2-135m"


@pytest.fixture(scope="module")
def model() -> Iterator[ManagedModel]:
    m = get_model(SPEC)
    yield m
    asyncio.run(m.aclose())


@pytest.fixture(scope="module")
def question() -> Question:
    return load_task("gen/hidden-passage", n=1, seed=7).questions[0]


def check(ep: Episode, question: Question, protocol: str) -> None:
    assert ep.protocol == protocol and ep.question_id == question.id
    assert ep.turns and all(t.model == SPEC for t in ep.turns if t.seen is not None)
    assert ep.tokens > 0 and ep.judgments
    final = ep.judgments[-1]
    if final.valid:
        assert final.choice is not None and abs(sum(final.probabilities or []) - 1.0) < 1e-6
        assert ep.correct == (final.choice == ep.gold)
    else:
        assert ep.correct is None
    for t in ep.turns:  # the judge is never given the passage (speakers may repeat parts of it in their turns)
        if t.role == "judge" and t.seen:
            outside_turns = re.sub(r"<turn .*?</turn>", "", "\n".join(m.content for m in t.seen), flags=re.DOTALL)
            assert question.context.splitlines()[0] not in outside_turns and "<source>" not in outside_turns
    assert Episode.model_validate_json(ep.model_dump_json()).turns == ep.turns


@pytest.mark.parametrize(
    ("protocol", "roles", "config"),
    [
        ("direct", ("judge",), {"tier": "naive"}),
        ("direct", ("judge",), {"tier": "expert"}),
        ("consultancy", ("consultant", "judge"), {"rounds": 1, "word_limit": 60, "interactive": False}),
        ("debate", ("debater", "judge"), {"rounds": 1, "word_limit": 60, "cross_examination": True}),
        ("mad", ("agent", "judge"), {"agents": 2, "rounds": 1, "word_limit": 60, "judge": True}),
    ],
)
async def test_protocol_runs_on_the_local_model(model, question, protocol, roles, config):
    entry = get_protocol(protocol)
    start = time.perf_counter()
    setup = EpisodeSetup(question, {r: model for r in roles}, entry.config.model_validate(config), 0)
    ep = (await entry.run(setup)).episode(protocol=entry.name)
    wall = time.perf_counter() - start
    check(ep, question, protocol)
    final = ep.judgments[-1]
    calls = sum(t.seen is not None for t in ep.turns)
    print(
        f"\n{protocol} {config}: {calls} calls, {ep.tokens} tokens, {wall:.1f}s; final {final.method} "
        f"valid={final.valid} choice={final.choice} gold={ep.gold} p={final.probabilities}"
    )
    if protocol in ("consultancy", "debate"):
        quotes = [q for t in ep.turns for q in t.quotes]
        print(f"  quotes: {len(quotes)} ({sum(q.verified for q in quotes)} verified)")
        assert all(t.truncated == (t.meta.get("words", 0) > 60) for t in ep.turns if t.kind == "speech")
