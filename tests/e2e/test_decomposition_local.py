"""Decomposition of a GSM8K question on the real embedded model (SmolLM2-135M through llama.cpp).

A 135M model decomposes badly: at temperature 0 it does not write the JSON a decomposition needs, so this test
proves the wiring end to end (real prompts out, real text back, parsed, validated, the invalid node recorded with
the parse error, the question then answered directly and checked by the judge), not accuracy. Measurements are
printed (`pytest -s`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from oversight.episode import Episode
from oversight.models import ManagedModel, get_model
from oversight.protocol_registry import EpisodeSetup
from oversight.tasks import load_task
from oversight.tree import tree_from_json
from protocols.decomposition import DECOMPOSITION, DecompositionConfig, DecompositionResult

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SPEC = "local/smollm2-135m"


@pytest.fixture(scope="module")
def model() -> Iterator[ManagedModel]:
    m = get_model(SPEC, n_ctx=2048, n_threads=1)  # one thread: the machine is shared; a 135M model needs no more
    yield m
    asyncio.run(m.aclose())


async def test_gsm8k_decomposition_on_the_local_model(model: ManagedModel):
    q = load_task("gsm8k", n=1, seed=0).questions[0]
    cfg = DecompositionConfig(  # free-form (two_choice off): the root's answer is text, so the judge checks it
        max_depth=1, breadth=1, budget=6, max_retries=0, word_limit=30, temperature=0.0, two_choice=False,
        supervision=["process", "outcome"], judge={"max_retries": 0},
    )  # fmt: skip
    start = time.perf_counter()
    outcome = await DECOMPOSITION.run(EpisodeSetup(q, {"solver": model, "judge": model}, cfg, 0))
    wall = time.perf_counter() - start
    ep = outcome.episode(protocol="decomposition")
    result = DecompositionResult.from_meta(ep.meta)
    calls = [t for t in ep.turns if t.seen is not None]
    assert calls and all(t.model == SPEC for t in calls) and ep.tokens > 0
    assert result.calls <= cfg.budget

    attempts = [t for t in ep.turns if t.kind == "decomposition"]
    assert len(attempts) == 1 and attempts[0].seen[-1].content.count('"subquestions"') >= 2  # the schema was shown
    g = tree_from_json(result.tree)
    root = g.nodes["q"]
    # The invalid-node path: the reply did not parse, the error is recorded, the question was answered directly.
    assert attempts[0].meta["valid"] is False and root["decomposition"] == "invalid" == g.nodes["q"]["decomposition"]
    assert root["error"] == attempts[0].meta["error"] and result.invalid_nodes == ["q"]
    assert any(t.kind == "answer" and t.meta["node"] == "q" for t in ep.turns)
    assert root["status"] == "answered" and result.answer == root["answer"]
    assert [(c.node, c.overseer) for c in result.checks] == [("q", "process"), ("q", "outcome")]
    judged = [t for t in ep.turns if t.role == "judge"]
    assert len(judged) == 2 and all("Proposed answer:" in t.seen[-1].content for t in judged)
    # free-form: no gold choice; the answer is scored against the gold answers, as the result scored it
    assert result.answer_correct is not None and ep.gold is None and ep.correct is result.answer_correct
    assert Episode.model_validate_json(ep.model_dump_json()).meta == ep.meta
    print(
        f"\n[decomposition] {len(calls)} model calls, {ep.tokens} tokens, {wall:.1f} s; root {root['status']} "
        f"answer={result.answer!r} correct={ep.correct}; decomposer said {attempts[0].content[:80]!r}; "
        f"supervision={ {k: (v.accepted, v.correct) for k, v in result.supervision.items()} }"
    )
