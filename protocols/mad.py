"""Multi-agent debate (Du et al., "Improving Factuality and Reasoning in Language Models through Multiagent
Debate"): N agents answer; then for R rounds each reads the others' previous answers and revises. The final answer
is the majority of the last round and, optionally, a judge's decision over the final answers.

Every agent's answer per round and every change of mind are recorded in `meta["answers"]` / `meta["changes"]`.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from agents.base import Responder
from agents.mad import MADAgent
from judges.base import Judge
from judges.settings import JudgeSettings
from oversight.counterbalance import Balance, answer_order
from oversight.episode import Judgment, Outcome, ProtocolResult, Provenance
from oversight.protocol_registry import EpisodeSetup, ProtocolEntry
from oversight.quotes import QuoteConfig
from oversight.transcript import Transcript
from oversight.types import Question
from protocols.kit import ProtocolConfig, balance_of, identities, judge_for, settle, speech_max_tokens, two_choices


class MADConfig(ProtocolConfig):
    """Agents, rounds, what agents and the judge see, and sampling.

    `temperature` samples the agents (0.7 by default: agents must differ for debate to mean anything); the judge
    decides at `judge.temperature`, 0 by default. `judge = true` in a spec is short for `use_judge = true`.
    """

    agents: int = Field(default=3, ge=1)
    rounds: int = Field(default=2, ge=0)  # revision rounds after the first answers
    use_judge: bool = False  # also ask a judge (who sees the final answers, never the context)
    judge_sees: Literal["final", "all"] = "final"
    agents_see_context: bool = False
    two_choice: bool = False
    word_limit: int | None = Field(default=200, ge=1)
    quotes: QuoteConfig = Field(default_factory=QuoteConfig)
    temperature: float | None = Field(default=0.7, ge=0.0, le=2.0)
    judge: JudgeSettings = Field(default_factory=lambda: JudgeSettings(temperature=0.0))

    @model_validator(mode="before")
    @classmethod
    def _judge_switch(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("judge"), bool):
            value = dict(value)
            value.setdefault("use_judge", value.pop("judge"))
        return value


class MADResult(ProtocolResult):
    """Every agent's answer per round, every change of mind, the last round's majority and whether it was a tie."""

    answers: list[list[int | None]] = Field(default_factory=list)
    changes: list[dict[str, Any]] = Field(default_factory=list)
    majority: int | None = None
    majority_correct: bool | None = None
    tie: bool = False


async def mad(
    question: Question,
    agents: Sequence[Responder],
    cfg: MADConfig,
    seed: int = 0,
    judge: Judge | None = None,
    balance: Balance | None = None,
) -> Outcome:
    """Run multi-agent debate on `question`. Judgments: the majority vote, then the judge's when `judge` is given
    (the last is final). Returns the Outcome; raises ValueError for a question without choices."""
    q, reduced = two_choices(question, seed) if cfg.two_choice else (question, None)
    if not q.choices:
        raise ValueError(f"{question.id}: multi-agent debate needs choices (or two_choice = true)")
    order = answer_order(q, "balanced", balance_of(q, seed, balance))
    names = [f"agent_{i + 1}" for i in range(len(agents))]
    t = Transcript.start(
        q, seed=seed, order=order, context_roles=names if cfg.agents_see_context else (), rounds=cfg.rounds + 1
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
    result = MADResult(
        agents=identities(**dict(zip(names, agents, strict=True)), **({"judge": judge} if judge else {})),
        answers=answers,
        changes=changes,
        majority=majority.choice,
        majority_correct=None if majority.choice is None or q.answer is None else majority.choice == q.answer,
        tie=majority.rationale.startswith("tie"),
        two_answer=reduced,
    )
    return t.close(*verdicts, result=result)


def _majority(votes: Sequence[int | None], n_choices: int, rng: random.Random) -> Judgment:
    """The most common valid vote (ties broken by `rng`, recorded); invalid when nobody gave an answer."""
    counts = Counter(v for v in votes if v is not None)
    prov = Provenance(
        judge="majority",
        aggregation="majority vote of the last round; seeded tie-break",
        rubric="the agents' own answers (no judge)",
        rubric_author="program",
    )
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


async def run(setup: EpisodeSetup) -> Outcome:
    """Registry entry point: `cfg.agents` `MADAgent`s on the `agent` model, and an `LLMJudge` on the `judge`
    model when `cfg.use_judge` is set."""
    cfg = setup.config_as(MADConfig)
    max_tokens = speech_max_tokens(cfg.word_limit)
    agents = [MADAgent(setup.model("agent"), temperature=cfg.temperature, max_tokens=max_tokens)] * cfg.agents
    judge = judge_for(setup, cfg) if cfg.use_judge else None
    return await mad(setup.question, agents, cfg, setup.seed, judge, setup.balance)


MAD = ProtocolEntry(
    name="mad",
    config=MADConfig,
    roles=("agent",),
    optional_roles=("judge",),
    config_roles=lambda cfg: ("judge",) if getattr(cfg, "use_judge", False) else (),
    run=run,
    description="Multi-agent debate (Du et al.): N agents answer and revise for R rounds; majority (and judge).",
)
