"""Market making (Hubinger 2020, "AI safety via market making"; Shen et al. 2023, sec. 4.4.4).

For a question Q the market M predicts p_0, the distribution over the answers the judge H will give at the end.
Then, for T steps: the adversary Adv writes k candidate arguments, each is scored by how far it moves M when
appended (M is actually queried), and the one that moves M most is kept; M's prediction with it is p_t. With
cross-examination, each step's Adv first questions the previous step's argument and its author answers; an
argument shown to be misleading (a verified quote contradicting one of its quotes, or the questioner's verdict)
is flagged to H or removed. The market stops early once it is stable (every shift of the last `stop_steps` steps
below `stop_epsilon`). H then sees every kept argument, never M's predictions, and answers.

Training-free: M and Adv are not trained here; `oversight export market` writes (Q, arguments, H's final
distribution) as fine-tuning data for M (`protocols.market_data`).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from difflib import SequenceMatcher
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.adversary import LLMAdversary, RetrievalAdversary
from agents.base import Adversary, Predictor
from agents.llm import LLMAgent
from agents.market import LLMMarket, MarketError, MarketMode, SimulatedMarket
from agents.selection import sample_and_select
from judges.base import Judge
from oversight.counterbalance import Balance, answer_order
from oversight.episode import MarketTrace, Outcome, ProtocolResult, ShiftMeasure, Turn
from oversight.judge_entry import SimulatedJudgeParams
from oversight.metrics.divergence import cross_entropy, shift
from oversight.protocol_registry import EpisodeSetup, ProtocolEntry
from oversight.quotes import normalize
from oversight.transcript import LETTERS, Transcript, View, make_turn, render_turn
from oversight.types import Question
from protocols.kit import SpeechConfig, balance_of, identities, judge_for, settle, speech_max_tokens, two_choices
from protocols.market_data import market_examples

MARKET = "market"
REFEREE = "referee"  # speaks the protocol's exposure notices
#: the seed stride between an adversary's candidates (odd, so candidates' call seeds stay apart)
_SEED_STRIDE = 7919


def adversary_role(step: int) -> str:
    """The transcript role of step `step`'s adversary (1-based): `adversary_1`, shown as "Adversary 1"."""
    return f"adversary_{step}"


class AdversaryError(ValueError):
    """The adversary gave no usable argument: empty text for every candidate of a step."""


