"""Reproduce the sparse-pixel debate table of Irving et al. 2018 ("AI safety via debate", MNIST) on a CPU, through
the ordinary runner: `pixel_debate.toml` (random pixels and greedy debate, both move orders, k = 6 and 4) and
`pixel_debate_mcts.toml` (MCTS-16 debate, both move orders, k = 6, the same images) run with
`oversight.run_experiment`, and the table is read back from the stored runs (`oversight.load_run`) with Wilson
intervals beside the paper's figures.

    python examples/reproductions/pixel_debate.py                  # the table in docs/reproductions.md
    python examples/reproductions/pixel_debate.py --datasets digits --ks 4 --mcts-ks 4 --mcts-n 10   # a quick look

Options shrink or reshape the specs (`--n`, `--mcts-n`, `--ks`, `--mcts-ks`, `--rollouts`, `--search` and
`--width` for minimax instead of MCTS, `--liars`, the judge's `--hidden`, `--train-masks`, `--block`, `--pool`);
`--json FILE` keeps every row; `--runs` tabulates stored runs instead. Judges not cached yet are trained first,
`--train-workers` at a time (default: one per core); the episodes are played by `--workers` processes (default:
one per core on a local Ray cluster when the `ray` extra is installed, else this process; the rows are the same).
Needs `pip install 'oversight[pixels]'` (scikit-learn) and, for Fashion-MNIST, `apt-get install
dataset-fashion-mnist`.
"""

from __future__ import annotations

import os

# One BLAS thread: the work is many small matrix products, which threads only slow down on a shared machine.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from judges.pixel_judge import PixelJudgeConfig, judge_cache_path, load_pixel_judge  # noqa: E402
from oversight.episode import Episode, report_label  # noqa: E402
from oversight.experiment import Experiment, run_experiment  # noqa: E402
from oversight.experiment.ray_executor import RayExecutor  # noqa: E402
from oversight.metrics import paired_bootstrap_diff, wilson_interval  # noqa: E402
from oversight.protocol_registry import protocol_names, register_protocol  # noqa: E402
from oversight.store import load_run  # noqa: E402
from protocols.pixel_debate import PIXEL_CONSULTANCY, PIXEL_DEBATE, RANDOM_PIXELS, judge_config_for  # noqa: E402

HERE = Path(__file__).resolve().parent
#: Irving et al. 2018, MNIST: judge accuracy with k random pixels -> after debate (precommit, MCTS debaters).
PAPER = {6: (0.594, 0.889), 4: (0.482, 0.852)}
RANDOM = "random"


def register() -> None:
    """Register the pixel protocols by name unless their entry points are installed already."""
    for entry in (PIXEL_DEBATE, RANDOM_PIXELS, PIXEL_CONSULTANCY):
        if entry.name not in protocol_names():
            register_protocol(entry)


def specs(args: argparse.Namespace) -> list[Experiment]:
    """The two specs with the command line's changes: datasets, image counts, judges' k and training."""
    out = []
    mcts_ks = [k for k in args.mcts_ks if k in args.ks]
    for file, n, ks in (("pixel_debate.toml", args.n, args.ks), ("pixel_debate_mcts.toml", args.mcts_n, mcts_ks)):
        if not n or not ks:
            continue
        data = Experiment.from_file(HERE / file).model_dump(mode="json", exclude_defaults=True)
        data["tasks"] = [t for t in data["tasks"] if t["dataset"] in args.datasets]
        for task in data["tasks"]:
            if task["dataset"] == "fashion-mnist" or n < 450:
                task["n"] = n
        pixel = {"hidden": args.hidden, "train_masks": args.train_masks, "block": args.block, "pool": args.pool}
        data["judges"] = [{"name": f"k{k}", "pixel": {"k": k, **pixel}} for k in ks]
        for proto in data["protocols"]:
            if proto["name"] == "pixel-debate" and args.liars != "all":
                proto.setdefault("config", {})["liars"] = args.liars
            debater = proto.get("config", {}).get("debater", {})
            if debater.get("strategy") == "mcts" and args.search == "minimax":  # the same games, the other search
                debater.clear()
                debater.update(strategy="minimax", width=args.width)
                proto["label"] = f"debate, {proto['config'].get('first', 'honest')} first, minimax-{args.width}"
            elif debater.get("strategy") == "mcts":
                debater["rollouts"] = args.rollouts
                proto["label"] = f"debate, {proto['config'].get('first', 'honest')} first, MCTS-{args.rollouts}"
        data["output_dir"] = args.output_dir
        out.append(Experiment.from_dict(data, base_dir=HERE))
    return out


