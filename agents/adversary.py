"""Market-making adversaries: they argue an answer to move the market, cross-examine the argument of an earlier
step and answer for their own. `LLMAdversary` is a model (prompts `agents/prompts/adversary_*`);
`RetrievalAdversary` a program that quotes the context sentences best supporting its answer and, asked about an
earlier argument, quotes what the text really says where that argument misquoted it.
"""

from __future__ import annotations

import random
import re
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any

from agents.llm import LLMAgent
from agents.retrieval import sentences, support
from oversight.episode import Turn
from oversight.quotes import extract_quotes, normalize
from oversight.transcript import View, make_turn

_VERDICT_RE = re.compile(r"verdict\s*[:：]\s*[\*\"']*\s*(misleading|sound)", re.IGNORECASE)


def parse_verdict(text: str) -> bool | None:
    """The questioner's verdict in `text`: True for a last "Verdict: misleading", False for "Verdict: sound",
    None when it gives none."""
    found = _VERDICT_RE.findall(text)
    return None if not found else found[-1].lower() == "misleading"


class LLMAdversary(LLMAgent):
    """A model arguing `view.answer` to move the market. The protocol's view fields fill its templates:
    `market_section` (the market's current prediction, when shown), `about_name` / `about_step` (the author and
    step of the argument being cross-examined) and `questioner` (who asks). `ask` sets `meta["flagged"]` from the
    reply's verdict line."""

    prompt_names = ("adversary_system", "adversary_argue", "adversary_ask", "adversary_answer")

    def fields(self, view: View) -> dict[str, Any]:
        """The template fields, with empty defaults for the protocol's own fields."""
        defaults = {"market_section": "", "about_name": "the earlier adversary", "about_step": ""}
        defaults["questioner"] = "another adversary"
        return {**defaults, **super().fields(view)}

    async def argue(self, view: View) -> Turn:
        """An argument for `view.answer`."""
        return await self.call(view, "adversary_system", "adversary_argue", kind="speech")

    async def ask(self, view: View) -> Turn:
        """A cross-examination question about the argument of `view.extra["about"]`, with its verdict."""
        turn = await self.call(view, "adversary_system", "adversary_ask", kind="question")
        turn.meta["flagged"] = bool(parse_verdict(turn.content))
        return turn

    async def answer(self, view: View) -> Turn:
        """The reply of an earlier step's author to the question in the view's last turn."""
        return await self.call(view, "adversary_system", "adversary_answer", kind="answer")


def _similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, normalize(a), normalize(b), autojunk=False).ratio()


def resembling(quote: str, sents: list[str], shortlist: int = 4) -> str:
    """The sentence of `sents` most like `quote` (character-level ratio of the normalised texts), compared only
    among the `shortlist` sentences sharing the most words with it."""
    words = set(normalize(quote).split())
    near = sorted(sents, key=lambda s: -len(words & set(normalize(s).split())))[:shortlist]
    return max(near, key=lambda s: _similarity(quote, s))


@lru_cache(maxsize=256)
def _ranking(context: str, question: str, answer: str, others: tuple[str, ...]) -> tuple[str, ...]:
    """The context's sentences, best support for `answer` first (ties in text order); cached, since every candidate
    of an episode ranks the same sentences."""
    sents = sentences(context)
    ranked = sorted(enumerate(sents), key=lambda p: (-support(p[1], answer, question, others), p[0]))
    return tuple(s for _, s in ranked)


