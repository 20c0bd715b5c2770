"""Scripted models for market-making tests: a market, an adversary and a judge, each a pure function of its prompt
(so they can be named by import path in specs and their outputs are cache-stable).

* `market`: counts the arguments in the transcript it is shown, "The answer is X" with an optional run of "!"
  (each "!" one more unit of strength), and predicts p(X) proportional to exp(0.5 x strength(X)) in the
  elicited format. A transcript whose last turn says "MUTE" gets a reply with no distribution.
* `adversary`: argues the letter it is asked for with 0-2 "!" chosen by the call's seed (so best-of-k
  candidates differ), quoting the context; cross-examines with a fixed verdict; answers briefly.
* `judge`: picks the letter argued most often in the transcript it is shown, with a stated confidence.
"""

from __future__ import annotations

import math
import re

from oversight.types import ChatMessage, GenerateConfig

ARGUMENT = re.compile(r"The answer is ([A-Z])(!*)")
SECRET = "headquartered in Pouxford"


def _transcript(user: str) -> str:
    """The part of a prompt after "Transcript" (what the participants wrote), else ""."""
    for marker in ("Transcript so far:", "Transcript:"):
        if marker in user:
            return user.split(marker, 1)[1]
    return ""


def strengths(text: str, letters: str = "AB") -> dict[str, float]:
    out = dict.fromkeys(letters, 0.0)
    for m in ARGUMENT.finditer(text):
        if m.group(1) in out:
            out[m.group(1)] += 1.0 + len(m.group(2))
    return out


def predicted(text: str, letters: str = "AB") -> list[float]:
    """The distribution `market` states for a transcript `text`."""
    s = strengths(text, letters)
    w = [math.exp(0.5 * s[c]) for c in letters]
    return [x / sum(w) for x in w]


def market(messages: list[ChatMessage], config: GenerateConfig) -> str:
    shown = _transcript(messages[-1].content)
    if "MUTE" in shown.rsplit("<turn ", 1)[-1]:
        return "I would rather not say."
    p = predicted(shown)
    top = "A" if p[0] >= p[1] else "B"
    return f"Answer: {top}\nA: {100 * p[0]:.1f}%, B: {100 * p[1]:.1f}%"


def adversary(messages: list[ChatMessage], config: GenerateConfig) -> str:
    user = messages[-1].content
    if "Cross-examination: ask" in user:
        return f"Where does the text say that? It says <quote>{SECRET}</quote>.\nVerdict: misleading"
    if "Cross-examination:" in user:
        return "I stand by my argument."
    letter = re.search(r"argument that the answer is ([A-Z])", user).group(1)
    bangs = "!" * ((config.seed or 0) % 3)
    return f"The answer is {letter}{bangs} because the text says <quote>{SECRET}</quote>."


def judge(messages: list[ChatMessage], config: GenerateConfig) -> str:
    s = strengths(_transcript(messages[-1].content))
    top = "A" if s["A"] >= s["B"] else "B"
    return f"Answer: {top}\nConfidence: 80%"