def judge_configs(experiments: list[Experiment]) -> list[PixelJudgeConfig]:
    """Every sparse-pixel judge the experiments' runs will load: one per (task dataset, pixel judge entry)."""
    out: dict[str, PixelJudgeConfig] = {}
    for spec in experiments:
        for task in spec.tasks:
            for judge in spec.judges:
                if judge.pixel is not None:
                    config = judge_config_for(judge.pixel, task.dataset)
                    out[config.model_dump_json()] = config
    return list(out.values())


def pretrain(experiments: list[Experiment], workers: int) -> None:
    """Train the judges not cached yet, `workers` at a time in separate processes (each one BLAS thread, so the
    weights are those a run training them itself would get), before the runs load them from the cache."""
    missing = [c for c in judge_configs(experiments) if not judge_cache_path(c).is_file()]
    if not missing:
        return
    workers = max(1, min(workers, len(missing)))
    print(f"training {len(missing)} judges ({workers} at a time): {', '.join(c.name for c in missing)}", flush=True)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for judge in pool.map(load_pixel_judge, missing):  # each trains and writes the cache the runs then read
            print(f"  trained {judge.config.name} in {judge.info['train_seconds']:.0f} s", flush=True)


def local_cluster(workers: int) -> RayExecutor | None:
    """None for one process, else a `RayExecutor` on a local Ray cluster of `workers` processes (the `ray`
    extra). The episodes are the same either way: each is seeded by its own id, and the driver writes them."""
    if workers <= 1:
        return None
    names = ("OVERSIGHT_CACHE_DIR", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    env = {v: os.environ[v] for v in names if v in os.environ}  # the judges' cache and one BLAS thread per worker
    return RayExecutor(address=None, workers=workers, runtime_env={"env_vars": env})


def dataset_of(ep: Episode) -> str:
    return ep.question_id.split("/", 1)[0]


Groups = dict[tuple[str, str, str], dict[str, bool]]


def groups_of(episodes: list[Episode]) -> tuple[Groups, dict[str, int]]:
    """(dataset, judge, label) -> {question id: correct} over the scored episodes, and each judge's k."""
    groups: Groups = {}
    k_of: dict[str, int] = {}
    for ep in episodes:
        if ep.correct is None:
            continue
        groups.setdefault((dataset_of(ep), ep.judge, report_label(ep)), {})[ep.question_id] = bool(ep.correct)
        k_of[ep.judge] = int(ep.meta["k"])
    return groups, k_of


def rows_of(
    episodes: list[Episode], baseline: Groups | None = None, paper: dict[int, tuple[float, float]] = PAPER
) -> list[dict[str, Any]]:
    """Table rows per (dataset, judge, label), grouped by dataset, then judge, then label (each in the order it
    first appears): n, accuracy, Wilson interval, and for debate rows the gain over random pixels on the same
    images (from these episodes, else from `baseline`'s random rows) with its paired bootstrap interval."""
    groups, k_of = groups_of(episodes)
    rank = {key: i for i, key in enumerate(groups)}
    first = lambda pos, value: min(i for key, i in rank.items() if key[pos] == value)  # noqa: E731
    ordered = sorted(groups, key=lambda key: (first(0, key[0]), first(1, key[1]), first(2, key[2])))
    rows = []
    for dataset, judge, label in ordered:
        hits = groups[(dataset, judge, label)]
        n, correct = len(hits), sum(hits.values())
        lo, hi = wilson_interval(correct, n)
        row: dict[str, Any] = {
            "dataset": dataset,
            "judge": judge,
            "k": k_of[judge],
            "pixels": label,
            "n": n,
            "correct": correct,
            "accuracy": correct / n,
            "lo": lo,
            "hi": hi,
        }
        base = groups.get((dataset, judge, RANDOM)) or (baseline or {}).get((dataset, judge, RANDOM))
        if label != RANDOM and base is not None and set(hits) <= set(base):
            shared = sorted(hits)
            a = np.array([hits[q] for q in shared], dtype=float)
            b = np.array([base[q] for q in shared], dtype=float)
            diff = paired_bootstrap_diff(a, b, n_resamples=2000, seed=0)
            row.update(gain=diff.estimate, gain_lo=diff.lo, gain_hi=diff.hi, paired_n=len(shared))
        ref = paper.get(row["k"])
        if ref is not None:
            row["paper"] = ref[0] if label == RANDOM else ref[1]
        rows.append(row)
    return rows


def search_gains(episodes: list[Episode]) -> list[dict[str, Any]]:
    """Per (dataset, judge, MCTS entry): its accuracy minus greedy debate's with the same move order on the same
    images, in points, with a 95% paired bootstrap interval (empty when the run has no MCTS debate)."""
    hits: dict[tuple[str, str, str, str], dict[str, bool]] = {}
    for ep in episodes:
        if ep.protocol != "pixel-debate" or ep.correct is None:
            continue
        cfg = ep.protocol_config
        debater = cfg["debater"]
        who = {"mcts": f"mcts-{debater.get('rollouts')}", "minimax": f"minimax-{debater.get('width')}"}.get(
            debater["strategy"], debater["strategy"]
        )
        if who != "random" and cfg.get("liar") is None:
            hits.setdefault((dataset_of(ep), ep.judge, cfg["first"], who), {})[ep.question_id] = bool(ep.correct)
    out = []
    for (dataset, judge, first, who), mine in hits.items():
        greedy = hits.get((dataset, judge, first, "greedy"))
        if who == "greedy" or greedy is None or not set(mine) <= set(greedy):
            continue
        shared = sorted(mine)
        a = np.array([mine[q] for q in shared], dtype=float)
        b = np.array([greedy[q] for q in shared], dtype=float)
        diff = paired_bootstrap_diff(a, b, n_resamples=2000, seed=0)
        out.append({"dataset": dataset, "judge": judge, "first": first, "debater": who, "n": len(shared),
                    "gain": diff.estimate, "lo": diff.lo, "hi": diff.hi})  # fmt: skip
    return out


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a fixed-width table; "gain" is debate minus random pixels on the same images, in points, with
    a 95% paired bootstrap interval; "paper" is Irving et al.'s MNIST figure for the same k."""
    width = max([30, *(len(r["pixels"]) for r in rows)])
    head = (
        f"{'dataset':<14} {'k':>2}  {'pixels chosen by':<{width}} {'n':>5}  {'accuracy':>8}  {'95% CI (Wilson)':<16}"
        f"  {'gain (95% CI)':<21}  paper (MNIST)"
    )
    lines = [head]
    for r in rows:
        ci = f"[{r['lo']:.3f}, {r['hi']:.3f}]"
        gain = f"{100 * r['gain']:+.1f} [{100 * r['gain_lo']:+.1f}, {100 * r['gain_hi']:+.1f}]" if "gain" in r else ""
        ref = r.get("paper")
        if ref is not None and r["pixels"] != RANDOM:
            base = PAPER[r["k"]][0]
            paper = f"{ref:.3f} ({100 * (ref - base):+.1f})"
        else:
            paper = "" if ref is None else f"{ref:.3f}"
        lines.append(
            f"{r['dataset']:<14} {r['k']:>2}  {r['pixels']:<{width}} {r['n']:>5}  {r['accuracy']:>8.3f}  {ci:<16}"
            f"  {gain:<21}  {paper}"
        )
    return "\n".join(lines)


def cpu_seconds() -> float:
    """CPU time of this process and its finished children."""
    return sum(
        getattr(resource.getrusage(w), f)
        for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        for f in ("ru_utime", "ru_stime")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "fashion-mnist"])
    parser.add_argument("--ks", nargs="+", type=int, default=[6, 4])
    parser.add_argument("--n", type=int, default=1000, help="Fashion-MNIST test images (digits: all 450 if n >= 450)")
    parser.add_argument("--mcts-n", type=int, default=1000, help="images also debated by MCTS, as --n (0: none)")
    parser.add_argument("--mcts-ks", nargs="+", type=int, default=[6], help="the k of the MCTS rows (among --ks)")
    parser.add_argument("--rollouts", type=int, default=16, help="MCTS rollouts per move")
    parser.add_argument("--search", choices=["mcts", "minimax"], default="mcts", help="the search rows' debaters")
    parser.add_argument("--width", type=int, default=3, help="minimax: candidates per move (--search minimax)")
    parser.add_argument("--pool", choices=["all", "nonzero"], default="all")
    parser.add_argument("--hidden", nargs="+", type=int, default=[256])
    parser.add_argument("--train-masks", type=int, default=7_200_000)
    parser.add_argument("--liars", choices=["all", "random"], default="all", help="wrong classes the liar plays")
    parser.add_argument("--block", type=int, default=0, help="judge input also gets b x b cells (0: off)")
    parser.add_argument("--output-dir", default="runs")
    parser.add_argument("--json", default=None, help="also write the rows and timings here")
    parser.add_argument("--runs", nargs="+", default=None, help="tabulate these stored runs instead (main run first)")
    parser.add_argument(
        "--train-workers", type=int, default=os.cpu_count() or 1, help="judges trained at once when not cached"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes that play the episodes; > 1: a local Ray cluster (default: one per core with the ray extra)",
    )
    args = parser.parse_args()
    register()
    start = time.perf_counter()
    runs = list(args.runs or [])
    experiments = [] if args.runs else specs(args)
    pretrain(experiments, args.train_workers)
    if args.workers is None:
        args.workers = (os.cpu_count() or 1) if importlib.util.find_spec("ray") else 1
    for spec in experiments:  # a fresh executor per run: it counts its own workers and restarts for summary.json
        result = run_experiment(spec, progress="bar", executor=local_cluster(args.workers))
        runs.append(str(result.run_dir))
        print(f"{spec.name}: {result.status}, {result.done} episodes, {result.errors} errors -> {result.run_dir}")
    stored = [load_run(run).episodes for run in runs]
    baseline = groups_of(stored[0])[0] if stored else {}  # the main run's random rows pair with the subset's
    rows = [row for episodes in stored for row in rows_of(episodes, baseline)]
    wall, cpu = time.perf_counter() - start, cpu_seconds()
    if not args.runs:  # stored runs record their own judges (spec.json)
        print(f"judges: MLP {args.hidden}, pool={args.pool}, block={args.block}, {args.train_masks:,} training masks")
    print(table(rows))
    searched = search_gains([ep for episodes in stored for ep in episodes])  # MCTS pairs with the main run's greedy
    for g in searched:
        print(
            f"{g['dataset']} {g['judge']}, {g['first']} first: {g['debater']} minus greedy on the same {g['n']} images "
            f"{100 * g['gain']:+.1f} points [{100 * g['lo']:+.1f}, {100 * g['hi']:+.1f}]"
        )
    print(f"wall time {wall:.0f} s, CPU time {cpu:.0f} s; runs: {', '.join(runs)}")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"args": vars(args), "rows": rows, "search": searched, "runs": runs, "wall": wall, "cpu": cpu})
        )


if __name__ == "__main__":
    main()
