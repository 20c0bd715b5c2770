"""Pure script functions for `scripted/...` models in example specs (`fn = "oversight.experiment.demo_scripts:..."`).

Each is a pure function of (messages, config), so its outputs are cache-stable across runs (see
`ScriptedProvider.cache_identity`).
"""

from __future__ import annotations

import hashlib
import re

from oversight.types import ChatMessage, GenerateConfig

_LETTERS_RE = re.compile(r"one letter \(([A-Z](?:[, /or]+[A-Z])*)\)")


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
