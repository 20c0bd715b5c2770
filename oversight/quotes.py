"""`<quote>...</quote>` spans in agent text, checked against the hidden context, and escaping of agent text.

A quote is *verified* when, after normalising case, whitespace and punctuation, it occurs in the context exactly,
or when its best-matching context window is at least `fuzzy_threshold` similar. Only our renderer writes quote
tags with a status; agent text is escaped first, so no agent can forge a verified mark, a speaker's turn or an
instruction (see `escape` and `render_speech`).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from difflib import SequenceMatcher
from functools import lru_cache

from pydantic import BaseModel, Field

from oversight.episode import Quote, Turn
from oversight.types import trusted

#: What agents write to quote the context. Parsed from raw agent text, before escaping.
QUOTE_RE = re.compile(r"<quote>(.*?)</quote>", re.IGNORECASE | re.DOTALL)

_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`]")
_PUNCT = re.compile(r"[^\w\s]|_")
# Chat-template control sequences that need no angle brackets ([INST], [/INST], [SYS]): defanged when escaping.
_TEMPLATE_MARKERS = re.compile(r"\[(/?)(INST|SYS|SYSTEM)\]", re.IGNORECASE)
# Lookalikes of our markup that a reader (a model) could still take for it once escaped: tags named like ours in
# raw, entity, full-width or guillemet brackets, and bracketed status marks such as "[verified]".
_LT = r"(?:<|&lt;?|&#0*60;?|&#x0*3c;?|\u2039|\uff1c|\u00ab)"
_GT = r"(?:>|&gt;?|&#0*62;?|&#x0*3e;?|\u203a|\uff1e|\u00bb)"
_TAG_LOOKALIKE = re.compile(
    rf"{_LT}\s*/?\s*[\w|]*(?:quote|turn|system|judge|source|context|instruction|im_start|im_end)[^<>\n]{{0,80}}?{_GT}",
    re.IGNORECASE,
)
_MARK_LOOKALIKE = re.compile(r"[\[\(\{]\s*(?:un)?verified[^\]\)\}\n]{0,40}[\]\)\}]", re.IGNORECASE)
TAG_REMOVED = "[tag removed]"
MARK_REMOVED = "[mark removed]"


class QuoteConfig(BaseModel):
    """How quotes are checked. The default, `fuzzy_threshold=1.0`, accepts exact (normalised) matches only.

    Lower it (e.g. 0.9) to forgive typos — but a fuzzy match also forgives a slipped-in word such as "not" in a
    long sentence, which is exactly what a dishonest debater would try; the score is recorded either way.
    """

    fuzzy_threshold: float = Field(default=1.0, ge=0.0, le=1.0)
    min_words: int = Field(default=1, ge=1)  # shorter quotes are never verified (one common word proves nothing)


def normalize(text: str) -> str:
    """Case-folded text with apostrophes dropped, other punctuation turned into spaces and whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _PUNCT.sub(" ", _APOSTROPHES.sub("", text))
    return " ".join(text.split())


class _ContextIndex:
    """A context normalised once: its padded text for exact search and a token -> positions map for fuzzy search."""

    __slots__ = ("padded", "tokens", "positions")

    def __init__(self, context: str) -> None:
        norm = normalize(context)
        self.padded = f" {norm} "
        self.tokens = norm.split()
        positions: dict[str, list[int]] = {}
        for i, tok in enumerate(self.tokens):
            positions.setdefault(tok, []).append(i)
        self.positions = positions


@lru_cache(maxsize=128)
def _index(context: str) -> _ContextIndex:
    # Every turn of an episode checks against the same context: normalise it once.
    return _ContextIndex(context)


