"""A reference population's answer distributions, per question, for the distributional comparison of juries
(Sorensen et al. 2024: how close is a jury's spread of answers to the spread in a population).

The file is JSONL, one question per line: `{"question_id": "...", "distribution": [0.7, 0.3]}` (aligned with the
question's choices as the episode records them) or `{"question_id": "...", "distribution": {"yes": 0.7, "no":
0.3}}` (by choice text). Shares need not sum to 1; they are normalised.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

Reference = dict[str, list[float] | dict[str, float]]


def load_reference(path: str | Path) -> Reference:
    """question id -> distribution. Raises ValueError naming the file and line for a missing file, bad JSON,
    a missing field, a negative or non-numeric share, or a question given twice."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: no such reference file")
    out: Reference = {}
    for lineno, line in enumerate(p.read_text().splitlines(), 1):
        if not line.strip():
            continue
        where = f"{p}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{where}: not JSON ({err})") from None
        if not isinstance(row, dict) or not isinstance(row.get("question_id"), str):
            raise ValueError(f"{where}: expected an object with a string question_id")
        dist = row.get("distribution")
        values = list(dist.values()) if isinstance(dist, dict) else dist
        if not isinstance(values, list) or not values or not all(_share(v) for v in values):
            raise ValueError(f"{where}: distribution must be a non-empty list or object of shares >= 0")
        if row["question_id"] in out:
            raise ValueError(f"{where}: question {row['question_id']!r} given twice")
        out[row["question_id"]] = dist if isinstance(dist, dict) else [float(v) for v in dist]
    return out


def _share(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 and not math.isnan(float(v))


def distribution_for(reference: Reference, question_id: str, choices: Sequence[str]) -> list[float] | None:
    """The reference distribution of `question_id` over `choices` (by position for a list of the same length,
    by choice text for an object), or None when the file has none that fits."""
    dist = reference.get(question_id)
    if dist is None:
        return None
    if isinstance(dist, dict):
        return [float(dist.get(c, 0.0)) for c in choices]
    return list(dist) if len(dist) == len(choices) else None


__all__ = ["Reference", "distribution_for", "load_reference"]
