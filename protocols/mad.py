"""Multi-agent debate (Du et al., "Improving Factuality and Reasoning in Language Models through Multiagent
Debate"): N agents answer; then for R rounds each reads the others' previous answers and revises. The final answer
is the majority of the last round and, optionally, a judge's decision over the final answers.

Every agent's answer per round and every change of mind are recorded in `meta["answers"]` / `meta["changes"]`.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from agents.mad import MADAgent
from judges.base import Judge
from judges.llm_judge import LLMJudge
from oversight.episode import Episode, Judgment, Provenance, Turn
from oversight.models.base import Model
from oversight.protocol_registry import ProtocolEntry
from oversight.quotes import QuoteConfig
from oversight.transcript import Transcript, View
from oversight.types import Question
from protocols._common import choice_order, identities, model_names, settle, speech_max_tokens, two_choices


class Responder(Protocol):
    """A multi-agent-debate participant: `respond` returns a turn whose `answer` is its current choice (or None)."""

    identity: str

    async def respond(self, view: View) -> Turn: ...


class MADConfig(BaseModel):
    """Agents, rounds, what agents and the judge see, and sampling."""

    model_config = ConfigDict(extra="forbid")

    agents: int = Field(default=3, ge=1)
    rounds: int = Field(default=2, ge=0)  # revision rounds after the first answers
    judge: bool = False  # also ask a judge (who sees the final answers, never the context)
    judge_sees: Literal["final", "all"] = "final"
    agents_see_context: bool = False
    two_choice: bool = False
    word_limit: int | None = Field(default=200, ge=1)
    quotes: QuoteConfig = Field(default_factory=QuoteConfig)
    # Agents must differ for debate to mean anything: sample by default (None: the role's own setting).
    temperature: float | None = Field(default=0.7, ge=0.0, le=2.0)
    judge_max_retries: int = Field(default=2, ge=0)
    use_logprobs: bool = True


async def mad(
    question: Question,
    agents: Sequence[Responder],
    cfg: MADConfig,
    seed: int = 0,
    judge: Judge | None = None,
    roles: Mapping[str, str] | None = None,
) -> Episode:
    """Run multi-agent debate on `question`. Judgments: the majority vote, then the judge's when `judge` is given
    (the last is final). Returns the Episode; raises ValueError for a question without choices."""
    q, reduced = two_choices(question, seed) if cfg.two_choice else (question, None)
    if not q.choices:
        raise ValueError(f"{question.id}: multi-agent debate needs choices (or two_choice = true)")
    order = choice_order(q, "balanced", seed)
    names = [f"agent_{i + 1}" for i in range(len(agents))]
    t = Transcript.start(
        q,
        protocol="mad",
        config=cfg,
        seed=seed,
        order=order,
        context_roles=names if cfg.agents_see_context else (),
        roles=roles,
        rounds=cfg.rounds + 1,
    )
    answers: list[list[int | None]] = []
    changes: list[dict[str, Any]] = []
    for rnd in range(cfg.rounds + 1):
        prev = rnd - 1  # what each agent reads: every agent's answer of the previous round (none at first)
        views = [
            t.view_for(n, round=rnd, word_limit=cfg.word_limit, include=lambda turn, p=prev: turn.round == p)
            for n in names
        ]
        turns = await asyncio.gather(*(a.respond(v) for a, v in zip(agents, views, strict=True)))
        now = [turn.answer for turn in turns]
        t.add(
            *(
                settle(
                    turn, role=n, round=rnd, answer=a, word_limit=cfg.word_limit, context=q.context, quotes=cfg.quotes
                )
                for n, turn, a in zip(names, turns, now, strict=True)
            )
        )
        if answers:
            changes += [
                {"agent": n, "round": rnd, "from": old, "to": new}
                for n, old, new in zip(names, answers[-1], now, strict=True)
                if old != new
            ]
        answers.append(now)

    majority = _majority(answers[-1], len(q.choices), random.Random(f"{seed}:{q.id}"))
    verdicts: list[Any] = [majority]
    if judge is not None:
        final_round = cfg.rounds
        include = (lambda turn: turn.round == final_round) if cfg.judge_sees == "final" else None
        verdicts.append(await judge.decide(t.view_for("judge", task="decide", round=final_round, include=include)))
    meta: dict[str, Any] = {
        "agents": identities(**dict(zip(names, agents, strict=True)), **({"judge": judge} if judge else {})),
        "answers": answers,
        "changes": changes,
        "majority": majority.choice,
        "majority_correct": None if majority.choice is None else majority.choice == q.answer,
        "tie": bool(majority.rationale.startswith("tie")),
    }
    if reduced is not None:
        meta["two_answer"] = reduced
    return t.close(*verdicts, meta=meta)


def _majority(votes: Sequence[int | None], n_choices: int, rng: random.Random) -> Judgment:
    """The most common valid vote (ties broken by `rng`, recorded); invalid when nobody gave an answer."""
    counts = Counter(v for v in votes if v is not None)
    prov = Provenance(judge="majority", aggregation="majority vote of the last round; seeded tie-break")
    if not counts:
        return Judgment(judge="majority", valid=False, method="majority", rationale="no valid votes", provenance=prov)
    top = max(counts.values())
    tied = sorted(c for c, k in counts.items() if k == top)
    choice = tied[0] if len(tied) == 1 else rng.choice(tied)
    total = sum(counts.values())
    return Judgment(
        judge="majority",
        probabilities=[counts.get(i, 0) / total for i in range(n_choices)],
        choice=choice,
        method="majority",
        rationale=f"tie between {tied}" if len(tied) > 1 else f"{top} of {len(votes)} votes",
        provenance=prov,
    )


async def run(question: Question, models_by_role: Mapping[str, Model], config: BaseModel, seed: int) -> Episode:
    """Registry entry point: `cfg.agents` `MADAgent`s on the `agent` model, and an `LLMJudge` on the `judge`
    model when `cfg.judge` is set."""
    cfg = config if isinstance(config, MADConfig) else MADConfig.model_validate(config)
    max_tokens = speech_max_tokens(cfg.word_limit)
    agents = [MADAgent(models_by_role["agent"], temperature=cfg.temperature, max_tokens=max_tokens)] * cfg.agents
    judge = None
    if cfg.judge:
        judge = LLMJudge(models_by_role["judge"], max_retries=cfg.judge_max_retries, use_logprobs=cfg.use_logprobs)
    return await mad(question, agents, cfg, seed, judge, model_names(models_by_role))


MAD = ProtocolEntry(
    name="mad",
    config=MADConfig,
    roles=("agent",),
    optional_roles=("judge",),
    config_roles=lambda cfg: ("judge",) if getattr(cfg, "judge", False) else (),
    run=run,
    description="Multi-agent debate (Du et al.): N agents answer and revise for R rounds; majority (and judge).",
)
