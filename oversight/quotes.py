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
from oversight.types import set_fields, trusted

#: What agents write to quote the context. Parsed from raw agent text, before escaping.
QUOTE_RE = re.compile(r"<quote>(.*?)</quote>", re.IGNORECASE | re.DOTALL)
QUOTE_TAG_RE = re.compile(r"</?quote>", re.IGNORECASE)

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
# Line breaks other than "\n" (CR, CRLF, VT, FF, the file/group/record separators, NEL, U+2028/U+2029): many
# tokenizers and terminals start a new line at them, so they become "\n" and get the renderer's line prefix.
_LINE_BREAKS = re.compile("\r\n?|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# Other C0/C1 controls (NUL, BEL, backspace, ESC sequences, DEL, ...) and bidirectional overrides: shown as
# visible escapes (`\x1b`, `\u202e`), so they can neither move a terminal's cursor nor reorder what a reader sees.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Fast checks that text needs none of it: ASCII text without controls (the usual case) translates to nothing once
# its printable characters, newline and tab are deleted; other text is searched with one character class.
_PLAIN_ASCII = bytes(range(0x20, 0x7F)) + b"\n\t"
_ANY_CONTROL = re.compile("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029" + _CONTROLS.pattern[1:])
# ASCII as `normalize` maps it: letters lowered, letters, digits and whitespace kept, other punctuation a space
_NORMALIZE_ASCII = bytes(
    ord(c.lower()) if c.isalnum() or c.isspace() else ord(" ") for c in map(chr, range(128))
) + bytes(range(128, 256))
TAG_REMOVED = "[tag removed]"
MARK_REMOVED = "[mark removed]"


#: the default `QuoteConfig.min_words`. Answers are short (one or two words in gen/hidden-passage and BoolQ), and
#: both answers of a question usually occur in its passage, so a quote of an answer's own words, or of the answer
#: with a word or two around it ("by Nimtun Founkal"), would verify for both sides and prove nothing. Five words
#: is the shortest length that stops all of those (tests/test_hostile_transcript.py measures it); a longer quote
#: is a clause of the passage ("was mentored by Nimtun Founkal"), whose relevance is for the judge to weigh.
MIN_QUOTE_WORDS = 5


class QuoteConfig(BaseModel):
    """How quotes are checked. The default, `fuzzy_threshold=1.0`, accepts exact (normalised) matches only.

    Lower it (e.g. 0.9) to forgive typos — but a fuzzy match also forgives a slipped-in word such as "not" in a
    long sentence, which is exactly what a dishonest debater would try; the score is recorded either way.
    Quotes shorter than `min_words` words are never verified (see `MIN_QUOTE_WORDS`).
    """

    fuzzy_threshold: float = Field(default=1.0, ge=0.0, le=1.0)
    min_words: int = Field(default=MIN_QUOTE_WORDS, ge=1)
    #: show the judge each speech's quote coverage (its turn header gets `quote_coverage="0.36"`); off by default,
    #: since the judge already sees every quote marked verified or unverified and the number changes its prompt
    show_coverage: bool = False


def normalize(text: str) -> str:
    """Case-folded text with apostrophes dropped, other punctuation turned into spaces and whitespace collapsed."""
    if text.isascii():  # NFKC changes no ASCII text and casefold is lower: one byte table does all but the split
        return " ".join(text.encode("ascii").translate(_NORMALIZE_ASCII, b"'`").decode("ascii").split())
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
    return _score(normalize(quote), context)


def _score(nq: str, context: str) -> float:
    """`quote_score` of a quote already normalised."""
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
    if not context:
        return trusted(Quote, text=text, verified=False, score=0.0)
    nq = normalize(text)  # once: the word count and the match both read it
    if (nq.count(" ") + 1 if nq else 0) < cfg.min_words:  # its words: normalised text is single-spaced, stripped
        return trusted(Quote, text=text, verified=False, score=0.0)
    score = _score(nq, context)
    return trusted(Quote, text=text, verified=score >= cfg.fuzzy_threshold and score > 0.0, score=score)


_DEFAULT = QuoteConfig()


def extract_quotes(content: str) -> list[str]:
    """The inner texts of the `<quote>` spans in `content`, in order."""
    return QUOTE_RE.findall(content)  # one group: findall gives its text


def verify_quotes(turn: Turn, context: str | None, cfg: QuoteConfig | None = None) -> Turn:
    """`turn` with `quotes` recomputed from its content against `context` (in place; returns the same turn), and,
    when there is a context to check against, `meta["quote_coverage"]`: the share of the speech's words that lie
    inside verified quotes (`quote_coverage`); with `cfg.show_coverage` also `meta["show_coverage"]`, which puts
    it in the turn's rendered header.

    Whatever quote statuses a speaker attached are discarded: only this check can mark a quote verified.
    """
    set_fields(turn, quotes=[check_quote(q, context, cfg) for q in extract_quotes(turn.content)])
    if context:
        turn.meta["quote_coverage"] = quote_coverage(turn.content, turn.quotes)
        if cfg is not None and cfg.show_coverage:
            turn.meta["show_coverage"] = True  # kept with the turn, so a re-rendering shows what the judge saw
    return turn


def quote_coverage(content: str, quotes: Sequence[Quote]) -> float:
    """The share (0..1, 4 decimals) of the words of `content` (quote tags not counted) inside `<quote>` spans whose
    `Quote` is verified (`quotes` as `verify_quotes` made them from `content`); 0.0 for empty text."""
    inside = 0
    for q in quotes:  # each `Quote.text` is the inner text of its span
        if q.verified:
            inside += len(q.text.split())
    if not inside:
        return 0.0
    total = len(QUOTE_TAG_RE.sub("", content).split())  # words as the word limit counts them
    return round(inside / total, 4) if total else 0.0


def neutralize_controls(text: str) -> str:
    """`text` with every line break other than `\\n` turned into `\\n`, and every other control character (C0/C1,
    DEL, bidirectional overrides) written as a visible escape such as `\\x1b`; tabs and newlines are kept."""
    if text.isascii():
        if not text.encode("ascii").translate(None, _PLAIN_ASCII):
            return text
    elif _ANY_CONTROL.search(text) is None:
        return text
    text = _LINE_BREAKS.sub("\n", text)
    return _CONTROLS.sub(_visible, text)


def _visible(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def coverage_by_role(turns: Sequence[Turn]) -> dict[str, float]:
    """role -> mean `quote_coverage` of its turns that recorded one (speeches checked against a context), for
    analysis (`Run.df`, comparison records); roles without such turns are left out."""
    sums: dict[str, list[float]] = {}
    for t in turns:
        value = t.meta.get("quote_coverage")
        if isinstance(value, int | float):
            sums.setdefault(t.role, []).append(float(value))
    return {role: round(sum(v) / len(v), 4) for role, v in sums.items()}


def escape(text: str) -> str:
    """Agent- or dataset-authored text made inert for our prompts: control characters neutralised
    (`neutralize_controls`), `&`, `<`, `>` turned into entities (so no tag of ours, and no `<|special|>` chat token,
    can be written) and bracketed template markers defanged."""
    return _entities(neutralize_controls(text))


def escape_agent(text: str) -> str:
    """Agent-authored text made inert: lookalikes of our tags and status marks are replaced by `[tag removed]` /
    `[mark removed]` (a model reading `&lt;quote status="verified"&gt;` might still believe it), then `escape`."""
    return _entities(_defang(neutralize_controls(text)))


def _entities(text: str) -> str:
    text = html.escape(text, quote=False)
    if "[" in text:
        text = _TEMPLATE_MARKERS.sub(lambda m: f"({m.group(1)}{m.group(2)})", text)
    return text


def _defang(text: str) -> str:
    if "verified" in text.lower():
        text = _MARK_LOOKALIKE.sub(MARK_REMOVED, text)
    return _TAG_LOOKALIKE.sub(TAG_REMOVED, text)


def render_speech(content: str, quotes: Sequence[Quote]) -> str:
    """Agent text made inert (`escape_agent`), with its `<quote>` spans re-emitted as
    `<quote status="verified|unverified">`. The i-th span takes the status of `quotes[i]`; spans without a
    checked `Quote` are shown unverified.
    """
    # Controls first, once for the whole speech: it changes no `<quote>` tag, so the spans stay the same.
    content = neutralize_controls(content)
    out: list[str] = []
    pos = 0
    for i, m in enumerate(QUOTE_RE.finditer(content)):
        out.append(_inert_agent(content[pos : m.start()]))
        status = "verified" if i < len(quotes) and quotes[i].verified else "unverified"
        out.append(f'<quote status="{status}">{_inert_agent(m.group(1))}</quote>')
        pos = m.end()
    out.append(_inert_agent(content[pos:]))
    return "".join(out)


def _inert_agent(text: str) -> str:
    """`_entities(_defang(text))` of text whose controls are already neutralised. ASCII text without `<`, `>`,
    `&`, `[` or the word "verified" (most prose) is returned as it is: neither step changes it."""
    if (
        text.isascii()
        and "<" not in text
        and ">" not in text
        and "&" not in text
        and "[" not in text
        and "verified" not in text.lower()
    ):
        return text
    return _entities(_defang(text))


__all__ = [
    "MIN_QUOTE_WORDS",
    "QuoteConfig",
    "check_quote",
    "coverage_by_role",
    "escape",
    "extract_quotes",
    "neutralize_controls",
    "quote_coverage",
    "verify_quotes",
]
