"""Reproduce the sparse-pixel debate table of Irving et al. 2018 ("AI safety via debate", MNIST) on a CPU.

A judge trained to classify from k random pixels is scored twice on held-out images: on k pixels drawn at random,
and after two debaters who see the whole image reveal k pixels between them (one honest, one arguing a wrong
class it committed to; with --liars all, one game per wrong class and the honest debater must win them all, as
in the paper's precommit setting). Datasets: scikit-learn's 8x8 digits and Fashion-MNIST (Debian package
dataset-fashion-mnist). Judges are trained once and cached (~/.cache/oversight/pixel-judges).

    python examples/reproductions/pixel_debate.py                     # the table in docs/reproductions.md
    python examples/reproductions/pixel_debate.py --datasets digits --ks 4 --n 100 --mcts-n 20   # a quick look

Needs `pip install 'oversight[pixels]'` (scikit-learn) and, for Fashion-MNIST, `apt-get install
dataset-fashion-mnist`.
"""

from __future__ import annotations

import os

# One BLAS thread per process: the work is many small matrix products, which threads only slow down.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from agents.pixel_debater import GreedyPixelDebater, MCTSPixelDebater  # noqa: E402
from agents.pixel_game import debate_correct, random_pixel_correct  # noqa: E402
from judges.pixel_judge import PixelJudgeConfig, SparsePixelJudge, judge_cache_path, load_pixel_judge  # noqa: E402
from oversight.metrics import wilson_interval  # noqa: E402
from oversight.tasks.images import load_image_set  # noqa: E402

#: Irving et al. 2018, MNIST: judge accuracy with k random pixels -> after debate (precommit, MCTS debaters).
PAPER = {6: (0.594, 0.889), 4: (0.482, 0.852)}


@dataclass
class Row:
    """One line of the table: a dataset, k, how pixels were chosen, and the judge's accuracy."""

    dataset: str
    k: int
    pixels: str
    correct: int
    n: int
    accuracy: float
    lo: float
    hi: float
    seconds: float


def _row(dataset: str, k: int, pixels: str, correct: np.ndarray, seconds: float) -> Row:
    hits, n = int(correct.sum()), int(correct.size)
    lo, hi = wilson_interval(hits, n)
    return Row(dataset, k, pixels, hits, n, hits / n if n else float("nan"), lo, hi, round(seconds, 1))


def _debate_chunk(args: tuple[str, str, list[int], int, str, str, int]) -> np.ndarray:
    """Worker: debate the test images `indices` of `dataset` with the cached judge at `judge_path`."""
    judge_path, dataset, indices, rollouts, liars, first, seed = args
    judge = SparsePixelJudge.load(judge_path)
    test = load_image_set(dataset, "test")
    debater = GreedyPixelDebater() if rollouts == 0 else MCTSPixelDebater(rollouts=rollouts)
    idx = np.asarray(indices)
    return debate_correct(judge, test.images[idx], test.labels[idx], debater, debater, liars, first, seed)  # type: ignore[arg-type]


