"""An LLM judge: reads a view, answers with a letter, and gives a probability over the answers shown.

The probability comes from the top logprobs of the answer-letter token when the backend returns them, else from a
stated confidence ("Confidence: 80%"); a bare letter counts as certainty unless `require_probability` is set.
Output that gives no usable answer is retried (new seed, some temperature) up to `max_retries` times, then
recorded as an invalid judgment — counted, never scored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path

from oversight.episode import Judgment, Provenance, Turn
from oversight.models.base import Model
from oversight.prompts import PromptSet
from oversight.transcript import ANSWER_RE, LETTERS, Verdict, View, model_turn
from oversight.types import ChatMessage, GenerateConfig, ModelOutput, trusted

PROMPTS_DIR = Path(__file__).parent / "prompts"
PROMPT_NAMES = ("judge_system", "judge_decide", "judge_ask", "expert_system")

_LEADING_LETTER_RE = re.compile(r"^\s*[\(\[\*\"']*([A-Z])(?:[\)\]\*\.:,]|[ \t]*(?:\n|$))")
_CONFIDENCE_RE = re.compile(r"confidence\s*(?:level)?\s*(?:is)?\s*[:：=]?\s*(\d+(?:\.\d+)?)\s*(%?)", re.IGNORECASE)
_TOKEN_STRIP = " \t\n\r()[]*.:\"'"


def read_logprob_answer(out: ModelOutput, letters: str) -> list[float] | None:
    """Normalised probabilities over `letters` at the answer-letter position, from the output's top logprobs.

    The answer position is the token holding the letter after "Answer:", else the reply's first token when that
    is a bare letter.
    Returns None when the output has no logprobs or no answer letter among the top tokens there.
    """
    if not out.logprobs:
        return None
    pos = _answer_token_index(out, letters)
    if pos is None:
        return None
    at = out.logprobs[pos]
    mass = dict.fromkeys(letters, 0.0)
    seen: dict[str, float] = {}
    for tok, lp in ((at.token, at.logprob), *((t.token, t.logprob) for t in at.top)):
        key = tok.strip(_TOKEN_STRIP)
        if key in mass and seen.get(tok) is None:  # the sampled token usually reappears in `top`
            seen[tok] = lp
            mass[key] += math.exp(lp)
    total = sum(mass.values())
    if total <= 0.0:
        return None
    return [mass[c] / total for c in letters]


def _answer_token_index(out: ModelOutput, letters: str) -> int | None:
    tokens = out.logprobs or []
    m = _first_answer(out.text, letters)
    if m is not None:
        target = m.start(1)
        offset = 0
        for i, t in enumerate(tokens):
            if offset <= target < offset + len(t.token):
                if t.token.strip(_TOKEN_STRIP) == m.group(1):
                    return i
                break
            offset += len(t.token)
    # No "Answer: X" we could line up with the tokens: the reply itself must open with the letter ("B. Because").
    for i, t in enumerate(tokens):
        key = t.token.strip(_TOKEN_STRIP)
        if key:
            return i if key in letters else None
    return None


def _first_answer(text: str, letters: str) -> re.Match[str] | None:
    return next((m for m in ANSWER_RE.finditer(text) if m.group(1) in letters), None)


def read_stated_answer(text: str, letters: str) -> tuple[str, float | None] | None:
    """The answer letter and stated confidence (0..1, None when not stated) in `text`, or None if no letter."""
    m = _first_answer(text, letters)
    if m is None:
        m = _LEADING_LETTER_RE.match(text)
        if m is None or m.group(1) not in letters:
            return None
    letter = m.group(1)
    c = _CONFIDENCE_RE.search(text)
    if c is None:
        return letter, None
    value = float(c.group(1))
    conf = value / 100.0 if c.group(2) or value > 1.0 else value
    return letter, min(1.0, max(0.0, conf))


class LLMJudge:
    """A judge backed by a model. `identity` (model name + prompt hash) goes into every judgment's provenance.

    `prompts` overrides templates by name (`judge_system`, `judge_decide`, `judge_ask`, `expert_system`).
    """

    def __init__(
        self,
        model: Model,
        *,
        prompts: Mapping[str, str] | None = None,
        max_retries: int = 2,
        temperature: float | None = None,
        retry_temperature: float = 0.7,
        max_tokens: int = 96,
        top_logprobs: int = 10,
        use_logprobs: bool = True,
        require_probability: bool = False,
    ) -> None:
        self.model = model
        self.prompts = PromptSet.load(PROMPTS_DIR, PROMPT_NAMES, prompts)
        self.identity = f"{model.name}#{self.prompts.hash}"
        self.name = self.identity
        self.max_retries = max_retries
        self.retry_temperature = retry_temperature
        self.require_probability = require_probability
        sampling = {} if temperature is None else {"temperature": temperature}  # None: the role's own setting
        self._decide_cfg = GenerateConfig(
            **sampling,
            max_tokens=max_tokens,
            logprobs=use_logprobs,
            top_logprobs=top_logprobs if use_logprobs else None,
        )
        self._ask_cfg = GenerateConfig(**sampling, max_tokens=max_tokens)

    def _fields(self, view: View) -> dict[str, str]:
        context = f"\nSource material:\n<source>\n{view.context}\n</source>\n" if view.context else ""
        transcript = f"\nTranscript:\n{view.transcript}\n" if view.transcript else ""
        return {
            "question": view.question,
            "choices": view.choices_text,
            "context_section": context,
            "transcript_section": transcript,
            "letters": " or ".join(view.letters) if len(view.letters) == 2 else ", ".join(view.letters),
            "word_limit": str(view.word_limit or 50),
        }

    def messages(self, view: View, template: str = "judge_decide") -> list[ChatMessage]:
        """The chat messages this judge sends for `view` (the expert system prompt when the view has context)."""
        system = self.prompts.render("expert_system" if view.context else "judge_system")
        user = self.prompts.render(template, **self._fields(view))
        return [trusted(ChatMessage, role="system", content=system), trusted(ChatMessage, role="user", content=user)]

    async def decide(self, view: View) -> Verdict:
        """The judgment for `view`: probabilities over the choices shown (indexed like the question's choices).

        Every attempt is returned as a turn. After `max_retries` unusable outputs the judgment has
        `valid=False` and no probabilities. Model errors propagate.
        """
        messages = self.messages(view)
        letters = view.letters
        turns: list[Turn] = []
        for attempt in range(self.max_retries + 1):
            cfg = self._decide_cfg.model_copy(update={"seed": view.seed + attempt})
            if attempt:
                cfg = cfg.model_copy(update={"temperature": max(cfg.temperature, self.retry_temperature)})
            out = await self.model.generate(messages, cfg)
            turn = model_turn(view.role, out, messages, kind="judgment", round=view.round, attempt=attempt)
            turns.append(turn)
            read = self._read(out, letters)
            if read is None:
                turn.meta["valid"] = False
                continue
            by_letter, method = read
            probs = [0.0] * len(view.order)
            for k, p in enumerate(by_letter):
                probs[view.order[k]] = p
            choice = max(range(len(probs)), key=lambda i: (probs[i], -view.order.index(i)))
            turn.answer = choice
            turn.probability = probs[choice]
            return Verdict(
                Judgment(
                    judge=self.identity,
                    probabilities=probs,
                    choice=choice,
                    valid=True,
                    method=method,
                    rationale=out.text.strip(),
                    attempts=attempt + 1,
                    provenance=Provenance(judge=self.identity, order_shown=list(view.order)),
                ),
                turns,
            )
        return Verdict(
            Judgment(
                judge=self.identity,
                valid=False,
                method="parsed",
                rationale=turns[-1].content if turns else "",
                attempts=len(turns),
                provenance=Provenance(judge=self.identity, order_shown=list(view.order)),
            ),
            turns,
        )

    def _read(self, out: ModelOutput, letters: str) -> tuple[list[float], str] | None:
        stated = read_stated_answer(out.text, letters)
        probs = read_logprob_answer(out, letters)
        if probs is not None:
            return probs, "logprobs"
        if stated is None:
            return None
        letter, conf = stated
        if conf is None:
            if self.require_probability:
                return None
            return [1.0 if c == letter else 0.0 for c in letters], "parsed"
        rest = (1.0 - conf) / (len(letters) - 1) if len(letters) > 1 else 0.0
        return [conf if c == letter else rest for c in letters], "stated"

    async def ask(self, view: View) -> Turn:
        """A question for the participants (interactive protocols), as a `kind="question"` turn."""
        messages = self.messages(view, "judge_ask")
        out = await self.model.generate(messages, self._ask_cfg.model_copy(update={"seed": view.seed}))
        return model_turn(view.role, out, messages, kind="question", round=view.round)


__all__ = ["LETTERS", "LLMJudge", "read_logprob_answer", "read_stated_answer"]
