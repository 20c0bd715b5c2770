"""An LLM judge: reads a view, answers with a letter, and gives a probability over the answers shown.

Three modes, each with its own decide prompt (so its own identity and prompt hash):

* `logprobs` (default): "Answer: X" on the first line; the probability comes from the top logprobs of the
  answer-letter token, renormalised over the letters offered (else from the stated confidence).
* `stated`: no logprobs are requested; the judge states "Confidence: P%" and that is its probability.
* `reason`: the judge first writes a short rationale, then "Answer: X" and a confidence; the last answer line
  counts (logprobs at that letter when the backend returns them, else the stated confidence).

A bare letter counts as certainty unless `require_probability` is set. Output that gives no usable answer is
retried (new seed, some temperature) up to `max_retries` times, then recorded as an invalid judgment — counted,
never scored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from oversight.episode import Judgment, Provenance, Turn
from oversight.hashing import stable_hash
from oversight.models.base import Model
from oversight.prompts import PromptSet
from oversight.transcript import ANSWER_RE, LETTERS, Verdict, View, model_turn
from oversight.types import ChatMessage, GenerateConfig, ModelOutput, trusted, trusted_copy

PROMPTS_DIR = Path(__file__).parent / "prompts"
JudgeMode = Literal["logprobs", "stated", "reason"]
#: the decide template of each mode (the rest of a judge's prompts are shared)
DECIDE_TEMPLATE: dict[str, str] = {"logprobs": "judge_decide", "stated": "judge_stated", "reason": "judge_reason"}
PROMPT_NAMES = ("judge_system", "judge_decide", "judge_ask", "expert_system")
#: output tokens per mode when not set: room for the answer line (and a confidence), or a rationale first
DEFAULT_MAX_TOKENS: dict[str, int] = {"logprobs": 96, "stated": 96, "reason": 320}

_LEADING_LETTER_RE = re.compile(r"^\s*[\(\[\*\"']*([A-Z])(?:[\)\]\*\.:,]|[ \t]*(?:\n|$))")
_CONFIDENCE_RE = re.compile(r"confidence\s*(?:level)?\s*(?:is)?\s*[:：=]?\s*(\d+(?:\.\d+)?)\s*(%?)", re.IGNORECASE)
_TOKEN_STRIP = " \t\n\r()[]*.:\"'"
#: what a judge derives from its prompt set and settings (a judge is built per episode): key -> (the loaded set it
#: was made from, the set used, the rubric record, decide config, ask config)
_BUILT: dict[tuple[object, ...], tuple[PromptSet, PromptSet, tuple[str, str, str], GenerateConfig, GenerateConfig]] = {}
_BUILT_KEPT = 256


def read_logprob_answer(out: ModelOutput, letters: str, *, last: bool = False) -> list[float] | None:
    """Normalised probabilities over `letters` at the answer-letter position, from the output's top logprobs.

    The answer position is the token holding the letter after the first "Answer:" (the last one with
    `last=True`, for replies that reason first), else the reply's first token when that is a bare letter.
    Returns None when the output has no logprobs or no answer letter among the top tokens there.
    """
    if not out.logprobs:
        return None
    pos = _answer_token_index(out, letters, last)
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


def _answer_token_index(out: ModelOutput, letters: str, last: bool = False) -> int | None:
    tokens = out.logprobs or []
    m = _find_answer(out.text, letters, last)
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


def _find_answer(text: str, letters: str, last: bool = False) -> re.Match[str] | None:
    found = [m for m in ANSWER_RE.finditer(text) if m.group(1) in letters]
    if not found:
        return None
    return found[-1] if last else found[0]


def read_stated_answer(text: str, letters: str, *, last: bool = False) -> tuple[str, float | None] | None:
    """The answer letter and stated confidence (0..1, None when not stated) in `text`, or None if no letter.

    `last=True` reads the last "Answer:" line and the confidence after it (replies that reason first)."""
    m = _find_answer(text, letters, last)
    if m is None:
        if last:
            return None
        m = _LEADING_LETTER_RE.match(text)
        if m is None or m.group(1) not in letters:
            return None
    letter = m.group(1)
    c = _CONFIDENCE_RE.search(text, m.end()) if last else _CONFIDENCE_RE.search(text)
    if c is None:
        return letter, None
    value = float(c.group(1))
    conf = value / 100.0 if c.group(2) or value > 1.0 else value
    return letter, min(1.0, max(0.0, conf))


class LLMJudge:
    """A judge backed by a model. `identity` (model name + prompt hash) goes into every judgment's provenance.

    `mode` is `logprobs`, `stated` or `reason` (see the module docstring); each reads its own decide template
    (`judge_decide`, `judge_stated`, `judge_reason`), so each mode has its own prompt hash and identity.
    `prompts` overrides templates by name (those, `judge_system`, `judge_ask`, `expert_system`). `persona` makes a
    persona juror: one more system line (`judge_persona`) that enters the prompt hash. `max_tokens` None: 96, or
    320 for `reason`; `reason_words` caps the rationale. Raises ValueError for an unknown mode.
    """

    def __init__(
        self,
        model: Model,
        *,
        mode: JudgeMode = "logprobs",
        prompts: Mapping[str, str] | None = None,
        max_retries: int = 2,
        temperature: float | None = None,
        retry_temperature: float = 0.7,
        max_tokens: int | None = None,
        top_logprobs: int = 10,
        use_logprobs: bool = True,
        require_probability: bool = False,
        persona: str | None = None,
        reason_words: int = 80,
    ) -> None:
        if mode not in DECIDE_TEMPLATE:
            raise ValueError(f"mode: unknown judge mode {mode!r} (known: {', '.join(DECIDE_TEMPLATE)})")
        self.model = model
        self.mode = mode
        self.decide_template = DECIDE_TEMPLATE[mode]
        names = ("judge_system", self.decide_template, "judge_ask", "expert_system")
        overrides = dict(prompts or {})
        loaded = PromptSet.load(PROMPTS_DIR, names + (("judge_persona",) if persona else ()), overrides)
        self.persona = persona
        overridden = self.decide_template in overrides
        key = (id(loaded), mode, persona, overridden, temperature, max_tokens, top_logprobs, use_logprobs)
        built = _BUILT.get(key)
        if built is None or built[0] is not loaded:
            built = _build(
                loaded,
                self.decide_template,
                persona,
                overridden,
                mode,
                temperature,
                max_tokens,
                top_logprobs,
                use_logprobs,
            )
            if len(_BUILT) >= _BUILT_KEPT:
                _BUILT.clear()
            _BUILT[key] = built
        _, self.prompts, self._rubric, self._decide_cfg, self._ask_cfg = built
        self.identity = f"{model.name}#{self.prompts.hash}"
        self.name = self.identity
        self.max_retries = max_retries
        self.retry_temperature = retry_temperature
        self.require_probability = require_probability
        self.reason_words = reason_words

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
            "reason_words": str(self.reason_words),
        }

    def messages(self, view: View, template: str | None = None) -> list[ChatMessage]:
        """The chat messages this judge sends for `view` (the expert system prompt when the view has context);
        `template` defaults to this mode's decide template."""
        system = self.prompts.render("expert_system" if view.context else "judge_system")
        if self.persona:
            system += "\n\n" + self.prompts.templates["judge_persona"]
        user = self.prompts.render(template or self.decide_template, **self._fields(view))
        return [trusted(ChatMessage, role="system", content=system), trusted(ChatMessage, role="user", content=user)]

    def _provenance(self, view: View) -> Provenance:
        rubric, rubric_hash, author = self._rubric
        return Provenance(
            judge=self.identity,
            order_shown=list(view.order),
            rubric=rubric,
            rubric_hash=rubric_hash,
            rubric_author=author,
            persona=self.persona,
        )

    async def decide(self, view: View) -> Verdict:
        """The judgment for `view`: probabilities over the choices shown (indexed like the question's choices).

        Every attempt is returned as a turn. After `max_retries` unusable outputs the judgment has
        `valid=False` and no probabilities. Model errors propagate.
        """
        messages = self.messages(view)
        letters = view.letters
        turns: list[Turn] = []
        for attempt in range(self.max_retries + 1):
            cfg = trusted_copy(self._decide_cfg, {"seed": view.seed + attempt})
            if attempt:
                cfg = trusted_copy(cfg, {"temperature": max(cfg.temperature, self.retry_temperature)})
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
                    provenance=self._provenance(view),
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
                provenance=self._provenance(view),
            ),
            turns,
        )

    def _read(self, out: ModelOutput, letters: str) -> tuple[list[float], str] | None:
        last = self.mode == "reason"  # the reasoning comes first; the answer line after it is the verdict
        stated = read_stated_answer(out.text, letters, last=last)
        probs = read_logprob_answer(out, letters, last=last)
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
        out = await self.model.generate(messages, trusted_copy(self._ask_cfg, {"seed": view.seed}))
        return model_turn(view.role, out, messages, kind="question", round=view.round)


