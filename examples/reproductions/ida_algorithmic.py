"""IDA on the algorithmic tasks of Christiano, Shlegeris & Amodei (2018), on the CPU, against a supervised
baseline trained on ground truth with the same queries and steps.

    pip install 'oversight[ida]'        # torch (the CPU build)
    python examples/reproductions/ida_algorithmic.py                      # all four tasks, 3 seeds -> runs/ida/
    python examples/reproductions/ida_algorithmic.py --tasks union-find --seeds 0 --out /tmp/ida

Each run (one task, one seed): M_0 is an untrained message-passing network; iteration k amplifies M_{k-1} (the
overseer answers each training query with primitive oracle steps and sub-questions to M_{k-1}), trains M_k on
those targets, and scores M_k on held-out generator questions. Prints one line per iteration, then a summary
table; writes `ida_results.json`, `ida_accuracy.png` and `ida_tables.md` to --out. `--combine A.json B.json`
writes the tables and plot of earlier runs together (e.g. tasks run as two processes, one per core).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import torch

from agents.algorithmic import TASKS, AlgorithmicOverseer, GraphNetDistiller, GraphNetStudent, algorithmic_task
from oversight.ida import Baseline, IDAResult, IterationRecord, run_ida
from oversight.ida.report import ida_seconds, iteration_table, plot_accuracy, summary_table


async def one_run(name: str, seed: int, args: argparse.Namespace) -> IDAResult:
    options = {"split": args.shortest_path_split} if name == "shortest-path" else {}
    task = algorithmic_task(name, args.difficulty, **options)
    iterations = args.iterations or task.levels + args.extra_iterations

    def train_queries(k: int) -> list:
        # the same queries go to IDA (amplified) and the baseline (ground truth); a curriculum caps their level at k
        return task.train_queries(args.train, 1000 * seed + k, max_level=k if args.curriculum else None)

    def show(rec: IterationRecord) -> None:
        base = f"{rec.baseline_accuracy:.3f}" if rec.baseline_accuracy is not None else "-"
        target = f"{rec.target_accuracy:.3f}" if rec.target_accuracy is not None else "-"
        print(
            f"  {name} seed {seed} it {rec.iteration}: IDA {rec.ida_accuracy:.3f}  supervised {base}  "
            f"targets {target}  student calls {rec.overseer.get('student_calls', 0)}  "
            f"oracle calls {rec.overseer.get('oracle_calls', 0)}  {sum(rec.seconds.values()):.1f} s",
            flush=True,
        )

    def learner() -> GraphNetStudent:
        return GraphNetStudent.initial(task, seed=seed, hidden=args.hidden)

    def distiller(label: str) -> GraphNetDistiller:
        return GraphNetDistiller(task, steps=args.steps, batch_size=args.batch, lr=args.lr, seed=seed, name=label)

    return await run_ida(
        AlgorithmicOverseer(task),
        distiller("ida"),
        learner(),
        train_queries=train_queries,
        eval_queries=task.eval_queries(args.eval, 10**6 + seed),  # other generator seeds: held-out instances
        truth=task.ground_truth(),
        iterations=iterations,
        baseline=Baseline(distiller("supervised"), learner()) if args.baseline else None,
        task=name,
        on_iteration=show,
    )


def write(args: argparse.Namespace, results: dict[str, list[IDAResult]]) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "combine"}
    if args.combine:
        settings["combined"] = args.combine
    dump = {"settings": settings, "results": {t: [r.model_dump() for r in rs] for t, rs in results.items()}}
    (args.out / "ida_results.json").write_text(json.dumps(dump, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--difficulty", type=int, default=1)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--iterations", type=int, default=0, help="default: the task's levels + --extra-iterations")
    parser.add_argument("--extra-iterations", type=int, default=2)
    parser.add_argument("--train", type=int, default=2048, help="training queries per iteration")
    parser.add_argument("--eval", type=int, default=500, help="held-out questions")
    parser.add_argument("--steps", type=int, default=400, help="Adam steps per distillation")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--no-curriculum", dest="curriculum", action="store_false")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false", help="IDA alone (e.g. to time it)")
    parser.add_argument("--shortest-path-split", choices=["middle", "first-road"], default="middle")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared 2-core box)")
    parser.add_argument("--out", type=Path, default=Path("runs/ida"))
    parser.add_argument(
        "--combine", nargs="+", metavar="RESULTS_JSON[:TASK,...]", help="merge earlier runs (or some of their tasks)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    results: dict[str, list[IDAResult]] = {}
    start = time.perf_counter()
    for spec in args.combine or []:  # PATH or PATH:task,task (only those tasks of that file)
        path, _, only = str(spec).partition(":")
        for name, runs in json.loads(Path(path).read_text())["results"].items():
            if not only or name in only.split(","):
                results.setdefault(name, []).extend(IDAResult.model_validate(r) for r in runs)
    for name in [] if args.combine else args.tasks:
        for seed in args.seeds:
            res = asyncio.run(one_run(name, seed, args))
            results.setdefault(name, []).append(res)
            write(args, results)  # after every run: an interrupted sweep keeps what it finished
            base = res.final.baseline_accuracy
            print(
                f"{name} seed {seed}: IDA {res.final.ida_accuracy:.3f} vs supervised "
                f"{'-' if base is None else f'{base:.3f}'} | ground-truth labels trained on: IDA "
                f"{res.labels['ida_train']}, supervised {res.labels['baseline_train']} | IDA arm "
                f"{ida_seconds(res):.0f} s wall, {ida_seconds(res, cpu=True):.0f} s CPU; {res.seconds:.0f} s in all",
                flush=True,
            )
    write(args, results)
    tables = [summary_table(results)] + [f"### {t}\n\n{iteration_table(rs)}" for t, rs in results.items()]
    (args.out / "ida_tables.md").write_text("\n\n".join(tables) + "\n")
    plot_accuracy(results, args.out / "ida_accuracy.png")
    print("\n" + "\n\n".join(tables))
    took = time.perf_counter() - start
    print(f"\nwrote {args.out}/ida_results.json, ida_tables.md, ida_accuracy.png in {took:.0f} s")


if __name__ == "__main__":
    main()
