"""The shared machinery of LLM-backed agents: prompt files (hashed), one model call per turn, answer parsing."""

from __future__ import annotations

import copy
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from oversight.episode import Turn
from oversight.models.base import Model
from oversight.prompts import PromptSet
from oversight.transcript import ANSWER_RE, View, make_turn
from oversight.types import ChatMessage, GenerateConfig, trusted, trusted_copy

PROMPTS_DIR = Path(__file__).parent / "prompts"

#: (max_tokens, temperature) -> the agent's base config: agents are built per episode, configs are frozen
_CONFIGS: dict[tuple[int, float | None], GenerateConfig] = {}
_CONFIGS_KEPT = 256


def _base_config(max_tokens: int, temperature: float | None) -> GenerateConfig:
    key = (max_tokens, temperature)
    cfg = _CONFIGS.get(key)
    if cfg is None:
        # Only what we set explicitly overrides an experiment's per-role settings (the runner merges fields set).
        sampling = {} if temperature is None else {"temperature": temperature}
        cfg = GenerateConfig(max_tokens=max_tokens, **sampling)
        if len(_CONFIGS) >= _CONFIGS_KEPT:
            _CONFIGS.clear()
        _CONFIGS[key] = cfg
    return cfg


def parse_answer_letter(text: str, letters: str, *, last: bool = False) -> str | None:
    """The letter after "Answer:" in `text` (the first, or the last with `last=True`), if it is one of `letters`."""
    found = [m.group(1) for m in ANSWER_RE.finditer(text) if m.group(1) in letters]
    if not found:
        return None
    return found[-1] if last else found[0]


def call_seed(view: View, task: str) -> int:
    """A seed per (episode seed, speaker, round, task): reproducible, and different for each call of an episode."""
    return zlib.crc32(f"{view.seed}|{view.role}|{view.round}|{task}".encode())


class LLMAgent:
    """An agent whose prompts are files `agents/prompts/<name>.txt` (override by name with `prompts`).

    `identity` is the model name plus the hash of the prompt texts, recorded in every Episode it speaks in.
    `temperature=None` leaves sampling to the model's (or the experiment role's) setting.
    """

    prompt_names: tuple[str, ...] = ()

    def __init__(
        self,
        model: Model,
        *,
        prompts: Mapping[str, str] | None = None,
        temperature: float | None = None,
        max_tokens: int = 400,
    ) -> None:
        self.model = model
        self.prompts = PromptSet.load(PROMPTS_DIR, self.prompt_names, prompts)
        self.identity = f"{model.name}#{self.prompts.hash}"
        self._config = _base_config(max_tokens, temperature)
        # What does not change within an episode, rendered once: (the context it was made from, its section)
        self._context_section: tuple[str | None, str] = (None, "")

    def with_temperature(self, temperature: float) -> LLMAgent:
        """A copy of this agent that samples at `temperature` (same prompts and identity), e.g. for drawing several
        different candidate speeches."""
        other = copy.copy(self)
        other._config = self._config.model_copy(update={"temperature": temperature})
        return other

    def fields(self, view: View) -> dict[str, Any]:
        """Template fields for `view` (all text already escaped by the transcript), plus every named field the
        protocol passed to `view_for(...)` (`view.extra`), so a protocol's own templates can use `{its_field}`.
        Protocols escape agent-authored text they pass that way (`oversight.quotes.escape`)."""
        context = view.context
        made_from, section = self._context_section
        if context is not made_from:
            section = f"The text:\n<source>\n{context}\n</source>\n\n" if context else ""
            self._context_section = (context, section)
        letters = view.letters
        return {
            "name": view.name,
            "letter": view.letter or "",
            "answer": view.answer_text,
            "question": view.question,
            "choices": view.choices_text,
            "letters": " or ".join(letters) if len(letters) == 2 else ", ".join(letters),
            "context": context or "",
            "context_section": section,
            "transcript": view.transcript,
            "transcript_section": f"\nTranscript so far:\n{view.transcript}\n" if view.transcript else "",
            "round": view.round + 1,
            "rounds": view.rounds,
            "word_limit": view.word_limit or 150,
            "instruction": "",
            **view.extra,
        }

    async def call(
        self,
        view: View,
        system: str,
        template: str,
        *,
        kind: str,
        max_tokens: int | None = None,
        seed: int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Turn:
        """One model call with `system` and `template` rendered for `view`, as a Turn (role/round from the view).

        `seed` replaces the per-(speaker, round, task) `call_seed`; `extra` goes to `GenerateConfig.extra`
        (provider options such as vLLM's `structured_outputs`)."""
        f = self.fields(view)
        messages = [
            trusted(ChatMessage, role="system", content=self.prompts.render(system, **f)),
            trusted(ChatMessage, role="user", content=self.prompts.render(template, **f)),
        ]
        update: dict[str, Any] = {"seed": call_seed(view, template) if seed is None else seed}
        if max_tokens is not None:
            update["max_tokens"] = max_tokens
        if extra:
            update["extra"] = {**self._config.extra, **extra}
        out = await self.model.generate(messages, trusted_copy(self._config, update))
        return make_turn(
            view.role,
            out.text.strip(),
            kind=kind,
            round=view.round,
            answer=view.answer,
            seen=messages,
            model=out.model or None,
            usage=out.usage,
            latency=out.latency,
            cached=out.cached,
        )

    async def choose_side(self, view: View, system: str, template: str) -> Turn:
        """Ask the model which answer it takes; the turn's `answer` is the choice index, or None if unparseable."""
        turn = await self.call(view, system, template, kind="choice", max_tokens=24)
        letter = parse_answer_letter(turn.content, view.letters)
        turn.answer = None if letter is None else view.choice_of(letter)
        return turn
