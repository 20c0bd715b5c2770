"""Tables and a plot of IDA runs over several seeds: accuracy per iteration for IDA and the supervised baseline,
with the spread across seeds."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

from oversight.ida.loop import IDAResult


def _column(results: Sequence[IDAResult], k: int, field: str) -> list[float]:
    values = [getattr(r.iterations[k], field) for r in results if k < len(r.iterations)]
    return [v for v in values if v is not None]


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.fmean(values):.3f} [{min(values):.3f}, {max(values):.3f}]"


_IDA_PHASES = ("amplify", "distil", "eval")


def ida_seconds(r: IDAResult, *, cpu: bool = False) -> float:
    """Wall (or, with `cpu`, process CPU) seconds the IDA arm of a run took: amplification, distillation and
    evaluation, the baseline left out."""
    return sum((rec.cpu_seconds if cpu else rec.seconds).get(k, 0.0) for rec in r.iterations for k in _IDA_PHASES)


def _cpu_text(results: Sequence[IDAResult]) -> str:
    cpu = [ida_seconds(r, cpu=True) for r in results if r.iterations[-1].cpu_seconds]
    return f"{max(cpu):.0f}" if cpu else "-"


def iteration_table(results: Sequence[IDAResult]) -> str:
    """A markdown table for one task: per iteration, IDA and baseline accuracy on held-out questions (mean
    [min, max] over the runs), the accuracy of that iteration's amplified targets, and the overseer's work."""
    rows = [
        "| iteration | IDA accuracy | supervised accuracy | amplified-target accuracy | student calls | oracle calls |",
        "|---|---|---|---|---|---|",
    ]
    for k in range(max(len(r.iterations) for r in results)):
        calls = [r.iterations[k].overseer.get("student_calls", 0) for r in results if k < len(r.iterations)]
        oracle = [r.iterations[k].overseer.get("oracle_calls", 0) for r in results if k < len(r.iterations)]
        rows.append(
            f"| {k} | {_spread(_column(results, k, 'ida_accuracy'))} | "
            f"{_spread(_column(results, k, 'baseline_accuracy'))} | {_spread(_column(results, k, 'target_accuracy'))} "
            f"| {statistics.fmean(calls):.0f} | {statistics.fmean(oracle):.0f} |"
        )
    return "\n".join(rows)


def summary_table(results_by_task: Mapping[str, Sequence[IDAResult]]) -> str:
    """A markdown table, one row per task: final IDA and baseline accuracy (mean ± sd over seeds), the gap, the
    ground-truth labels each arm trained on, and the slowest run's seconds (IDA arm wall and CPU; the whole run
    with the baseline, wall)."""
    rows = [
        "| task | seeds | iterations | IDA final | supervised final | gap (points) | GT labels: IDA / supervised "
        "| max s per run: IDA wall / IDA CPU / with baseline wall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for task, results in results_by_task.items():
        ida = [r.final.ida_accuracy for r in results]
        base = [r.final.baseline_accuracy for r in results if r.final.baseline_accuracy is not None]
        sd = statistics.stdev if len(results) > 1 else (lambda _: 0.0)
        gap = f"{100 * (statistics.fmean(base) - statistics.fmean(ida)):+.1f}" if base else "-"
        base_text = f"{statistics.fmean(base):.3f} ± {sd(base):.3f}" if base else "-"
        rows.append(
            f"| {task} | {len(results)} | {len(results[0].iterations) - 1} | {statistics.fmean(ida):.3f} ± "
            f"{sd(ida):.3f} | {base_text} | {gap} | "
            f"{max(r.labels['ida_train'] for r in results)} / {max(r.labels['baseline_train'] for r in results)} | "
            f"{max(ida_seconds(r) for r in results):.0f} / {_cpu_text(results)} / "
            f"{max(r.seconds for r in results):.0f} |"
        )
    return "\n".join(rows)


_CURVES = (("ida_accuracy", "IDA (0 ground-truth labels)", "-"), ("baseline_accuracy", "supervised", "--"))


def plot_accuracy(results_by_task: Mapping[str, Sequence[IDAResult]], path: str | Path) -> Path:
    """A PNG with one panel per task: held-out accuracy per iteration, IDA (solid) and supervised (dashed), mean
    over seeds with a min-max band. Returns the path written."""
    import matplotlib

    matplotlib.use("Agg")  # files only: never open a window
    import matplotlib.pyplot as plt

    n = len(results_by_task)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.4), squeeze=False)
    for ax, (task, results) in zip(axes[0], results_by_task.items(), strict=True):
        its = range(min(len(r.iterations) for r in results))
        for field, label, style in _CURVES:
            cols = [_column(results, k, field) for k in its]
            if not all(cols):
                continue
            ax.plot(list(its), [statistics.fmean(c) for c in cols], style, marker="o", label=label)
            ax.fill_between(list(its), [min(c) for c in cols], [max(c) for c in cols], alpha=0.2)
        ax.set_title(f"{task} ({len(results)} seeds)")
        ax.set_xlabel("iteration")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("held-out accuracy")
    axes[0][0].legend(loc="lower right")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
