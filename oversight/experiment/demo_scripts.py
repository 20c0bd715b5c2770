"""Pure script functions for `scripted/...` models in example specs (`fn = "oversight.experiment.demo_scripts:..."`).

Each is a pure function of (messages, config), so its outputs are cache-stable across runs (see
`ScriptedProvider.cache_identity`).
"""

from __future__ import annotations

import hashlib
import re

from oversight.types import ChatMessage, GenerateConfig

_LETTERS_RE = re.compile(r"one letter \(([A-Z](?:[, /or]+[A-Z])*)\)")
_SOURCE_RE = re.compile(r"<source>\n(.*?)\n</source>", re.DOTALL)
_SPEAKER_RE = re.compile(r"You are (Debater [A-Z]|a consultant)")


def hash_judge(messages: list[ChatMessage], config: GenerateConfig) -> str:
    """A coin-flipping judge: "Answer: X" with X picked by a hash of the prompt, plus a stated confidence.

    Returns the reply text. The letters offered are read from the prompt ("one letter (A, B)"), else A/B.
    """
    prompt = "\n".join(m.content for m in messages)
    found = _LETTERS_RE.search(prompt)
    letters = re.findall(r"[A-Z]", found.group(1)) if found else ["A", "B"]
    digest = hashlib.sha256(f"{prompt}\0{config.seed}".encode()).digest()
    letter = letters[digest[0] % len(letters)]
    confidence = 55 + digest[1] % 40
    return f"Answer: {letter}\nConfidence: {confidence}%\nIt reads as the more plausible answer."


def quoting_speaker(messages: list[ChatMessage], config: GenerateConfig) -> str:
    """A debater or consultant that quotes the hidden text it was given once word for word (a verified quote)
    and once wrongly (an unverified one), so a run shows both; returns the speech."""
    prompt = "\n".join(m.content for m in messages)
    found = _SOURCE_RE.search(prompt)
    words = found.group(1).split() if found else []
    digest = hashlib.sha256(f"{prompt}\0{config.seed}".encode()).digest()
    start = digest[0] % max(1, len(words) - 8)
    verbatim = " ".join(words[start : start + 6]) or "nothing"
    who = _SPEAKER_RE.search(prompt)
    name = who.group(1) if who else "I"
    return (
        f"{name} here. The text reads <quote>{verbatim}</quote>, and it also says "
        f"<quote>the records were sealed in {1900 + digest[1] % 100}</quote>. So my answer is the right one."
    )
