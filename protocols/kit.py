"""The pieces every protocol shares: config bases (judge settings, sampling, answer order, speech limits), the
judge builder, the judge's interactive question, the two-answer form and the protocol's word on an agent's turn.

A new protocol (see docs/extending.md) subclasses a config base, builds its judge with `judge_for`, reads its
counterbalancing from `oversight.counterbalance` and returns `Transcript.close(...)`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from agents.base import Arguer
from agents.persuasion import Critic, PersuasiveArguer
from agents.retrieval import RetrievalArguer
from judges.base import END_TURN, Judge
from judges.settings import JudgeSettings, build_entry_judge, build_judge
from oversight.counterbalance import Balance, OrderPolicy
from oversight.episode import Turn
from oversight.judge_entry import JudgeEntry
from oversight.protocol_registry import EpisodeSetup
from oversight.quotes import QuoteConfig, verify_quotes
from oversight.tasks.two_answer import two_answer
from oversight.transcript import Transcript, limit_words
from oversight.types import Question, set_fields

#: flat keys of earlier spec files, now fields of `judge`
_LEGACY_JUDGE_KEYS = {"judge_max_retries": "max_retries", "use_logprobs": "use_logprobs"}


class ProtocolConfig(BaseModel):
    """Base of protocol configs: sampling temperature and the judge's settings.

    `temperature` is the sampling temperature of the protocol's agents and its judge (None: each role's own
    setting); `judge.temperature` overrides it for the judge. The flat keys `judge_max_retries` and
    `use_logprobs` of earlier specs are read into `judge`.
    """

    model_config = ConfigDict(extra="forbid")

    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    judge: JudgeSettings = Field(default_factory=JudgeSettings)

    #: fields added after episode ids were first hashed from configs: left out of the config's dump (so of the
    #: hash) while at their defaults, so the episode ids of specs that do not use them stay what they were
    OMIT_AT_DEFAULT: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for name in self.OMIT_AT_DEFAULT:
                default = type(self).model_fields[name].get_default(call_default_factory=True)
                if name in data and getattr(self, name) == default:
                    del data[name]
        return data

    @model_validator(mode="before")
    @classmethod
    def _legacy_judge_keys(cls, value: Any) -> Any:
        if isinstance(value, dict) and any(k in value for k in _LEGACY_JUDGE_KEYS):
            if not isinstance(value.get("judge") or {}, dict):
                return value  # `judge` is not a table: field validation reports it
            value = dict(value)
            judge = dict(value.get("judge") or {})
            for old, new in _LEGACY_JUDGE_KEYS.items():
                if old in value:
                    judge.setdefault(new, value.pop(old))
            value["judge"] = judge
        return value


class OrderedConfig(ProtocolConfig):
    """A protocol that shows two answers: which one is shown as A."""

    order: OrderPolicy = "balanced"  # which answer is shown as A (two choices only)


class PersuasionSettings(BaseModel):
    """Persuasion-optimised speeches (Khan et al. 2024) for debaters and consultants. In a spec:
    `persuasion = { best_of = 4, refine_rounds = 1 }` (the `preference` and `critic` roles then need models).

    `best_of`: candidate speeches per turn, ranked by the preference model (a judge asked for the probability
    of the arguer's answer) on the model of `preference_role`; `refine_rounds`: critique-and-rewrite rounds by the
    model of `critic_role`; `temperature`: sampling temperature of the extra candidates (None: the arguer's).
    """

    model_config = ConfigDict(extra="forbid")

    best_of: int = Field(default=1, ge=1)
    refine_rounds: int = Field(default=0, ge=0)
    preference_role: str = Field(default="preference", min_length=1)
    critic_role: str = Field(default="critic", min_length=1)
    temperature: float | None = Field(default=0.8, ge=0.0, le=2.0)
    critique_words: int = Field(default=80, ge=1)

    def roles(self) -> tuple[str, ...]:
        """The roles these settings need models for."""
        return (self.preference_role,) * (self.best_of > 1) + (self.critic_role,) * (self.refine_rounds > 0)


class RetrievalSettings(BaseModel):
    """Programmatic arguers in place of LLMs (`agents.RetrievalArguer`): each speech quotes the `quotes_per_turn`
    context sentences that best support the arguer's answer, splicing its answer into a quote with chance
    `fabricate` (which quote checking then flags). In a spec: `retrieval = { quotes_per_turn = 2 }`; the arguer
    roles then need no model. Cheap overseen players for judge studies (e.g. simulated judges)."""

    model_config = ConfigDict(extra="forbid")

    quotes_per_turn: int = Field(default=2, ge=0)
    fabricate: float = Field(default=0.0, ge=0.0, le=1.0)

    def build(self) -> RetrievalArguer:
        """The arguer these settings describe."""
        return RetrievalArguer(quotes_per_turn=self.quotes_per_turn, fabricate=self.fabricate)


class SpeechConfig(OrderedConfig):
    """A protocol whose agents make speeches: word limits and quote checking."""

    word_limit: int | None = Field(default=150, ge=1)
    question_word_limit: int | None = Field(default=40, ge=1)
    quotes: QuoteConfig = Field(default_factory=QuoteConfig)


def judge_for(setup: EpisodeSetup, cfg: ProtocolConfig, role: str = "judge") -> Judge:
    """The judge of this episode: the spec's judge entry (`setup.judge`: simulated, human, a jury, a persona)
    built with `cfg.judge`'s settings, else the LLM judge `cfg.judge` describes on the model bound to `role`.
    Raises KeyError when that role has no model."""
    entry = setup.judge
    if isinstance(entry, JudgeEntry) and role == "judge":
        q = setup.question
        truth = q.choices[q.answer] if q.answer is not None and q.choices else None
        return build_entry_judge(entry, setup.models, cfg.judge, temperature=cfg.temperature, truth=truth)
    return build_judge(setup.model(role), cfg.judge, temperature=cfg.temperature)


def persuasive(agent: Arguer, setup: EpisodeSetup, cfg: SpeechConfig, settings: PersuasionSettings) -> Arguer:
    """`agent` wrapped in a `PersuasiveArguer` as `settings` say (unchanged when they ask for nothing): the
    preference model is an LLM judge (logprobs, temperature 0, one retry) on the model of the preference role,
    the critic a `Critic` on the critic role's. Raises KeyError when a role it needs has no model."""
    if settings.best_of == 1 and settings.refine_rounds == 0:
        return agent
    preference = None
    if settings.best_of > 1:
        preference = build_judge(setup.model(settings.preference_role), JudgeSettings(max_retries=1), temperature=0.0)
    critic = None
    if settings.refine_rounds:
        critic = Critic(
            setup.model(settings.critic_role),
            temperature=cfg.temperature,
            max_tokens=2 * settings.critique_words + 32,
            critique_words=settings.critique_words,
        )
    return PersuasiveArguer(
        agent,
        best_of=settings.best_of,
        preference=preference,
        refine_rounds=settings.refine_rounds,
        critic=critic,
        temperature=settings.temperature,
        quotes=cfg.quotes,
    )


def balance_of(question: Question, seed: int, balance: Balance | None) -> Balance:
    """`balance` when the runner gave one, else the pseudo-random one of (question id, seed)."""
    return balance if balance is not None else Balance.of(question.id, seed)


async def judge_question(t: Transcript, judge: Judge, round: int, word_limit: int | None) -> Turn:
    """The judge's question between rounds (interactive protocols), added to the transcript and returned. A judge
    that ends the debate instead returns a turn of kind `END_TURN` (see `ended`): it is recorded unseen, and the
    protocol should go straight to the decision."""
    asked = await judge.ask(t.view_for("judge", task="ask", round=round, word_limit=word_limit))
    if asked.kind == END_TURN:
        asked.role, asked.round = "judge", round
        t.add(asked, visible=False)
        return asked
    asked.role, asked.round, asked.kind = "judge", round, "question"
    t.add(limit_words(asked, word_limit))
    return asked


def ended(turn: Turn) -> bool:
    """Whether the judge's turn `judge_question` returned ends the debate (a human judge may, after `min_rounds`)."""
    return turn.kind == END_TURN


def two_choices(question: Question, seed: int) -> tuple[Question, dict[str, Any] | None]:
    """`question` reduced to exactly two choices (the correct one and a seeded distractor), keeping its id.

    Returns the question unchanged (and None) when it already has two choices; otherwise the reduced question
    and the mapping back to the original choices. Free-form questions with a distractor rule (e.g. numeric
    answers) get one from the tasks layer. Raises ValueError when no two-answer form exists.
    """
    if len(question.choices) == 2:
        return question, None
    reduced = two_answer(question, seed, keep_id=True)
    return reduced, reduced.meta.get("two_answer")


def speech_max_tokens(word_limit: int | None) -> int:
    """The token cap of an agent's speech under `word_limit`."""
    # ~1.5 tokens per English word, with headroom: the word limit, not the token cap, should bind.
    return 2 * (word_limit or 300) + 32


def settle(
    turn: Turn,
    *,
    role: str,
    round: int,
    answer: int | None,
    word_limit: int | None,
    context: str | None,
    quotes: QuoteConfig | None = None,
) -> Turn:
    """The protocol's word on a turn an agent produced (in place): the speaker's role, round and assigned answer
    are the protocol's (an agent cannot speak as someone else), the word limit is enforced (truncation recorded),
    and quotes are verified against the context (statuses the agent attached are discarded)."""
    set_fields(turn, role=role, round=round, answer=answer)
    limit_words(turn, word_limit)
    return verify_quotes(turn, context, quotes)


def identities(**agents: object) -> dict[str, str]:
    """role -> identity (model + prompt hash, or program name) of each agent or judge, for the result."""
    return {role: str(getattr(a, "identity", type(a).__name__)) for role, a in agents.items()}
