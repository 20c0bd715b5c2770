"""Cost of scoring every candidate reveal of a pixel-debate position: the batched fast path vs one judge call each.

Run: .venv/bin/python bench/bench_pixel_game.py [REPEATS]
A 28x28 position with 3 pixels revealed and 781 candidates, a judge of 256 hidden units (random weights: the cost
does not depend on their values). Prints ms per position for `PixelDebateGame.move_margins` (cache cleared each
time) and for a loop of `SparsePixelJudge.logits` over the candidates, min and median over REPEATS, and their
ratio, all measured in this run.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from agents.pixel_game import PixelDebateGame  # noqa: E402
from judges.pixel_judge import PixelJudgeConfig, SparsePixelJudge  # noqa: E402


def _judge(hidden: int = 256) -> SparsePixelJudge:
    rng = np.random.default_rng(0)
    config = PixelJudgeConfig(dataset="bench", k=6, hidden=(hidden,))
    weights = [rng.normal(0, 0.05, (2 * 784, hidden)), rng.normal(0, 0.1, (hidden, 10))]
    return SparsePixelJudge(
        config, weights, [np.zeros(hidden), np.zeros(10)], [str(c) for c in range(10)], (28, 28), 255
    )


def _time(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1e3)
    return out


def main(repeats: int) -> None:
    judge = _judge()
    image = np.random.default_rng(1).integers(0, 256, (28, 28), dtype=np.uint8)
    game = PixelDebateGame(judge, image, 0, 1)
    pos = (10, 400, 700)
    moves = game.legal_moves(pos)

    def batched() -> None:
        game._scores.clear()  # measure the evaluation, not the cache
        game.move_margins(pos)

    def one_by_one() -> None:
        for m in moves:
            z = judge.logits(image, (*pos, int(m)))
            _ = z[0] - z[1]

    _, fast = game.move_margins(pos)
    slow = np.array([judge.logits(image, (*pos, int(m)))[0] - judge.logits(image, (*pos, int(m)))[1] for m in moves])
    assert np.allclose(fast, slow), "the fast path disagrees with the plain forward pass"
    fast_ms = _time(batched, repeats)
    slow_ms = _time(one_by_one, max(3, repeats // 10))
    print(f"candidates per position: {len(moves)}")
    print(f"batched move_margins : min {min(fast_ms):8.3f} ms  median {statistics.median(fast_ms):8.3f} ms")
    print(f"one logits call each : min {min(slow_ms):8.3f} ms  median {statistics.median(slow_ms):8.3f} ms")
    print(f"ratio (one-by-one / batched): min {min(slow_ms) / min(fast_ms):.0f}x, "
          f"median {statistics.median(slow_ms) / statistics.median(fast_ms):.0f}x")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
