"""Multi-agent debate (Du et al., "Improving Factuality and Reasoning in Language Models through Multiagent
Debate"): N agents answer; then for R rounds each reads the others' previous answers and revises. The final answer
is the majority of the last round and, optionally, a judge's decision over the final answers.

Questions with choices are answered with a letter; questions without choices (free-form, e.g. arithmetic) with
text, compared by value for numbers, and the majority's `Judgment.answer` is scored against the gold answers.
`style = "du"` is Du et al.'s arithmetic script: each agent is a chat keeping its own history.

Every agent's answer per round and every change of mind are recorded in `meta["answers"]` / `meta["changes"]`.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from agents.base import Responder
from agents.mad import DuMADAgent, FreeFormMADAgent, MADAgent, last_number
from judges.base import Judge
from judges.settings import JudgeSettings
from oversight.counterbalance import Balance, answer_order
from oversight.episode import Judgment, Outcome, ProtocolResult, Provenance
from oversight.protocol_registry import EpisodeSetup, ProtocolEntry
from oversight.quotes import QuoteConfig
from oversight.tasks.answers import answers_match, normalise
from oversight.transcript import Transcript
from oversight.types import Question
from protocols.kit import ProtocolConfig, balance_of, identities, judge_for, settle, speech_max_tokens, two_choices

_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class MADConfig(ProtocolConfig):
    """Agents, rounds, what agents and the judge see, and sampling.

    `temperature` samples the agents (0.7 by default: agents must differ for debate to mean anything); the judge
    decides at `judge.temperature`, 0 by default. `judge = true` in a spec is short for `use_judge = true`.
    `style`: `default` (our prompts; each agent reads the previous round's answers as a transcript) or `du` (Du
    et al.'s arithmetic script: no system prompt, each agent one chat keeping its own history, the others'
    latest answers as a user message, the answer the reply's last number; free-form questions only).
    `tie_break`: a seeded `coin` among tied answers, or the `first` agent's (Du et al.'s `most_frequent`).
    Du et al.'s `rounds` counts every generation round: theirs is ours + 1.
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
    style: Literal["default", "du"] = "default"
    tie_break: Literal["coin", "first"] = "coin"

    OMIT_AT_DEFAULT = ("style", "tie_break")

    @model_validator(mode="before")
    @classmethod
    def _judge_switch(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("judge"), bool):
            value = dict(value)
            value.setdefault("use_judge", value.pop("judge"))
        return value


class MADResult(ProtocolResult):
    """Every agent's answer per round (choice indices, or for free-form questions the answers as compared:
    numbers canonical, text normalised), every change of mind, the last round's majority (`majority`, or
    `majority_answer` for free-form questions) and whether it was a tie."""

    answers: list[list[int | str | None]] = Field(default_factory=list)
    changes: list[dict[str, Any]] = Field(default_factory=list)
    majority: int | None = None
    majority_answer: str | None = None
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
    (the last is final). Returns the Outcome; raises ValueError for `style = "du"` on a question with choices, or a
    judge over free-form answers."""
    q, reduced = two_choices(question, seed) if cfg.two_choice else (question, None)
    free = not q.choices
    if cfg.style == "du" and not free:
        raise ValueError(f"{question.id}: style 'du' is Du et al.'s free-form arithmetic protocol; this has choices")
    if free and judge is not None:
        raise ValueError(f"{question.id}: a judge decides between choices; free-form answers take the majority")
    numeric = free and _numeric(q)
    order = answer_order(q, "balanced", balance_of(q, seed, balance))
    names = [f"agent_{i + 1}" for i in range(len(agents))]
    t = Transcript.start(
        q, seed=seed, order=order, context_roles=names if cfg.agents_see_context else (), rounds=cfg.rounds + 1
    )
    answers: list[list[int | str | None]] = []
    changes: list[dict[str, Any]] = []
    for rnd in range(cfg.rounds + 1):
        # what each agent reads: every agent's answer of the previous round (none at first); Du et al.'s agents
        # also their own history, so every earlier round
        if cfg.style == "du":
            include = lambda turn, now=rnd: turn.round < now  # noqa: E731
        else:
            include = lambda turn, p=rnd - 1: turn.round == p  # noqa: E731
        views = [t.view_for(n, round=rnd, word_limit=cfg.word_limit, include=include) for n in names]
        turns = await asyncio.gather(*(a.respond(v) for a, v in zip(agents, views, strict=True)))
        now: list[int | str | None] = [
            answer_key(turn.meta.get("answer_text"), numeric) if free else turn.answer for turn in turns
        ]
        t.add(
            *(
                settle(
                    turn,
                    role=n,
                    round=rnd,
                    answer=None if free else a,  # type: ignore[arg-type]
                    word_limit=cfg.word_limit,
                    context=q.context,
                    quotes=cfg.quotes,
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

    rng = random.Random(f"{seed}:{q.id}")
    majority = _majority(answers[-1], len(q.choices), rng, cfg.tie_break)
    verdicts: list[Any] = [majority]
    if judge is not None:
        final_round = cfg.rounds
        include_final = (lambda turn: turn.round == final_round) if cfg.judge_sees == "final" else None
        verdicts.append(
            await judge.decide(t.view_for("judge", task="decide", round=final_round, include=include_final))
        )
    gold_answers = [str(a) for a in q.meta.get("answers") or []] if free else []
    if free:
        correct = (
            None
            if majority.answer is None or not gold_answers
            else any(answers_match(majority.answer, g) for g in gold_answers)
        )
    else:
        correct = None if majority.choice is None or q.answer is None else majority.choice == q.answer
    result = MADResult(
        agents=identities(**dict(zip(names, agents, strict=True)), **({"judge": judge} if judge else {})),
        answers=answers,
        changes=changes,
        majority=majority.choice,
        majority_answer=majority.answer,
        majority_correct=correct,
        tie=majority.rationale.startswith("tie"),
        two_answer=reduced,
    )
    return t.close(*verdicts, result=result)


#: Du-style replies are cut at the word limit and answered from what is kept, so generating past it is wasted:
#: their token cap is this many tokens per word (SmolLM2 writes a digit per token; in a cold run of the first 10
#: problems the 20 words kept of each cut reply re-tokenize to at most 50 tokens, median 24)
DU_TOKENS_PER_WORD = 3


def du_max_tokens(word_limit: int | None) -> int:
    """The token cap of a Du-style reply: `DU_TOKENS_PER_WORD` per word of `word_limit` (without a limit, the
    ordinary speech cap)."""
    return DU_TOKENS_PER_WORD * word_limit if word_limit else speech_max_tokens(word_limit)


def _numeric(q: Question) -> bool:
    """Whether a free-form question's answer is a number: its `meta["numeric"]`, or every gold answer a number."""
    if q.meta.get("numeric") is not None:
        return True
    gold = [str(a).strip() for a in q.meta.get("answers") or []]
    return bool(gold) and all(_PLAIN_NUMBER.fullmatch(g) for g in gold)


