"""bench/bench_prefix_bound.py's count of the characters an unbounded prefix cache must compute."""

from __future__ import annotations

from bench_support import load_bench
from hypothesis import given
from hypothesis import strategies as st

BENCH = load_bench("bench_prefix_bound")


def test_shared_prefixes_are_computed_once() -> None:
    assert BENCH.computed_chars([]) == 0
    assert BENCH.computed_chars(["abc", "abc"]) == 3
    assert BENCH.computed_chars(["abX", "abY", "zz"]) == 3 + 1 + 2
    assert BENCH.computed_chars(["passage+A1", "passage+A1+T+A2", "passage+B1"]) == len("passage+A1+T+A2") + 2


def _trie_size(prompts: list[str]) -> int:
    """Distinct non-empty prefixes: one computed character each."""
    return len({p[:i] for p in prompts for i in range(1, len(p) + 1)})


@given(st.lists(st.text(alphabet="ab", max_size=6), max_size=8))
def test_it_counts_the_prefix_tree(prompts: list[str]) -> None:
    assert BENCH.computed_chars(prompts) == _trie_size(prompts)