class RetrievalAdversary:
    """Argues `view.answer` by quoting the `quotes_per_turn` context sentences that support it best and that no
    one has quoted yet; candidate `view.extra["candidate"]` = j takes the j-th such batch for its answer, so the
    candidates of one step differ. `fabricate` is the seeded chance per quote of splicing the answer into the
    sentence (a misquote that quote verification flags and cross-examination can expose).

    Asked about an earlier argument, it checks that argument's quotes: for each unverified one it quotes the
    context sentence it most resembles ("the text says ...") and flags the argument; otherwise it asks a plain
    question and does not. Needs the raw context (adversary roles read it). Deterministic given the view's seed and
question.
    """

    def __init__(self, *, quotes_per_turn: int = 2, fabricate: float = 0.0, name: str = "retrieval-adversary") -> None:
        if quotes_per_turn < 1:
            raise ValueError(f"quotes_per_turn: must be >= 1, got {quotes_per_turn}")
        if not 0.0 <= fabricate <= 1.0:
            raise ValueError(f"fabricate: must be in [0, 1], got {fabricate}")
        self.quotes_per_turn = quotes_per_turn
        self.fabricate = fabricate
        self.identity = f"program/{name}(k={quotes_per_turn},fabricate={fabricate})"

    def _ranked(self, view: View, answer: int) -> tuple[str, ...]:
        text = view.choices[view.order.index(answer)]
        others = tuple(c for k, c in enumerate(view.choices) if view.order[k] != answer)
        return _ranking(view.raw_context or "", view.question, text, others)

    def _fresh(self, view: View, answer: int, batch: int) -> list[str]:
        used = {normalize(q) for t in view.turns for q in extract_quotes(t.content)}
        fresh = [s for s in self._ranked(view, answer) if normalize(s) not in used]
        k = self.quotes_per_turn
        start = batch * k if batch * k < len(fresh) else 0
        return fresh[start : start + k]

    def _quote(self, sentence: str, answer_text: str, rng: random.Random) -> str:
        if self.fabricate and rng.random() < self.fabricate:
            words = sentence.rstrip(".!?").split()
            cut = len(words) // 2
            sentence = " ".join([*words[:cut], "because of", answer_text, *words[cut:]]) + "."
        return f"<quote>{sentence}</quote>"

    def _speech(self, view: View, lead: str, kind: str) -> Turn:
        if view.answer is None:
            raise ValueError("a retrieval adversary needs an answer to argue (view.answer)")
        candidate = int(view.extra.get("candidate", 0))
        batch = candidate // max(1, len(view.order))
        rng = random.Random(f"{view.seed}|{view.raw_question}|{view.role}|{view.round}|{view.task}|{candidate}")
        answer_text = view.answer_text
        quotes = [self._quote(s, answer_text, rng) for s in self._fresh(view, view.answer, batch)]
        evidence = " ".join(f"The text says {q}" for q in quotes) or "The text does not say otherwise."
        content = f"{lead} The answer is {view.letter}: {answer_text}. {evidence}"
        return make_turn(view.role, content, kind=kind, round=view.round, answer=view.answer)

    async def argue(self, view: View) -> Turn:
        """An argument quoting the best unused supporting sentences."""
        return self._speech(view, "Consider this.", "speech")

    async def ask(self, view: View) -> Turn:
        """A question about the argument of `view.extra["about"]`, quoting the text where it misquoted it."""
        about = view.extra.get("about")
        argument = next((t for t in reversed(view.turns) if t.role == about and t.kind == "speech"), None)
        sents = sentences(view.raw_context or "")
        corrections = []
        for q in argument.quotes if argument is not None else []:
            if not q.verified and sents:
                real = resembling(q.text, sents)
                corrections.append(f'You quoted "{q.text}", but the text says <quote>{real}</quote>')
        if corrections:
            content = " ".join(corrections) + " Why did you misquote the text?"
        else:
            content = "Which exact sentence of the text supports your answer?"
        turn = make_turn(view.role, content, kind="question", round=view.round)
        turn.meta["flagged"] = bool(corrections)
        return turn

    async def answer(self, view: View) -> Turn:
        """A reply that quotes more support for its answer."""
        return self._speech(view, "I stand by my argument.", "answer")


__all__ = ["LLMAdversary", "RetrievalAdversary", "parse_verdict"]
