"""Market-making markets (Hubinger 2020): predictors of the distribution a judge will give at the end, from the
question and the arguments so far. `LLMMarket` reads it from a model (the top logprobs of the answer letter, or
the distribution it states), `SimulatedMarket` from a seeded scoring rule without a model.

The reply format (`Answer: B` then `A: 30%, B: 70%`) is written by `format_distribution` and read by
`read_distribution`, so training data in it (`oversight export market`) makes a model that plugs back in here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from agents.llm import LLMAgent, call_seed
from judges.llm_judge import read_logprob_answer, read_stated_answer
from judges.simulated import SimulatedJudge
from oversight.episode import Turn
from oversight.judge_entry import SimulatedJudgeParams
from oversight.models.base import Model
from oversight.transcript import View, make_turn, model_turn
from oversight.types import ChatMessage, Usage, trusted

MarketMode = Literal["auto", "logprobs", "elicited"]
#: "A: 60%", "A = 60 %", "(A) 60%": an answer letter, then a percentage on the same line
_PERCENT_RE = re.compile(r"(?<![A-Za-z0-9])\(?([A-Z])\)?[ \t]*[:=\-]?[ \t]*(\d{1,3}(?:\.\d+)?)[ \t]*%")


class MarketError(ValueError):
    """A market that cannot predict at all: a model that returns no logprobs where they are required, or no usable
    distribution for the first prediction. The message names the model."""


def read_distribution(text: str, letters: str) -> list[float] | None:
    """The distribution over `letters` stated in `text`, normalised, or None when it states none.

    Reads "X: NN%" for each letter (the last mention counts). When only some letters are given and their
    percentages sum to at most 100, the others share the rest equally; an "Answer: X" line with a "Confidence:
    NN%" gives X that probability and splits the rest. A bare answer letter is not a distribution (None), nor are
    percentages over 100 or summing to more than 100 with letters missing.
    """
    stated: dict[str, float] = {}
    for m in _PERCENT_RE.finditer(text):
        if m.group(1) in letters:
            stated[m.group(1)] = float(m.group(2))
    if not stated:
        read = read_stated_answer(text, letters)
        if read is None or read[1] is None:
            return None
        letter, conf = read
        stated = {letter: 100.0 * conf}
    if any(v > 100.0 for v in stated.values()):
        return None
    missing = [c for c in letters if c not in stated]
    total = sum(stated.values())
    if missing:
        if total > 100.0 + 1e-9:
            return None
        share = (100.0 - total) / len(missing)
        stated.update(dict.fromkeys(missing, share))
        total = 100.0
    if total <= 0.0:
        return None
    return [stated[c] / total for c in letters]


def format_distribution(by_letter: Sequence[float], letters: str) -> str:
    """`by_letter` (one probability per letter, in order) in the market's reply format: "Answer: X" (the most
    likely letter; ties: the first) and a line "A: 30.0%, B: 70.0%". Raises ValueError for a length mismatch."""
    if len(by_letter) != len(letters):
        raise ValueError(f"{len(by_letter)} probabilities for {len(letters)} letters")
    top = max(range(len(letters)), key=lambda k: (by_letter[k], -k))
    return f"Answer: {letters[top]}\n" + ", ".join(
        f"{c}: {100.0 * p:.1f}%" for c, p in zip(letters, by_letter, strict=True)
    )


def mark_prediction(turn: Turn, view: View, distribution: list[float] | None) -> Turn:
    """`turn` (in place) as a `kind="prediction"` turn for a prediction over `view`'s choices: `distribution`
    (indexed like the question's choices) in `meta`, the most likely answer and its probability; or, for None,
    marked invalid (`meta["valid"] = False`, no answer). Returns the same turn."""
    turn.kind = "prediction"
    if distribution is None:
        turn.meta["valid"] = False
        turn.answer = None
        turn.probability = None
        return turn
    turn.meta["valid"] = True
    turn.meta["distribution"] = distribution
    top = max(range(len(distribution)), key=lambda i: (distribution[i], -view.order.index(i)))
    turn.answer = top
    turn.probability = distribution[top]
    return turn


def _by_choice(view: View, by_letter: Sequence[float]) -> list[float]:
    probs = [0.0] * len(view.order)
    for k, p in enumerate(by_letter):
        probs[view.order[k]] = p
    return probs


def _added(a: Usage, b: Usage) -> Usage:
    return Usage(input_tokens=a.input_tokens + b.input_tokens, output_tokens=a.output_tokens + b.output_tokens)


class LLMMarket(LLMAgent):
    """A model predicting the judge's final distribution (prompts `agents/prompts/market_*`).

    `mode`: `logprobs` (the top logprobs of the answer letter after "Answer:", renormalised over the letters;
    an output without logprobs raises `MarketError`), `elicited` (the distribution the reply states, see
    `read_distribution`) or `auto` (logprobs when the backend returns them, else the stated distribution). A
    reply with none is retried `max_retries` times (next seed, temperature at least 0.7), then the prediction is
    invalid (`meta["valid"] = False`); every attempt's text is kept in `meta["failed"]`.
    """

    prompt_names = ("market_system", "market_predict")

    def __init__(
        self,
        model: Model,
        *,
        mode: MarketMode = "auto",
        prompts: Mapping[str, str] | None = None,
        temperature: float | None = None,
        max_tokens: int = 48,
        max_retries: int = 1,
        top_logprobs: int = 10,
        retry_temperature: float = 0.7,
    ) -> None:
        if mode not in ("auto", "logprobs", "elicited"):
            raise ValueError(f"mode: unknown market mode {mode!r} (known: auto, logprobs, elicited)")
        super().__init__(model, prompts=prompts, temperature=temperature, max_tokens=max_tokens)
        self.mode = mode
        self.max_retries = max_retries
        self.retry_temperature = retry_temperature
        if mode != "elicited":
            self._config = self._config.model_copy(update={"logprobs": True, "top_logprobs": top_logprobs})

    def fields(self, view: View) -> dict[str, Any]:
        """The template fields, plus `shown` ("these arguments" / "no arguments") and `example` (the reply's
        distribution line for these letters, with placeholders: a model that copies it states no distribution,
        where numbers it could copy would pass for one)."""
        f = super().fields(view)
        f["shown"] = "these arguments" if view.transcript else "no arguments, only the question"
        f["example"] = ", ".join(f"{c}: NN%" for c in view.letters)
        return f

    def messages(self, view: View) -> list[ChatMessage]:
        """The chat messages this market sends for `view`."""
        f = self.fields(view)
        return [
            trusted(ChatMessage, role="system", content=self.prompts.render("market_system", **f)),
            trusted(ChatMessage, role="user", content=self.prompts.render("market_predict", **f)),
        ]

    async def predict(self, view: View) -> Turn:
        """The market's prediction for `view` (see the class docstring). Raises `MarketError` in mode `logprobs`
        when the backend returned no logprobs; model errors propagate."""
        messages = self.messages(view)
        letters = view.letters
        base_seed = call_seed(view, "market_predict")
        failed: list[str] = []
        usage: Usage | None = None
        for attempt in range(self.max_retries + 1):
            update: dict[str, Any] = {"seed": base_seed + attempt}
            if attempt:
                update["temperature"] = max(self._config.temperature, self.retry_temperature)
            out = await self.model.generate(messages, self._config.model_copy(update=update))
            usage = out.usage if usage is None else _added(usage, out.usage)  # every attempt is paid for
            turn = model_turn(view.role, out, messages, kind="prediction", round=view.round)
            by_letter, method = None, "elicited"
            if self.mode != "elicited":
                if out.logprobs:
                    by_letter, method = read_logprob_answer(out, letters), "logprobs"
                elif self.mode == "logprobs":
                    raise MarketError(
                        f"market model {self.model.name!r} returned no logprobs (market mode 'logprobs' needs a "
                        "backend that returns them: OpenAI, vLLM, llama.cpp); use mode 'auto' or 'elicited'"
                    )
            if by_letter is None and self.mode != "logprobs":
                by_letter, method = read_distribution(out.text, letters), "elicited"
            turn.usage = usage
            turn.meta.update(method=method, attempts=attempt + 1, failed=list(failed))
            if by_letter is not None:
                return mark_prediction(turn, view, _by_choice(view, by_letter))
            failed.append(turn.content)
        turn.meta["failed"] = failed
        return mark_prediction(turn, view, None)


class SimulatedMarket:
    """A seeded market without a model: it scores each answer from the arguments it is shown with the
    `SimulatedJudge` rule (`params`: weights on verified and unverified quotes, length and confident wording,
    position bias, noise; a private signal only when `signal_weight` > 0, pointing to `truth` with probability
    `accuracy`) and predicts p = softmax(scores). A market whose weights match a simulated judge's (without the
    judge's private signal) is a well-specified model of that judge."""

    def __init__(self, params: SimulatedJudgeParams | None = None, *, truth: str | None = None, name: str = "") -> None:
        self.params = params or SimulatedJudgeParams(signal_weight=0.0)
        self._scorer = SimulatedJudge(self.params, truth=truth, name=name or "market")
        self.identity = self._scorer.identity

    async def predict(self, view: View) -> Turn:
        """The prediction: softmax of the scores, `meta` holding the scores."""
        scores, _signal = self._scorer.scores(view)
        top = max(scores)
        weights = [math.exp(s - top) for s in scores]
        total = sum(weights)
        turn = make_turn(view.role, "", kind="prediction", round=view.round, meta={"method": "simulated"})
        turn.meta["scores"] = scores
        dist = [w / total for w in weights]
        turn.content = format_distribution([dist[i] for i in view.order], view.letters)
        return mark_prediction(turn, view, dist)


__all__ = [
    "LLMMarket",
    "MarketError",
    "MarketMode",
    "SimulatedMarket",
    "format_distribution",
    "mark_prediction",
    "read_distribution",
]