def answer_key(text: str | None, numeric: bool) -> str | None:
    """A free-form answer as it is compared and counted: the last number it states (canonical) when the question
    is numeric, else the normalised text; None when it states nothing usable."""
    if not text:
        return None
    if numeric:
        return last_number(text)
    return normalise(text) or None


def _majority(votes: Sequence[int | str | None], n_choices: int, rng: random.Random, tie_break: str) -> Judgment:
    """The most common valid vote (choice indices, or free-form answers), ties broken by `rng` (`tie_break="coin"`)
    or by the first agent's among the tied (`"first"`), recorded; invalid when nobody gave an answer."""
    counts = Counter(v for v in votes if v is not None)
    rule = "seeded tie-break" if tie_break == "coin" else "ties to the first agent's answer"
    prov = Provenance(
        judge="majority",
        aggregation=f"majority vote of the last round; {rule}",
        rubric="the agents' own answers (no judge)",
        rubric_author="program",
    )
    if not counts:
        return Judgment(judge="majority", valid=False, method="majority", rationale="no valid votes", provenance=prov)
    top = max(counts.values())
    tied = [v for v in dict.fromkeys(v for v in votes if v is not None) if counts[v] == top]  # in agent order
    if len(tied) == 1 or tie_break == "first":
        winner = tied[0]
    else:
        winner = rng.choice(sorted(tied))  # type: ignore[type-var]  (all ints, or all strings)
    rationale = f"tie between {sorted(tied)}" if len(tied) > 1 else f"{top} of {len(votes)} votes"  # type: ignore[type-var]
    if isinstance(winner, str):  # free-form: no choices, the answer itself is the verdict
        return Judgment(judge="majority", answer=winner, method="majority", rationale=rationale, provenance=prov)
    total = sum(counts.values())
    return Judgment(
        judge="majority",
        probabilities=[counts.get(i, 0) / total for i in range(n_choices)],
        choice=winner,
        method="majority",
        rationale=rationale,
        provenance=prov,
    )


async def run(setup: EpisodeSetup) -> Outcome:
    """Registry entry point: `cfg.agents` agents on the `agent` model (`MADAgent` for questions with choices,
    `FreeFormMADAgent` without, `DuMADAgent` with `style = "du"`), and an `LLMJudge` on the `judge` model when
    `cfg.use_judge` is set."""
    cfg = setup.config_as(MADConfig)
    max_tokens = du_max_tokens(cfg.word_limit) if cfg.style == "du" else speech_max_tokens(cfg.word_limit)
    free = not setup.question.choices and not cfg.two_choice
    kind = DuMADAgent if cfg.style == "du" else FreeFormMADAgent if free else MADAgent
    agents = [kind(setup.model("agent"), temperature=cfg.temperature, max_tokens=max_tokens)] * cfg.agents
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