def _debate(
    pool: ProcessPoolExecutor | None,
    judge_path: str,
    dataset: str,
    indices: np.ndarray,
    rollouts: int,
    first: str,
    args: argparse.Namespace,
) -> np.ndarray:
    # interleaved chunks, so each worker gets a similar mix of easy and hard images
    n_chunks = max(1, args.workers) * 4
    parts = [np.arange(len(indices))[c::n_chunks] for c in range(n_chunks)]
    parts = [p for p in parts if p.size]
    jobs = [
        (judge_path, dataset, indices[p].tolist(), rollouts, args.liars, first, args.seed + c)
        for c, p in enumerate(parts)
    ]
    results = pool.map(_debate_chunk, jobs) if pool else map(_debate_chunk, jobs)
    out = np.empty(len(indices), dtype=bool)
    for p, correct in zip(parts, results, strict=True):
        out[p] = correct
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train or load each judge, score random pixels and debate; returns the rows and timings."""
    start = time.perf_counter()
    rows: list[Row] = []
    judges: dict[str, Any] = {}
    pool = ProcessPoolExecutor(args.workers) if args.workers > 1 else None
    try:
        for dataset in args.datasets:
            test = load_image_set(dataset, "test")
            order = np.random.default_rng(args.seed).permutation(len(test))
            debate_idx = np.sort(order[: min(args.n, len(test))])
            mcts_idx = np.sort(order[: min(args.mcts_n, args.n, len(test))])  # a random subset of debate_idx
            for k in args.ks:
                config = PixelJudgeConfig(
                    dataset=dataset, k=k, hidden=tuple(args.hidden), seed=args.seed, pool=args.pool,
                    train_masks=args.train_masks, block=args.block,
                )  # fmt: skip
                t = time.perf_counter()
                judge = load_pixel_judge(config, cache_dir=args.cache_dir)
                judge_seconds = time.perf_counter() - t
                judge_path = str(judge_cache_path(config, args.cache_dir))
                judges[f"{dataset}/k{k}"] = {
                    "identity": judge.identity,
                    "load_or_train_seconds": round(judge_seconds, 1),
                }
                t = time.perf_counter()
                rows.append(
                    _row(dataset, k, "random", random_pixel_correct(judge, test.images, test.labels, args.seed), 0)
                )
                rows[-1].seconds = round(time.perf_counter() - t, 1)
                for first in args.first:
                    for name, idx, rollouts in (("greedy", debate_idx, 0), (f"MCTS-{args.rollouts}", mcts_idx, 1)):
                        if rollouts and (not args.mcts_n or first != args.first[0]):
                            continue  # search is the costly part: only for the first order listed
                        t = time.perf_counter()
                        correct = _debate(pool, judge_path, dataset, idx, args.rollouts if rollouts else 0, first, args)
                        label = f"debate, {first} first, {name}"
                        rows.append(_row(dataset, k, label, correct, time.perf_counter() - t))
                        if not rollouts and args.mcts_n and first == args.first[0]:  # paired with the MCTS row
                            sub = np.isin(idx, mcts_idx)
                            rows.append(_row(dataset, k, f"  (greedy on those {len(mcts_idx)})", correct[sub], 0))
                print(f"  {dataset} k={k} done ({time.perf_counter() - start:.0f} s)", flush=True)
    finally:
        if pool:
            pool.shutdown()
    # CPU time of this process and its finished workers: what the run costs on an idle machine, whatever the load
    cpu = sum(
        getattr(resource.getrusage(w), f)
        for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        for f in ("ru_utime", "ru_stime")
    )
    return {
        "rows": [asdict(r) for r in rows],
        "judges": judges,
        "seconds": round(time.perf_counter() - start, 1),
        "cpu_seconds": round(cpu, 1),
    }


def table(result: dict[str, Any]) -> str:
    """The result as a fixed-width table: accuracy, Wilson interval, gain over random pixels (points), and the
    paper's MNIST figure for the same k (random pixels, or after debate)."""
    head = f"{'dataset':<14} {'k':>2}  {'pixels chosen by':<30} {'n':>5}  {'accuracy':>8}  {'95% CI (Wilson)':<16}"
    lines = [head + "  gain   paper (MNIST)"]
    random_acc: dict[tuple[str, int], float] = {}
    for r in result["rows"]:
        paper = PAPER.get(r["k"])
        key = (r["dataset"], r["k"])
        if r["pixels"] == "random":
            random_acc[key] = r["accuracy"]
            gain, ref = "", f"{paper[0]:.3f}" if paper else ""
        else:
            gain = f"{100 * (r['accuracy'] - random_acc[key]):+.1f}" if key in random_acc else ""
            ref = f"{paper[1]:.3f} ({100 * (paper[1] - paper[0]):+.1f})" if paper else ""
        ci = f"[{r['lo']:.3f}, {r['hi']:.3f}]"
        lines.append(
            f"{r['dataset']:<14} {r['k']:>2}  {r['pixels']:<30} {r['n']:>5}  {r['accuracy']:>8.3f}  {ci:<16}"
            f"  {gain:>5}  {ref}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "fashion-mnist"])
    parser.add_argument("--ks", nargs="+", type=int, default=[6, 4])
    parser.add_argument("--n", type=int, default=1000, help="test images debated with greedy debaters (default 1000)")
    parser.add_argument("--mcts-n", type=int, default=100, help="of those, images also debated by MCTS (0: none)")
    parser.add_argument("--rollouts", type=int, default=32, help="MCTS rollouts per move")
    parser.add_argument("--liars", choices=["all", "random"], default="all")
    parser.add_argument("--first", nargs="+", choices=["honest", "liar"], default=["honest", "liar"])
    parser.add_argument("--pool", choices=["all", "nonzero"], default="all")
    parser.add_argument("--hidden", nargs="+", type=int, default=[256])
    parser.add_argument("--train-masks", type=int, default=2_400_000)
    parser.add_argument("--block", type=int, default=0, help="judge input also gets b x b cells (0: off)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--json", default=None, help="also write the result here")
    args = parser.parse_args()
    result = run(args)
    print(
        f"judge: MLP {args.hidden}, pool={args.pool}, block={args.block}, {args.train_masks} training masks; "
        f"liars={args.liars}, first={args.first}"
    )
    print(table(result))
    print(
        f"wall time {result['seconds']:.0f} s, CPU time {result['cpu_seconds']:.0f} s; "
        f"judges: {json.dumps(result['judges'])}"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), **result}, fh, indent=1)


if __name__ == "__main__":
    main()
