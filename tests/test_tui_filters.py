"""Which rows the viewer lists: facets and a text search over the stored lines, checked against parsed episodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight.episode import Episode, Judgment, Turn
from oversight.episode_index import EpisodeIndex, Status
from oversight.store import EpisodeWriter
from oversight.tui.filters import EpisodeFilter, facet_counts, needle, select

TEXTS = ['he said "yes"', "back\\slash", "caf\u00e9 \u4e2d", "line one\nline two", "plain words", "PLAIN Words"]


@pytest.fixture()
def index(tmp_path: Path) -> EpisodeIndex:
    with EpisodeWriter(tmp_path) as w:
        for i, text in enumerate(TEXTS):
            w.write(
                Episode(
                    id=f"e{i}",
                    question_id=f"q{i}",
                    protocol="debate" if i % 2 else "direct",
                    judge="jA" if i < 3 else "jB",
                    gold=0,
                    correct=bool(i % 3),
                    turns=[Turn(role="debater_a", content=text)],
                    judgments=[Judgment(judge="j", choice=0)],
                    meta={"label": "L1" if i < 4 else "L2"},
                )
            )
    ix = EpisodeIndex(tmp_path)
    ix.scan()
    return ix


@pytest.mark.parametrize("query", TEXTS + ["PLAIN WORDS", 'said "', "nowhere"])
def test_search_matches_what_the_turns_say_case_insensitively(index: EpisodeIndex, query: str):
    want = [i for i, t in enumerate(TEXTS) if query.lower() in t.lower()]
    assert select(index, EpisodeFilter(text=query)) == want


def test_facets_combine_with_each_other_and_with_the_text(index: EpisodeIndex):
    assert select(index, EpisodeFilter(judge="jA")) == [0, 1, 2]
    assert select(index, EpisodeFilter(judge="jA", status=Status.INCORRECT)) == [0]
    assert select(index, EpisodeFilter(label="L2", text="plain")) == [4, 5]
    assert select(index, EpisodeFilter().with_facet("status", "correct").with_facet("label", "L1")) == [1, 2]
    with pytest.raises(ValueError):
        EpisodeFilter().with_facet("colour", "red")
    counts = facet_counts(index.rows)
    assert counts["label"] == {"L1": 4, "L2": 2} and counts["status"] == {"correct": 4, "incorrect": 2}


def test_a_cancelled_search_returns_none(index: EpisodeIndex):
    assert select(index, EpisodeFilter(text="x"), cancelled=lambda: True) is None


def test_needle_is_the_text_as_json_stores_it():
    assert needle('A "b"\n\\') == b'a \\"b\\"\\n\\\\'