class MarketSettings(BaseModel):
    """The market M. In a spec: `market = { kind = "simulated", simulated = { verified_weight = 1.0 } }`.

    `kind`: `model` (an LLM on the `market` role's model) or `simulated` (a seeded scoring rule, no model).
    `mode` (model): `auto` (logprobs of the answer letter when the backend returns them, else the stated
    distribution), `logprobs` (required) or `elicited` (the stated distribution only). `sees_context`: M reads the
    hidden text too (H never does). `max_retries`: extra tries for a reply with no usable distribution.
    `simulated`: the simulated market's weights (`judges.SimulatedJudgeParams`; no private signal by default).
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["model", "simulated"] = "model"
    mode: MarketMode = "auto"
    sees_context: bool = False
    max_retries: int = Field(default=1, ge=0)
    max_tokens: int = Field(default=48, ge=1)
    simulated: SimulatedJudgeParams = Field(default_factory=lambda: SimulatedJudgeParams(signal_weight=0.0))


class AdversarySettings(BaseModel):
    """The adversary Adv. In a spec: `adversary = { kind = "retrieval", fabricate = 0.5 }`.

    `kind`: `model` (an LLM on the `adversary` role's model) or `retrieval` (a program quoting the context
    sentences that best support its answer). `sees_market`: Adv is shown M's current prediction (it may repeat it
    in its own words; H is never shown it by the protocol). `temperature`: sampling temperature of every candidate
    after the first (LLM; None: the adversary's own). `quotes_per_turn`, `fabricate` (retrieval): quotes per
    argument, and the seeded chance per quote of a misquote.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["model", "retrieval"] = "model"
    sees_market: bool = True
    temperature: float | None = Field(default=0.8, ge=0.0, le=2.0)
    quotes_per_turn: int = Field(default=2, ge=1)
    fabricate: float = Field(default=0.0, ge=0.0, le=1.0)


class MarketMakingConfig(SpeechConfig):
    """Steps, candidates, the shift measure, cross-examination, early stopping, the market and the adversary."""

    steps: int = Field(default=3, ge=1)
    candidates: int = Field(default=2, ge=1)
    shift: ShiftMeasure = "tv"
    cross_examination: bool = False
    exposed: Literal["flag", "remove"] = "flag"
    expose_by: Literal["quote", "questioner", "either"] = "either"
    contradiction_similarity: float = Field(default=0.75, ge=0.0, le=1.0)
    stop_epsilon: float | None = Field(default=None, ge=0.0)
    stop_steps: int = Field(default=1, ge=1)
    two_choice: bool = True
    word_limit: int | None = Field(default=100, ge=1)
    market: MarketSettings = Field(default_factory=MarketSettings)
    adversary: AdversarySettings = Field(default_factory=AdversarySettings)


class Candidate(BaseModel):
    """One candidate argument of a step: its turn, the answer it argues, M's prediction with it appended (None:
    invalid, or not asked because the argument was empty) and its score (the shift it caused)."""

    turn: int
    answer: int | None
    prediction: list[float] | None = None
    prediction_turn: int | None = None
    score: float | None = None
    empty: bool = False


class Contradiction(BaseModel):
    """An unverified quote of an argument and the verified quote of the same passage that contradicts it."""

    argued: str
    verified: str
    similarity: float


class CrossExamination(BaseModel):
    """Step `step`'s adversary questioning the argument of step `about`, its author's reply, and the outcome."""

    step: int
    about: int
    question_turn: int
    answer_turn: int
    flagged: bool = False  # the questioner called the argument misleading
    contradictions: list[Contradiction] = Field(default_factory=list)
    exposed: bool = False
    action: Literal["flag", "remove"] | None = None  # what was done to the exposed argument
    notice_turn: int | None = None  # the referee's notice to the judge (action "flag")


class MarketStep(BaseModel):
    """One step: the candidates, the one kept (`chosen`, its `turn` and `answer`), the shifts of M's prediction
    from the step before (total variation, KL, and |Δp| on the answer the judge finally chose) and the
    cross-examination made at the start of the step."""

    step: int
    chosen: int
    turn: int
    answer: int | None
    candidates: list[Candidate]
    tv: float | None = None
    kl: float | None = None
    answer_shift: float | None = None
    exposed: bool = False  # a later cross-examination exposed this step's argument
    cross_examination: CrossExamination | None = None


class MarketResult(ProtocolResult):
    """`market` (in the base) holds the trajectory p_0..p_T and the per-step shifts; here every step in full and
    M's final prediction against H's answer (does the market predict its judge?) and against the gold answer.
    `judge_cross_entropy` is Hubinger's loss of M at the last step, -Σ p*_i ln p_T,i with p* H's distribution."""

    steps_run: int = 0
    steps: list[MarketStep] = Field(default_factory=list)
    prediction: list[float] | None = None
    predicted_answer: int | None = None
    judge_answer: int | None = None
    matches_judge: bool | None = None
    matches_gold: bool | None = None
    judge_cross_entropy: float | None = None
    stability: float | None = None  # the last step's shift under the configured measure

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> MarketResult:
        """The result stored as an episode's `meta` (the keys the runner adds beside it are left out); raises
        pydantic's ValidationError when `meta` is not a market-making result."""
        return cls.model_validate({k: v for k, v in meta.items() if k not in cls.RUNNER_KEYS})


def _argmax(p: list[float], order: tuple[int, ...]) -> int:
    return max(range(len(p)), key=lambda i: (p[i], -order.index(i)))


def _distribution(turn: Turn) -> list[float] | None:
    return turn.meta.get("distribution") if turn.meta.get("valid") else None


def _shown(turn: Turn) -> bool:
    """Whether a turn is still in the record every participant reads (not removed after exposure)."""
    return not turn.meta.get("removed")


def _with_turn(view: View, turn: Turn, turn_id: int) -> View:
    """`view` as it would read with `turn` added at transcript position `turn_id`."""
    block = render_turn(turn, view.speaker)
    return dataclasses.replace(
        view,
        turns=[*view.turns, turn],
        transcript=f"{view.transcript}\n\n{block}" if view.transcript else block,
        turn_ids=(*view.turn_ids, turn_id),
    )


def _market_line(p: list[float], order: tuple[int, ...]) -> str:
    return ", ".join(f"{LETTERS[k]}: {100.0 * p[i]:.0f}%" for k, i in enumerate(order))


class _Market:
    """The running state of one episode: the transcript, the agents, the trajectory and the steps."""

    def __init__(self, t: Transcript, market: Predictor, adversary: Adversary, cfg: MarketMakingConfig) -> None:
        self.t = t
        self.market = market
        self.adversary = adversary
        self.sampler = adversary
        if cfg.adversary.temperature is not None and isinstance(adversary, LLMAgent) and cfg.candidates > 1:
            self.sampler = adversary.with_temperature(cfg.adversary.temperature)  # type: ignore[assignment]
        self.cfg = cfg
        self.trajectory: list[list[float] | None] = []
        self.steps: list[MarketStep] = []

    @property
    def belief(self) -> list[float]:
        """M's latest valid prediction (the baseline candidates are scored against)."""
        return next(p for p in reversed(self.trajectory) if p is not None)

    def settle(self, turn: Turn, role: str, step: int, answer: int | None, limit: int | None) -> Turn:
        q = self.t.question
        return settle(
            turn, role=role, round=step - 1, answer=answer, word_limit=limit, context=q.context, quotes=self.cfg.quotes
        )

    def market_view(self, step: int) -> View:
        return self.t.view_for(MARKET, task="predict", round=max(step - 1, 0), include=_shown)

    def record_prediction(self, turn: Turn, step: int, saw: tuple[int, ...], **meta: object) -> int:
        """Add M's prediction `turn` to the record (never shown to anyone); returns its position."""
        turn.role, turn.round, turn.kind = MARKET, max(step - 1, 0), "prediction"
        turn.meta.update(step=step, saw=list(saw), **meta)
        self.t.add(turn, visible=False)
        return len(self.t.turns) - 1

    async def opening(self) -> None:
        """p_0: M's prediction before any argument. Raises `MarketError` when it gives no usable distribution."""
        view = self.market_view(0)
        turn = await self.market.predict(view)
        self.record_prediction(turn, 0, view.turn_ids, trajectory=True)
        p0 = _distribution(turn)
        if p0 is None:
            failed = turn.meta.get("failed") or [turn.content]
            raise MarketError(
                f"market {self.market.identity!r} (role 'market') gave no usable distribution for its first "
                f"prediction p_0: neither logprobs over the answer letters nor a parseable distribution "
                f"(last reply: {str(failed[-1])[:120]!r})"
            )
        self.trajectory.append(p0)

    async def cross_examine(self, step: int) -> CrossExamination:
        """Step `step`'s adversary questions the argument of step `step - 1`; its author answers; the argument is
        exposed when the config's rule says so, then flagged to the judge or removed."""
        cfg, t = self.cfg, self.t
        prev = self.steps[-1]
        argument = t.turns[prev.turn]
        asker, author = adversary_role(step), adversary_role(step - 1)
        names = {"about": author, "about_name": t.name_of(author), "about_step": step - 1}
        view = t.view_for(
            asker, task="ask", round=step - 1, word_limit=cfg.question_word_limit, include=_shown, **names
        )
        asked = self.settle(await self.adversary.ask(view), asker, step, None, cfg.question_word_limit)
        asked.kind, asked.meta["to"] = "question", author
        t.add(asked)
        view = t.view_for(
            author,
            task="answer",
            answer=prev.answer,
            round=step - 1,
            word_limit=cfg.word_limit,
            include=_shown,
            questioner=t.name_of(asker),
            **names,
        )
        reply = self.settle(await self.adversary.answer(view), author, step, prev.answer, cfg.word_limit)
        reply.kind, reply.meta["to"] = "answer", asker
        t.add(reply)
        exam = CrossExamination(
            step=step,
            about=step - 1,
            question_turn=len(t.turns) - 2,
            answer_turn=len(t.turns) - 1,
            flagged=asked.meta.get("flagged") is True,
            contradictions=contradictions(argument, (asked, reply), cfg.contradiction_similarity),
        )
        by_quote = cfg.expose_by in ("quote", "either") and bool(exam.contradictions)
        by_questioner = cfg.expose_by in ("questioner", "either") and exam.flagged
        if by_quote or by_questioner:
            exam.exposed, exam.action, prev.exposed = True, cfg.exposed, True
            argument.meta["exposed"] = True
            if cfg.exposed == "remove":  # the argument and the exchange about it leave every later view
                for turn in (argument, asked, reply):
                    turn.meta["removed"] = True
            else:
                t.add(self.notice(exam, step, by_quote, by_questioner))
                exam.notice_turn = len(t.turns) - 1
        return exam

    def notice(self, exam: CrossExamination, step: int, by_quote: bool, by_questioner: bool) -> Turn:
        """The referee's notice that the argument of step `exam.about` was exposed, with the reasons."""
        t = self.t
        author, asker = t.name_of(adversary_role(exam.about)), t.name_of(adversary_role(step))
        reasons = []
        if by_quote:
            c = exam.contradictions[0]
            reasons.append(f'its quotation "{c.argued}" is not in the text, which reads "{c.verified}"')
        if by_questioner:
            reasons.append(f"{asker} called it misleading")
        text = f"Cross-examination exposed the argument of {author} (step {exam.about}): {'; '.join(reasons)}."
        return make_turn(REFEREE, text, kind="exposure", round=step - 1, meta={"about": exam.about})

    async def argue(self, step: int, exam: CrossExamination | None) -> list[float] | None:
        """Step `step`: k candidate arguments, each scored by the shift it causes in M; the best is kept and
        returned with M's prediction given it (None when that prediction was invalid). Raises `AdversaryError`
        when every candidate is empty."""
        cfg, t = self.cfg, self.t
        role = adversary_role(step)
        base = self.market_view(step)
        belief = self.belief
        # the answer M believes least is argued first (arguing it is what can move M most); ties in a seeded order,
        # so neither the answer shown first nor any other position wins them
        tied = random.Random(f"market|{t.seed}|{t.question.id}|{step}").sample(t.order, len(t.order))
        targets = sorted(tied, key=lambda i: belief[i])
        market_section = f"\nThe market now predicts the judge will answer: {_market_line(belief, t.order)}.\n"
        predictions: dict[int, Turn] = {}

        async def make(j: int) -> Turn:
            view = t.view_for(
                role,
                task="argue",
                answer=targets[j % len(targets)],
                round=step - 1,
                word_limit=cfg.word_limit,
                include=_shown,
                candidate=j,
                market_section=market_section if cfg.adversary.sees_market else "",
            )
            if j:
                view = dataclasses.replace(view, seed=view.seed + j * _SEED_STRIDE)
            turn = await (self.sampler if j else self.adversary).argue(view)
            turn = self.settle(turn, role, step, view.answer, cfg.word_limit)
            turn.meta.update(step=step, candidate=j)
            return turn

        async def score(turn: Turn) -> float | None:
            if not turn.content.strip():
                return None
            predicted = await self.market.predict(_with_turn(base, turn, -1))
            predictions[id(turn)] = predicted
            p = _distribution(predicted)
            if p is None:
                return None
            return shift(cfg.shift, p, belief, _argmax(belief, t.order))

        selection = await sample_and_select(cfg.candidates, make, score)
        made = [c.item for c in selection.candidates]
        if not any(c.content.strip() for c in made):
            raise AdversaryError(
                f"role 'adversary' ({self.adversary.identity}) returned empty text for all {len(made)} candidate "
                f"arguments of step {step}"
            )
        chosen = selection.chosen
        if not made[chosen].content.strip():  # nothing was scored: keep the first argument that says something
            chosen = next(j for j, c in enumerate(made) if c.content.strip())
        kept_id = len(t.turns)
        t.add(made[chosen])  # the kept argument first, so the position M's prediction saw it at is its own
        ids = {chosen: kept_id}
        for j, turn in enumerate(made):
            if j != chosen:
                turn.kind = "candidate"
                t.add(turn, visible=False)
                ids[j] = len(t.turns) - 1
        candidates = []
        for j, (turn, scored) in enumerate(zip(made, selection.candidates, strict=True)):
            turn.meta["kept"] = j == chosen
            cand = Candidate(turn=ids[j], answer=turn.answer, score=scored.score, empty=not turn.content.strip())
            predicted = predictions.get(id(turn))
            if predicted is not None:
                cand.prediction = _distribution(predicted)
                saw = (*base.turn_ids, ids[j])
                cand.prediction_turn = self.record_prediction(predicted, step, saw, candidate=j, trajectory=j == chosen)
            candidates.append(cand)
        record = MarketStep(
            step=step,
            chosen=chosen,
            turn=kept_id,
            answer=made[chosen].answer,
            candidates=candidates,
            cross_examination=exam,
        )
        self.steps.append(record)
        return candidates[chosen].prediction

    def stable(self, measure: ShiftMeasure) -> bool:
        """Whether the last `stop_steps` steps each moved M by less than `stop_epsilon`."""
        eps, s = self.cfg.stop_epsilon, self.cfg.stop_steps
        if eps is None or len(self.steps) < s:
            return False
        recent = [self.step_shift(k, measure, None) for k in range(len(self.steps) - s + 1, len(self.steps) + 1)]
        return all(x is not None and x < eps for x in recent)

    def step_shift(self, step: int, measure: ShiftMeasure, answer: int | None) -> float | None:
        """D(p_step, p_{step-1}) under `measure` (None when either prediction is invalid); the "answer" measure
        follows `answer`, or (None) the answer M predicted before the step."""
        p, q = self.trajectory[step], self.trajectory[step - 1]
        if p is None or q is None:
            return None
        return shift(measure, p, q, _argmax(q, self.t.order) if answer is None else answer)


async def market_making(
    question: Question,
    market: Predictor,
    adversary: Adversary,
    judge: Judge,
    cfg: MarketMakingConfig,
    seed: int = 0,
    balance: Balance | None = None,
) -> Outcome:
    """Run market making on `question` (reduced to two answers when `cfg.two_choice`): M's prediction p_0, then up
    to `cfg.steps` steps of best-of-`cfg.candidates` adversarial arguments (with cross-examination when
    configured), then the judge's decision from every kept argument.

    Returns the Outcome; its `MarketResult` records the trajectory p_0..p_T, every step's candidates, scores and
    shifts, the cross-examinations, and M's final prediction against the judge's answer and the gold one. Raises
    ValueError for a question with fewer than two choices, `MarketError` when M's first prediction is unusable
    (or, in mode `logprobs`, its backend returns no logprobs), `AdversaryError` when a step's candidates are all
    empty.
    """
    q, reduced = two_choices(question, seed) if cfg.two_choice else (question, None)
    if len(q.choices) < 2:
        raise ValueError(f"market making needs a question with at least two choices; {q.id!r} has {len(q.choices)}")
    order = answer_order(q, cfg.order, balance_of(q, seed, balance))
    context_roles = {adversary_role(s) for s in range(1, cfg.steps + 1)}
    if cfg.market.sees_context:
        context_roles.add(MARKET)
    t = Transcript.start(q, seed=seed, order=order, context_roles=context_roles, rounds=cfg.steps)
    m = _Market(t, market, adversary, cfg)

    await m.opening()
    stopped_early = False
    for step in range(1, cfg.steps + 1):
        exam = await m.cross_examine(step) if cfg.cross_examination and step > 1 else None
        m.trajectory.append(await m.argue(step, exam))
        if m.stable(cfg.shift) and step < cfg.steps:
            stopped_early = True
            break

    verdict = await judge.decide(t.view_for("judge", task="decide", round=len(m.steps) - 1, include=_shown))
    h = verdict.judgment
    h_choice = h.choice if h.valid and not h.pending else None
    for k, rec in enumerate(m.steps, 1):
        rec.tv, rec.kl = m.step_shift(k, "tv", None), m.step_shift(k, "kl", None)
        rec.answer_shift = None if h_choice is None else m.step_shift(k, "answer", h_choice)
    shifts = [m.step_shift(k, cfg.shift, h_choice) for k in range(1, len(m.steps) + 1)]
    final = m.trajectory[-1]
    predicted = None if final is None else _argmax(final, order)
    result = MarketResult(
        two_answer=reduced,
        market=MarketTrace(measure=cfg.shift, trajectory=m.trajectory, shifts=shifts, stopped_early=stopped_early),
        steps_run=len(m.steps),
        steps=m.steps,
        prediction=final,
        predicted_answer=predicted,
        judge_answer=h_choice,
        matches_judge=None if predicted is None or h_choice is None else predicted == h_choice,
        matches_gold=None if predicted is None or q.answer is None else predicted == q.answer,
        stability=shifts[-1] if shifts else None,
        agents=identities(market=market, adversary=adversary, judge=judge),
    )
    if final is not None and h_choice is not None and h.probabilities:
        result.judge_cross_entropy = cross_entropy(h.probabilities, final)
    return t.close(verdict, result=result)


def contradictions(argument: Turn, exchange: tuple[Turn, ...], threshold: float) -> list[Contradiction]:
    """The unverified quotes of `argument` that a verified quote in `exchange` contradicts: for each, the most
    similar verified quote when it is at least `threshold` similar (character-level ratio of the normalised
    texts), i.e. the same passage of the text, quoted as it really reads."""
    verified = [q.text for turn in exchange for q in turn.quotes if q.verified]
    found = []
    for quote in argument.quotes:
        if quote.verified or not verified:
            continue
        argued = normalize(quote.text)
        best, text = max((SequenceMatcher(None, argued, normalize(v), autojunk=False).ratio(), v) for v in verified)
        if best >= threshold:
            found.append(Contradiction(argued=quote.text, verified=text, similarity=round(best, 4)))
    return found


async def run(setup: EpisodeSetup) -> Outcome:
    """Registry entry point: an `LLMMarket` on the `market` model (or a `SimulatedMarket`), an `LLMAdversary` on
    the `adversary` model (or a `RetrievalAdversary`) and the judge of `cfg.judge`."""
    cfg = setup.config_as(MarketMakingConfig)
    q = setup.question
    market: Predictor
    if cfg.market.kind == "simulated":
        truth = q.choices[q.answer] if q.answer is not None and q.choices else None
        market = SimulatedMarket(cfg.market.simulated, truth=truth)
    else:
        market = LLMMarket(
            setup.model(MARKET),
            mode=cfg.market.mode,
            temperature=cfg.temperature,
            max_retries=cfg.market.max_retries,
            max_tokens=cfg.market.max_tokens,
        )
    adversary: Adversary
    if cfg.adversary.kind == "retrieval":
        adversary = RetrievalAdversary(quotes_per_turn=cfg.adversary.quotes_per_turn, fabricate=cfg.adversary.fabricate)
    else:
        adversary = LLMAdversary(
            setup.model("adversary"), temperature=cfg.temperature, max_tokens=speech_max_tokens(cfg.word_limit)
        )
    return await market_making(q, market, adversary, judge_for(setup, cfg), cfg, setup.seed, setup.balance)


def _roles(cfg: BaseModel) -> tuple[str, ...]:
    if not isinstance(cfg, MarketMakingConfig):
        return ()
    return (MARKET,) * (cfg.market.kind == "model") + ("adversary",) * (cfg.adversary.kind == "model")


MARKET_MAKING = ProtocolEntry(
    name="market_making",
    config=MarketMakingConfig,
    roles=("judge",),
    optional_roles=(MARKET, "adversary"),
    config_roles=_roles,
    run=run,
    exports={"market": market_examples},
    description="An adversary's best-of-k arguments move a market predicting the judge; the judge decides last.",
)
