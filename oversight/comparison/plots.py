"""PNG figures of a comparison, drawn with matplotlib's Agg canvas directly (no pyplot, no global backend change).

Each function writes one file and returns its path, or returns None when the runs hold nothing to draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from oversight.comparison.records import Record
from oversight.comparison.tables import Row, _probability_matrix, group_by, market_curves
from oversight.metrics.calibration import calibration_curve, top_label

DPI = 150


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path


def _panels(fig: Any, n: int, cols: int = 3) -> list[Any]:
    cols = min(cols, n)
    rows = math.ceil(n / cols)
    fig.set_size_inches(4.6 * cols, 3.8 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return axes[:n]


def plot_accuracy(summary: Sequence[Row], path: Path) -> Path | None:
    """Accuracy by protocol with 95% Wilson interval bars: one panel per task, one bar colour per judge."""
    if not summary:
        return None
    fig = _figure(6, 4)
    tasks = list(dict.fromkeys(r["task"] for r in summary))
    judges = list(dict.fromkeys(r["judge"] for r in summary))
    colours = [f"C{i % 10}" for i in range(len(judges))]
    for ax, task in zip(_panels(fig, len(tasks)), tasks, strict=True):
        rows = [r for r in summary if r["task"] == task]
        labels = list(dict.fromkeys(r["protocol"] for r in rows))
        width = 0.8 / len(judges)
        in_legend: set[str] = set()
        for j, judge in enumerate(judges):
            for x, label in enumerate(labels):
                row = next((r for r in rows if r["protocol"] == label and r["judge"] == judge), None)
                if row is None or not row["n"]:
                    continue
                acc = row["accuracy"]
                err = [[acc - row["acc_lo"]], [row["acc_hi"] - acc]]
                ax.bar(
                    x + (j - (len(judges) - 1) / 2) * width,
                    acc,
                    width,
                    yerr=err,
                    capsize=3,
                    color=colours[j],
                    label=None if judge in in_legend else (judge or "judge"),
                )
                in_legend.add(judge)
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("accuracy (95% Wilson CI)")
        ax.set_title(f"task: {task}")
        ax.grid(axis="y", alpha=0.3)
        if len(judges) > 1:
            ax.legend(title="judge", fontsize="small")
    return _save(fig, path)


def plot_calibration(records: Sequence[Record], path: Path, n_bins: int = 10) -> Path | None:
    """Reliability diagrams (top-label confidence vs accuracy) per judge x task, one line per protocol."""
    scored = [r for r in records if not r.errored and r.probabilities]
    if not scored:
        return None
    groups = group_by(scored, lambda r: (r.judge, r.task))
    fig = _figure(6, 4)
    for ax, ((judge, task), group) in zip(_panels(fig, len(groups)), groups.items(), strict=True):
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
        for i, (label, rs) in enumerate(group_by(group, lambda r: r.label).items()):
            probs, gold = _probability_matrix(rs)
            conf, correct = top_label(probs, gold)
            bins = calibration_curve(conf, correct, n_bins)
            filled = bins.count > 0
            ax.plot(bins.confidence[filled], bins.accuracy[filled], marker="o", color=f"C{i % 10}", label=label)
            ax.scatter(
                bins.confidence[filled],
                bins.accuracy[filled],
                s=8 + 60 * bins.count[filled] / len(conf),
                color=f"C{i % 10}",
                alpha=0.4,
            )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("confidence (top-label probability)")
        ax.set_ylabel("accuracy")
        ax.set_title(f"{judge} on {task}" if judge else task)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return _save(fig, path)


def plot_debater_rating(ratings: Sequence[Row], path: Path) -> Path | None:
    """Judge accuracy against debater Elo, with Elo and Wilson interval bars; one panel per judge."""
    if not ratings:
        return None
    judges = list(dict.fromkeys(r["judge"] for r in ratings))
    fig = _figure(6, 4)
    for ax, judge in zip(_panels(fig, len(judges)), judges, strict=True):
        rows = [r for r in ratings if r["judge"] == judge and r["n_accuracy"]]
        for i, r in enumerate(rows):
            ax.errorbar(
                r["elo"],
                r["judge_accuracy"],
                xerr=[[r["elo"] - r["elo_lo"]], [r["elo_hi"] - r["elo"]]],
                yerr=[[r["judge_accuracy"] - r["acc_lo"]], [r["acc_hi"] - r["judge_accuracy"]]],
                fmt="o",
                capsize=3,
                color=f"C{i % 10}",
                label=f"{r['debater']} ({r['basis']})",
            )
        if len(rows) >= 2:
            x = np.array([r["elo"] for r in rows])
            y = np.array([r["judge_accuracy"] for r in rows])
            if np.ptp(x) > 0:
                slope, icept = np.polyfit(x, y, 1)
                xs = np.linspace(x.min(), x.max(), 2)
                ax.plot(xs, slope * xs + icept, color="grey", linestyle=":", linewidth=1)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("debater Elo (Bradley-Terry, 95% bootstrap CI)")
        ax.set_ylabel("judge accuracy (95% Wilson CI)")
        ax.set_title(f"judge: {judge}" if judge else "judge")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return _save(fig, path)


def plot_rounds(rounds: Sequence[Row], path: Path) -> Path | None:
    """Accuracy by round (or by configured number of rounds) with Wilson bands; one panel per judge x task."""
    if not rounds:
        return None
    groups = group_by(rounds, lambda r: (r["judge"], r["task"]))
    fig = _figure(6, 4)
    for ax, ((judge, task), rows) in zip(_panels(fig, len(groups)), groups.items(), strict=True):
        series = group_by(rows, lambda r: (r["kind"], r["protocol"]))
        for i, ((kind, label), pts) in enumerate(series.items()):
            x = [p["round"] for p in pts]
            ax.plot(
                x,
                [p["accuracy"] for p in pts],
                marker="o",
                color=f"C{i % 10}",
                label=label if kind == "judgment" else f"{label} (by rounds run)",
            )
            ax.fill_between(x, [p["acc_lo"] for p in pts], [p["acc_hi"] for p in pts], color=f"C{i % 10}", alpha=0.15)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("round")
        ax.set_ylabel("accuracy (95% Wilson CI)")
        ax.set_title(f"{judge} on {task}" if judge else task)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return _save(fig, path)


def plot_oversight_scaling(
    pairs: Sequence[Row], ratings: Sequence[Row], path: Path, strength_label: str = "strength"
) -> Path | None:
    """Engels et al.'s picture: judge success against the Elo gap (houdini - guard) per group, with Wilson bars and
    the curve 1 / (1 + 10^(gap / 400)); and, beside it, each role's Elo against its strength (solid: guards,
    dashed: houdinis). Groups are told apart by colour; `group` values like "pixels/debate" get a marker per
    prefix."""
    if not pairs:
        return None
    fig = _figure(11, 4.2)
    left, right = fig.subplots(1, 2)
    groups = list(dict.fromkeys(r["group"] for r in pairs))
    domains = list(dict.fromkeys(str(g).split("/")[0] for g in groups))
    markers = "osD^v"
    for i, group in enumerate(groups):
        rows = [r for r in pairs if r["group"] == group]
        marker = markers[domains.index(str(group).split("/")[0]) % len(markers)]
        left.errorbar(
            [r["gap"] for r in rows],
            [r["success"] for r in rows],
            yerr=[[r["success"] - r["lo"] for r in rows], [r["hi"] - r["success"] for r in rows]],
            fmt=marker,
            capsize=2,
            color=f"C{i % 10}",
            label=group,
            alpha=0.85,
        )
        mine = [r for r in ratings if r["group"] == group and r["strength"] is not None]
        pts = sorted((r["strength"], r["elo"], r["role"]) for r in mine)
        for role, style in (("guard", "-"), ("houdini", "--")):
            xy = [(x, y) for x, y, rl in pts if rl == role]
            if xy:
                right.plot(*zip(*xy, strict=True), style, marker=marker, color=f"C{i % 10}", label=f"{group} {role}s")
    gaps = np.array([r["gap"] for r in pairs])
    xs = np.linspace(min(gaps.min(), -400), max(gaps.max(), 400), 200)
    left.plot(xs, 1.0 / (1.0 + 10 ** (xs / 400)), color="grey", linewidth=1, label="1 / (1 + 10^(gap/400))")
    left.set_ylim(0, 1.05)
    left.set_xlabel("Elo gap: overseen - overseer")
    left.set_ylabel("judge success (95% Wilson CI)")
    left.grid(alpha=0.3)
    left.legend(fontsize="small")
    right.set_xlabel(strength_label)
    right.set_ylabel("Elo (Bradley-Terry)")
    right.grid(alpha=0.3)
    right.legend(fontsize="x-small")
    return _save(fig, path)


def plot_market(records: Sequence[Record], path: Path) -> Path | None:
    """Markets' trajectories, per judge x task: the mean shift of each step (left) and the mean probability p_t
    gave the answer the judge finally chose, from p_0 (right); one line per protocol label."""
    curves = market_curves(records)
    if not curves:
        return None
    fig = _figure(11, 3.8 * len(curves))
    axes = fig.subplots(len(curves), 2, squeeze=False)
    for (left, right), ((judge, task), by_label) in zip(axes, curves.items(), strict=True):
        for i, (label, c) in enumerate(by_label.items()):
            colour = f"C{i % 10}"
            left.plot(range(1, len(c["shift"]) + 1), c["shift"], marker="o", color=colour, label=label)
            right.plot(range(len(c["p_judge"])), c["p_judge"], marker="o", color=colour, label=label)
        where = f"{judge} on {task}" if judge else task
        left.set_title(f"{where}: mean shift per step", fontsize="medium")
        left.set_xlabel("step t")
        left.set_ylabel("mean shift of M, p_{t-1} -> p_t")
        right.set_title(f"{where}: M's probability of H's final answer", fontsize="medium")
        right.set_xlabel("after step t (0: before any argument)")
        right.set_ylabel("mean p_t(judge's answer)")
        right.set_ylim(0, 1.02)
        for ax in (left, right):
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.grid(alpha=0.3)
            ax.legend(fontsize="small")
    return _save(fig, path)