def quote_score(quote: str, context: str) -> float:
    """Similarity of `quote` to its best-matching span of `context`: 1.0 for an exact normalised match, else the
    character-level similarity ratio (0..1) of the best candidate window of the same number of words."""
    nq = normalize(quote)
    if not nq or not context:
        return 0.0
    idx = _index(context)
    if f" {nq} " in idx.padded:
        return 1.0
    qtoks = nq.split()
    n = len(qtoks)
    # Candidate windows: starts implied by where the quote's words occur in the context (vote per start).
    votes: dict[int, int] = {}
    last_start = max(0, len(idx.tokens) - n)
    first_at: dict[str, int] = {}
    for j, tok in enumerate(qtoks):
        first_at.setdefault(tok, j)
    for tok, j in first_at.items():
        for p in idx.positions.get(tok, ()):
            start = min(max(0, p - j), last_start)
            votes[start] = votes.get(start, 0) + 1
    if not votes:
        return 0.0
    best = 0.0
    for start in sorted(votes, key=lambda s: (-votes[s], s))[:8]:
        for length in (n - 1, n, n + 1):
            if length < 1:
                continue
            window = " ".join(idx.tokens[start : start + length])
            ratio = SequenceMatcher(None, nq, window, autojunk=False).ratio()
            best = max(best, ratio)
    return best


def check_quote(text: str, context: str | None, cfg: QuoteConfig | None = None) -> Quote:
    """A `Quote` for `text` with its status against `context` (never verified when there is no context)."""
    cfg = cfg or _DEFAULT
    if not context or len(normalize(text).split()) < cfg.min_words:
        return trusted(Quote, text=text, verified=False, score=0.0)
    score = quote_score(text, context)
    return trusted(Quote, text=text, verified=score >= cfg.fuzzy_threshold and score > 0.0, score=score)


_DEFAULT = QuoteConfig()


def extract_quotes(content: str) -> list[str]:
    """The inner texts of the `<quote>` spans in `content`, in order."""
    return [m.group(1) for m in QUOTE_RE.finditer(content)]


def verify_quotes(turn: Turn, context: str | None, cfg: QuoteConfig | None = None) -> Turn:
    """`turn` with `quotes` recomputed from its content against `context` (in place; returns the same turn).

    Whatever quote statuses a speaker attached are discarded: only this check can mark a quote verified.
    """
    turn.quotes = [check_quote(q, context, cfg) for q in extract_quotes(turn.content)]
    return turn


def escape(text: str) -> str:
    """Agent- or dataset-authored text made inert for our prompts: `&`, `<`, `>` become entities (so no tag of
    ours, and no `<|special|>` chat token, can be written) and bracketed template markers are defanged."""
    text = html.escape(text, quote=False)
    if "[" in text:
        text = _TEMPLATE_MARKERS.sub(lambda m: f"({m.group(1)}{m.group(2)})", text)
    return text


def escape_agent(text: str) -> str:
    """Agent-authored text made inert: lookalikes of our tags and status marks are replaced by `[tag removed]` /
    `[mark removed]` (a model reading `&lt;quote status="verified"&gt;` might still believe it), then `escape`."""
    if "verified" in text.lower():
        text = _MARK_LOOKALIKE.sub(MARK_REMOVED, text)
    text = _TAG_LOOKALIKE.sub(TAG_REMOVED, text)
    return escape(text)


def render_speech(content: str, quotes: Sequence[Quote]) -> str:
    """Agent text made inert (`escape_agent`), with its `<quote>` spans re-emitted as
    `<quote status="verified|unverified">`. The i-th span takes the status of `quotes[i]`; spans without a
    checked `Quote` are shown unverified.
    """
    out: list[str] = []
    pos = 0
    for i, m in enumerate(QUOTE_RE.finditer(content)):
        out.append(escape_agent(content[pos : m.start()]))
        status = "verified" if i < len(quotes) and quotes[i].verified else "unverified"
        out.append(f'<quote status="{status}">{escape_agent(m.group(1))}</quote>')
        pos = m.end()
    out.append(escape_agent(content[pos:]))
    return "".join(out)


__all__ = ["QuoteConfig", "check_quote", "escape", "extract_quotes", "verify_quotes"]
