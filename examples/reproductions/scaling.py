"""The oversight scaling curve (Engels et al. 2025, "Scaling Laws for Scalable Oversight") for debate and
consultancy, in two worlds: the sparse-pixel game (`scaling_pixels.toml`: judges of rising k and capacity against
debaters and consultants of rising search budget) and text (`scaling_text.toml`: simulated judges of rising
strength against programmatic arguers quoting more evidence). Both specs run through the ordinary runner; every
scored episode is a game between its judge (guard) and the agent it oversaw (houdini: the dishonest arguer when
one argued the wrong answer); guards and houdinis are rated on one Elo scale per world and protocol, and the
table and the plot (judge success against the Elo gap; Elo against strength) are read back from the runs.

    python examples/reproductions/scaling.py                     # the table and plot in docs/reproductions.md
    python examples/reproductions/scaling.py --n 40 --plot /tmp/scaling.png   # a quick look
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from oversight.comparison.plots import plot_oversight_scaling  # noqa: E402
from oversight.comparison.scaling import houdini_of, oversight_outcomes, scaling_tables  # noqa: E402
from oversight.episode import Episode, report_label  # noqa: E402
from oversight.experiment import Experiment, run_experiment  # noqa: E402
from oversight.protocol_registry import protocol_names, register_protocol  # noqa: E402
from oversight.store import load_run  # noqa: E402
from protocols.pixel_debate import PIXEL_CONSULTANCY, PIXEL_DEBATE, RANDOM_PIXELS  # noqa: E402

HERE = Path(__file__).resolve().parent
WORLDS = {"pixels": "scaling_pixels.toml", "text": "scaling_text.toml"}


def register() -> None:
    """Register the pixel protocols by name unless their entry points are installed already."""
    for entry in (PIXEL_DEBATE, RANDOM_PIXELS, PIXEL_CONSULTANCY):
        if entry.name not in protocol_names():
            register_protocol(entry)


def protocol_kind(ep: Episode) -> str:
    """`debate` or `consultancy` (the pixel protocols' names without their prefix)."""
    return ep.protocol.removeprefix("pixel-")


def strengths(spec: Experiment, episodes: list[Episode]) -> dict[str, float]:
    """Each player's strength rank, weakest 0: judges in the spec's order, arguers in the order of the spec's
    entries of each protocol."""
    out: dict[str, float] = {j.name: float(i) for i, j in enumerate(spec.judge_list())}
    order = {p.label: i for i, p in enumerate(spec.protocols)}
    houdinis: dict[str, dict[str, int]] = {}
    for ep in episodes:
        h = houdini_of(ep)
        if h is not None:
            houdinis.setdefault(protocol_kind(ep), {}).setdefault(h, order[report_label(ep)])
    for ranks in houdinis.values():
        for rank, h in enumerate(sorted(ranks, key=ranks.__getitem__)):
            out[h] = float(rank)
    return out


def short(player: str) -> str:
    """A player's name for the table: `mcts-16` for a pixel debater, `q2` for a retrieval arguer."""
    if player.startswith("program/pixel-debater/"):
        return player.rsplit("/", 1)[1]
    if player.startswith("program/retrieval(k="):
        return "q" + player.split("k=", 1)[1].split(",", 1)[0]
    return player


def table(pairs: list[dict[str, Any]], ratings: list[dict[str, Any]]) -> str:
    """One line per (world/protocol, guard, houdini): games, judge success with its Wilson interval, both Elos,
    the gap and the success the fit predicts; then each group's Elo slope per strength step for both roles."""
    head = (
        f"{'world/protocol':<19} {'judge (guard)':<13} {'overseen':<9} {'n':>4}  {'success':>7}  "
        f"{'95% CI (Wilson)':<16}  {'guard Elo':>9}  {'overseen Elo':>12}  {'gap':>5}  {'fit':>5}"
    )
    lines = [head]
    for r in pairs:
        lines.append(
            f"{r['group']:<19} {r['guard']:<13} {short(r['houdini']):<9} {r['n']:>4}  {r['success']:>7.3f}  "
            f"[{r['lo']:.3f}, {r['hi']:.3f}]    {r['guard_elo']:>9.0f}  {r['houdini_elo']:>12.0f}  {r['gap']:>+5.0f}  "
            f"{r['predicted']:>5.3f}"
        )
    lines.append("Elo per strength step (least squares): " + "; ".join(
        f"{g} {role}s {slope:+.0f}"
        for (g, role), slope in {(r["group"], r["role"]): r["slope"] for r in ratings}.items()
    ))  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="questions (images) per world")
    parser.add_argument("--worlds", nargs="+", choices=list(WORLDS), default=list(WORLDS))
    parser.add_argument("--output-dir", default="runs")
    parser.add_argument("--plot", default="runs/oversight_scaling.png", help="where to write the figure")
    parser.add_argument("--json", default=None, help="also write the tables and timings here")
    args = parser.parse_args()
    register()
    start = time.perf_counter()
    outcomes: dict[str, list[Any]] = {}
    strength: dict[str, float] = {}
    runs = []
    for world in args.worlds:
        data = Experiment.from_file(HERE / WORLDS[world]).model_dump(mode="json", exclude_defaults=True)
        data["tasks"][0]["n"] = args.n
        data["output_dir"] = args.output_dir
        spec = Experiment.from_dict(data, base_dir=HERE)
        result = run_experiment(spec, progress="bar")
        runs.append(str(result.run_dir))
        print(f"{spec.name}: {result.status}, {result.done} episodes, {result.errors} errors -> {result.run_dir}")
        episodes = load_run(result.run_dir).episodes
        strength |= strengths(spec, episodes)
        for kind, games in oversight_outcomes(episodes, group=protocol_kind).items():
            outcomes[f"{world}/{kind}"] = games
    pairs, ratings = scaling_tables(outcomes, strength)
    png = plot_oversight_scaling(pairs, ratings, Path(args.plot), strength_label="strength rank (weakest 0)")
    wall = time.perf_counter() - start
    cpu = sum(getattr(resource.getrusage(resource.RUSAGE_SELF), f) for f in ("ru_utime", "ru_stime"))
    print(table(pairs, ratings))
    print(f"plot: {png}; wall time {wall:.0f} s, CPU time {cpu:.0f} s; runs: {', '.join(runs)}")
    if args.json:
        Path(args.json).write_text(json.dumps({"pairs": pairs, "ratings": ratings, "runs": runs, "wall": wall}))


if __name__ == "__main__":
    main()
