"""bench/bench_prefix_sim.py's simulated block prefix cache: what it reuses, within a step and across steps."""

from __future__ import annotations

from bench_support import load_bench

BENCH = load_bench("bench_prefix_sim")
SHARED = "p" * 40  # 10 blocks of 4 characters


def test_block_keys_name_the_whole_prefix() -> None:
    assert len(BENCH.block_keys("abcdefghij", 4)) == 2  # the partial last block has no key
    assert BENCH.block_keys("abcdXXXX", 4)[0] == BENCH.block_keys("abcdYYYY", 4)[0]
    assert BENCH.block_keys("abcdXXXX", 4)[1] != BENCH.block_keys("abcdYYYY", 4)[1]
    assert BENCH.block_keys("XXXXabcd", 4)[1] != BENCH.block_keys("YYYYabcd", 4)[1]  # keyed by all that precedes


def test_two_episodes_sharing_a_passage_in_one_step_and_in_two() -> None:
    prompts = {("q", 0): [SHARED + "A"], ("q", 1): [SHARED + "B"]}
    order = [("q", 0), ("q", 1)]
    total = 2 * (len(SHARED) + 1)
    together = BENCH.hit_share(order, prompts, window=2, capacity=1000, block=4, in_step=True)
    assert together == len(SHARED) / total  # the second call of the step reuses the first one's blocks
    assert BENCH.hit_share(order, prompts, window=2, capacity=1000, block=4, in_step=False) == 0.0
    one_by_one = BENCH.hit_share(order, prompts, window=1, capacity=1000, block=4, in_step=False)
    assert one_by_one == together  # the second episode starts after the first: the passage is cached


def test_eviction_forgets_the_least_recently_used_blocks() -> None:
    prompts = {("a", 0): [SHARED], ("b", 0): ["x" * 40], ("a", 1): [SHARED]}
    order = [("a", 0), ("b", 0), ("a", 1)]
    assert BENCH.hit_share(order, prompts, window=1, capacity=80, block=4, in_step=True) == 40 / 120
    assert BENCH.hit_share(order, prompts, window=1, capacity=40, block=4, in_step=True) == 0.0
