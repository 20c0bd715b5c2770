"""Market making on the real embedded model (SmolLM2-135M through llama.cpp) in every role: M, Adv and H.

Small on purpose (T = 2 steps, k = 2 candidates, one question, short replies, one thread): the machine is shared.
A 135M model argues and judges badly; this proves the wiring end to end — real prompts out, real text and
logprobs back, M's distribution read from the answer letter's logprobs, candidates scored by querying M,
cross-examination run, the judge shown the kept arguments only, the Episode complete and serialisable.
Measurements are printed (`pytest -s`).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Iterator

import pytest

from oversight.episode import Episode
from oversight.models import ManagedModel, get_model
from oversight.protocol_registry import EpisodeSetup
from oversight.tasks import load_task
from protocols.market_making import MARKET_MAKING, MarketMakingConfig, MarketResult

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SPEC = "local/smollm2-135m"


@pytest.fixture(scope="module")
def model() -> Iterator[ManagedModel]:
    m = get_model(SPEC, n_ctx=2048, n_threads=1)  # one thread: the machine is shared; a 135M model needs no more
    yield m
    asyncio.run(m.aclose())


async def test_market_making_on_the_local_model(model: ManagedModel):
    q = load_task("gen/hidden-passage", n=1, seed=7, difficulty=1, people=3).questions[0]  # a short passage
    cfg = MarketMakingConfig(
        steps=2, candidates=2, cross_examination=True, word_limit=15, question_word_limit=10, temperature=0.0,
        market={"max_tokens": 16}, judge={"max_retries": 0, "max_tokens": 16},
    )  # fmt: skip
    start = time.perf_counter()
    outcome = await MARKET_MAKING.run(EpisodeSetup(q, {"market": model, "adversary": model, "judge": model}, cfg, 0))
    wall = time.perf_counter() - start
    ep = outcome.episode(protocol="market_making")
    result = MarketResult.from_meta(ep.meta)

    calls = [t for t in ep.turns if t.seen is not None]
    assert calls and all(t.model == SPEC for t in calls) and ep.tokens > 0
    trace = result.market
    assert len(trace.trajectory) == 3 and len(trace.shifts) == 2 and result.steps_run == 2
    p0 = next(t for t in ep.turns if t.kind == "prediction")
    assert p0.meta["method"] == "logprobs"  # llama.cpp returns logprobs; M read them at the answer letter
    for p in trace.trajectory:
        assert p is None or (len(p) == 2 and math.isclose(sum(p), 1.0))
    for rec in result.steps:
        assert len(rec.candidates) == 2
        scores = [c.score for c in rec.candidates]
        if all(s is not None for s in scores):
            assert rec.chosen == max(range(2), key=lambda j: (scores[j], -j))
    exam = result.steps[1].cross_examination
    assert exam is not None and ep.turns[exam.question_turn].kind == "question"
    # the judge saw the kept arguments and the cross-examination, never a prediction or the passage
    shown = set(ep.final.view.turns)
    assert {rec.turn for rec in result.steps if not rec.exposed or exam.action == "flag"} <= shown
    assert not any(ep.turns[i].kind in ("prediction", "candidate") for i in shown)
    judge_prompt = "\n".join(m.content for m in ep.turns[-1].seen)
    outside_turns = re.sub(r"<turn .*?</turn>", "", judge_prompt, flags=re.DOTALL)
    assert q.context.splitlines()[0] not in outside_turns and "<source>" not in outside_turns
    assert Episode.model_validate_json(ep.model_dump_json()).turns == ep.turns
    print(
        f"\nmarket making T=2 k=2 + cross-examination on {SPEC}: {wall:.1f} s wall, {len(calls)} calls, "
        f"{ep.tokens} tokens; trajectory {[[round(x, 3) for x in p] if p else None for p in trace.trajectory]}, "
        f"shifts {[round(s, 3) if s is not None else None for s in trace.shifts]}, judge valid {ep.final.valid}"
    )
