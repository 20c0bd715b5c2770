"""Programmatic debaters/consultants for cheap studies: they quote the context sentences that best support their
assigned answer (word-overlap retrieval), so real weak judges can be studied without a strong model.

Whether such an agent is honest depends only on the answer it is assigned. `fabricate` (0..1) makes it, with that
seeded probability per quote, put words in the text's mouth: a sentence with the answer spliced in, which quote
verification should flag.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from oversight.episode import Turn
from oversight.quotes import extract_quotes, normalize
from oversight.transcript import View, make_turn

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")
_STOP = frozenset(
    "a an the and or of to in on at by for with from is are was were be been it its this that these those as "
    "which who whom what when where why how not no do does did has have had he she they them his her their "
    "i you we us our your my me so if than then there here".split()
)


def sentences(text: str) -> list[str]:
    """`text` split into sentences (stripped, non-empty)."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def _words(text: str) -> set[str]:
    return {w for w in normalize(text).split() if w not in _STOP}


def support(sentence: str, answer: str, question: str, others: Sequence[str] = ()) -> float:
    """How much `sentence` seems to support `answer`: overlap with the answer's words (weighted), with the
    question's, minus overlap with words only the other answers have."""
    s = _words(sentence)
    a = _words(answer)
    other = set().union(*(_words(o) for o in others)) - a if others else set()
    return 2.0 * len(s & a) / (len(a) or 1) + 0.5 * len(s & _words(question)) - 1.0 * len(s & other) / (len(other) or 1)


class RetrievalArguer:
    """Argues `view.answer` by quoting the `quotes_per_turn` best-supporting sentences it has not quoted yet.

    Needs the view's raw context (debater/consultant roles see it). Deterministic given the view's seed.
    """

    def __init__(self, *, quotes_per_turn: int = 2, fabricate: float = 0.0, name: str = "retrieval") -> None:
        self.quotes_per_turn = quotes_per_turn
        self.fabricate = fabricate
        self.identity = f"program/{name}(k={quotes_per_turn},fabricate={fabricate})"

    def _ranked(self, view: View, answer: int) -> list[str]:
        sents = sentences(view.raw_context or "")
        text = view.choices[view.order.index(answer)]
        others = [c for k, c in enumerate(view.choices) if view.order[k] != answer]
        scored = sorted(enumerate(sents), key=lambda p: (-support(p[1], text, view.question, others), p[0]))
        return [s for _, s in scored]

    def _fresh(self, view: View, answer: int, k: int) -> list[str]:
        used = {normalize(q) for t in view.turns if t.role == view.role for q in extract_quotes(t.content)}
        return [s for s in self._ranked(view, answer) if normalize(s) not in used][:k]

    def _quote(self, sentence: str, answer_text: str, rng: random.Random) -> str:
        if self.fabricate and rng.random() < self.fabricate:
            words = sentence.rstrip(".!?").split()
            cut = len(words) // 2
            sentence = " ".join([*words[:cut], "because of", answer_text, *words[cut:]]) + "."
        return f"<quote>{sentence}</quote>"

    def _speech(self, view: View, lead: str) -> Turn:
        if view.answer is None:
            raise ValueError("a retrieval arguer needs an assigned answer (view.answer)")
        rng = random.Random(f"{view.seed}|{view.role}|{view.round}|{view.task}")
        answer_text = view.answer_text
        quotes = [self._quote(s, answer_text, rng) for s in self._fresh(view, view.answer, self.quotes_per_turn)]
        evidence = " ".join(f"The text says {q}" for q in quotes) or "The text is on my side."
        content = f"{lead} The answer is {view.letter}: {answer_text}. {evidence}"
        return make_turn(view.role, content, round=view.round, answer=view.answer)

    async def argue(self, view: View) -> Turn:
        """A speech quoting the best unused supporting sentences."""
        lead = "I maintain my position." if view.round else "I will show the answer."
        return self._speech(view, lead)

    async def ask(self, view: View) -> Turn:
        """A fixed cross-examination question."""
        question = "Which exact sentence of the text supports your answer?"
        return make_turn(view.role, question, kind="question", round=view.round, answer=view.answer)

    async def answer(self, view: View) -> Turn:
        """An answer that quotes more support."""
        turn = self._speech(view, "In answer:")
        turn.kind = "answer"
        return turn

    async def choose(self, view: View) -> Turn:
        """The answer whose best sentence supports it most (ties: the first shown)."""
        best, best_score = view.order[0], float("-inf")
        sents = sentences(view.raw_context or "")
        for k, idx in enumerate(view.order):
            others = [c for j, c in enumerate(view.choices) if j != k]
            score = max((support(s, view.choices[k], view.question, others) for s in sents), default=0.0)
            if score > best_score:
                best, best_score = idx, score
        return make_turn(view.role, f"Answer: {view.letter_of(best)}", kind="choice", round=view.round, answer=best)
