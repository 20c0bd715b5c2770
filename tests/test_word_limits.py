"""Word limits: `truncate_words` cuts after the limit-th word and counts every word, whatever the whitespace."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from oversight.transcript import truncate_words

_WORD = re.compile(r"\S+")


def reference(text: str, limit: int) -> tuple[str, int]:
    """The word-by-word definition: the text up to the end of its limit-th word when it has more words."""
    words = list(_WORD.finditer(text))
    if len(words) > limit:
        return text[: words[limit - 1].end()], len(words)
    return text, len(words)


# words of letters and punctuation between every kind of whitespace str.split and \s know (NBSP, ideographic, ...)
pieces = st.sampled_from(["a", "bé", "x.", "\u00a0", " ", "\n", "\t", "\u3000", "\u2028", "\x1c", "\x85", "\u200b"])


@given(text=st.lists(pieces, max_size=60).map("".join), limit=st.integers(1, 12))
def test_truncate_words_matches_the_word_by_word_definition(text: str, limit: int) -> None:
    assert truncate_words(text, limit) == reference(text, limit)


def test_no_limit_leaves_text_alone() -> None:
    assert truncate_words("a b c", None) == ("a b c", -1)
