"""Free-form answers compared with gold ones: numbers by value, lists of numbers as sets, yes/no by the word, text by
containment after normalising. Used to score decomposition steps and free-form final answers."""

from __future__ import annotations

import re
import unicodedata

_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?![\w])|(?<![\w.])-?\.\d+(?![\w])")
_ANSWER_LINE = re.compile(r"(?i)\banswer\s*(?:is)?\s*[:：]\s*(.+)")
_PARTS = re.compile(r"\s*;\s*|,\s+|\s+and\s+")  # "1,234" is one number, "a, b" two parts
_YES_NO = {"yes": "yes", "true": "yes", "no": "no", "false": "no"}


def numbers_in(text: str) -> list[float]:
    """The numbers written in `text`, in order ("1,234" -> 1234.0, "$2.50" -> 2.5)."""
    out = []
    for m in _NUMBER.finditer(text.replace("$", " ")):
        try:
            out.append(float(m.group().replace(",", "")))
        except ValueError:
            continue
    return out


def stated_answer(text: str) -> str | None:
    """What follows the last "Answer:" of a reply, on that line (None when it states none), tidied as in
    `final_answer`."""
    found = _ANSWER_LINE.findall(text)
    return _tidy(found[-1]) if found else None


def final_answer(text: str) -> str:
    """The answer a reply gives: what follows its last "Answer:" on that line, else its last non-empty line ("" for
    an empty reply). Surrounding quotes, asterisks and a final full stop are dropped."""
    stated = stated_answer(text)
    if stated is not None:
        return stated
    return _tidy(next((ln for ln in reversed(text.splitlines()) if ln.strip()), ""))


def _tidy(line: str) -> str:
    return line.strip().strip("*\"'`").strip().removesuffix(".").strip()


def normalise(text: str) -> str:
    """Lower case, accents and punctuation dropped (decimal points kept), whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
    return " ".join(re.sub(r"[^\w\s.]", " ", text).split())


def _is_number(text: str) -> bool:
    return bool(re.fullmatch(r"\s*\$?\s*-?[\d,]*\.?\d+\s*%?\s*", text))


def answers_match(answer: str, gold: str) -> bool:
    """Whether free-form `answer` gives `gold`.

    - a number: the answer's last number equals it (relative tolerance 1e-6);
    - several numbers (e.g. "0, 3, 5"): the answer names the same numbers, in any order;
    - yes/no (or true/false): the answer's first such word agrees;
    - text: the normalised gold occurs in the normalised answer, or each of its parts does (parts are separated by
      ", ", ";" or "and", as in a list; a "name: value" part needs both).
    """
    gold_s, ans = gold.strip(), final_answer(answer) or answer
    if not gold_s:
        return False
    if _is_number(gold_s):
        want, got = numbers_in(gold_s), numbers_in(ans)
        return bool(want and got) and abs(got[-1] - want[0]) <= 1e-6 * max(1.0, abs(want[0]))
    gold_numbers = numbers_in(gold_s)
    if len(gold_numbers) > 1 and not re.search(r"[A-Za-z]", gold_s):
        return sorted(numbers_in(ans)) == sorted(gold_numbers)
    g = normalise(gold_s)
    if g in _YES_NO:
        words = [_YES_NO[w] for w in normalise(ans).split() if w in _YES_NO]
        return bool(words) and words[0] == _YES_NO[g]
    a = normalise(answer)
    if g and g in a:
        return True
    # "name: value" parts need the name and the value; a plain list needs each item
    parts = [normalise(x) for p in _PARTS.split(gold_s) for x in p.split(":") if normalise(x)]
    return len(parts) > 1 and all(p in a for p in parts)


__all__ = ["answers_match", "final_answer", "normalise", "numbers_in", "stated_answer"]