def _build(
    loaded: PromptSet,
    decide_template: str,
    persona: str | None,
    overridden: bool,
    mode: str,
    temperature: float | None,
    max_tokens: int | None,
    top_logprobs: int,
    use_logprobs: bool,
) -> tuple[PromptSet, PromptSet, tuple[str, str, str], GenerateConfig, GenerateConfig]:
    """What `LLMJudge.__init__` derives from its loaded prompt set and settings (see `_BUILT`)."""
    templates = dict(loaded.templates)
    if persona:  # the persona's own words enter the hash: two personas are two judges
        templates["judge_persona"] = templates["judge_persona"].format_map({"persona": persona})
    prompts = PromptSet.from_texts(templates)
    rubric = (
        f"override:{decide_template}" if overridden else f"judges/prompts/{decide_template}.txt",
        stable_hash(prompts.templates[decide_template]),  # the same hash spec.json records for the shipped file
        "user" if overridden else "oversight",
    )
    logprobs = use_logprobs and mode != "stated"
    tokens = max_tokens if max_tokens is not None else DEFAULT_MAX_TOKENS[mode]
    sampling = {} if temperature is None else {"temperature": temperature}  # None: the role's own setting
    decide_cfg = GenerateConfig(
        **sampling, max_tokens=tokens, logprobs=logprobs, top_logprobs=top_logprobs if logprobs else None
    )
    ask_tokens = tokens if mode != "reason" else DEFAULT_MAX_TOKENS["logprobs"]
    return loaded, prompts, rubric, decide_cfg, GenerateConfig(**sampling, max_tokens=ask_tokens)


__all__ = ["DECIDE_TEMPLATE", "LETTERS", "JudgeMode", "LLMJudge", "read_logprob_answer", "read_stated_answer"]
