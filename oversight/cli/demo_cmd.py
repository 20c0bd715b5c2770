"""`oversight demo`: naive judge vs consultancy vs debate on hidden-passage questions, on the embedded local model.

The demo is an ordinary experiment: the spec shipped as `oversight/experiment/demo.toml`, adjusted by the options
here, run by the normal runner into `runs/demo/<run-id>/` (so `oversight show` and `oversight compare` read it),
then summarised with `oversight.comparison`.
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oversight.cli.errors import CLIError

if TYPE_CHECKING:
    from oversight.comparison import Comparison
    from oversight.experiment import Experiment

DEFAULT_MODEL = "local/smollm2-135m"
DEFAULT_N = 16
DEFAULT_ROUNDS = 1
#: protocols whose `rounds` the --rounds option sets
_ROUNDED = ("consultancy", "debate")
#: the columns of the demo's table: (row key of the comparison summary, header, format)
_COLUMNS = [
    ("protocol", "protocol", "s"),
    ("n", "n", "d"),
    ("accuracy", "acc", ".3f"),
    ("acc_ci", "95% CI (Wilson)", "ci"),
    ("invalid_rate", "invalid", ".3f"),
    ("first_shown", "first shown", ".3f"),
    ("tokens", "tokens/ep", ".0f"),
    ("latency", "s/ep", ".1f"),
]


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run naive vs consultancy vs debate on the embedded local model and print the comparison",
        description="A weak judge answers questions about a generated document it cannot see: alone (naive), "
        "after a consultant argues one answer (consultancy), after two debaters argue both (debate); the same "
        "model reading the document (expert) is the ceiling. The judge is position-swap debiased (it judges both "
        "answer orders and averages); its position bias is printed beside accuracy. A real run: it lands in "
        "OUT/demo/<run-id>/.",
    )
    demo.add_argument("--n", type=int, default=DEFAULT_N, help=f"questions (default {DEFAULT_N})")
    demo.add_argument("--model", default=DEFAULT_MODEL, help=f"model of every role (default {DEFAULT_MODEL})")
    demo.add_argument(
        "--option",
        "-o",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="provider option of --model, e.g. -o base_url=http://127.0.0.1:8000/v1 (VALUE parsed as JSON)",
    )
    demo.add_argument(
        "--rounds", type=int, default=DEFAULT_ROUNDS, help=f"consultancy/debate rounds (default {DEFAULT_ROUNDS})"
    )
    demo.add_argument("--no-expert", action="store_true", help="skip the expert tier (faster; no PGR)")
    demo.add_argument(
        "--no-swap",
        action="store_true",
        help="the plain judge: one verdict per transcript in its counterbalanced order, not both orders averaged "
        "(half the judge calls; its accuracy then carries its position bias)",
    )
    demo.add_argument("--out", default="runs", metavar="DIR", help="root of run directories (default: runs)")
    demo.add_argument("--run-id", metavar="ID", help="name of the run directory (default: timestamp)")
    cache = demo.add_mutually_exclusive_group()
    cache.add_argument("--no-cache", action="store_true", help="do not use the call cache")
    cache.add_argument(
        "--cache", metavar="PATH", help="call cache SQLite file (default: $OVERSIGHT_CACHE_DIR or ~/.cache)"
    )
    demo.add_argument(
        "--progress", choices=["auto", "rich", "lines", "off"], default="auto", help="progress display (default auto)"
    )
    demo.set_defaults(func=cmd_demo)


def demo_experiment(
    *,
    n: int = DEFAULT_N,
    model: str = DEFAULT_MODEL,
    options: dict[str, Any] | None = None,
    rounds: int = DEFAULT_ROUNDS,
    expert: bool = True,
    swap: bool = True,
    output_dir: str | Path = "runs",
) -> Experiment:
    """The demo's `Experiment`: the shipped `demo.toml` with these settings (`swap=False`: every judge plain, one
    verdict per transcript). Raises `SpecError` for bad values."""
    from oversight.experiment import Experiment

    data = tomllib.loads(resources.files("oversight.experiment").joinpath("demo.toml").read_text())
    data["tasks"][0]["n"] = n
    data["protocols"] = [p for p in data["protocols"] if expert or p.get("tier") != "expert"]
    for proto in data["protocols"]:
        if proto["name"] in _ROUNDED:
            proto["rounds"] = rounds
        if not swap:
            proto.pop("judge", None)  # demo.toml's judge tables only switch the swap on
    for role in [*data["roles"].values(), *data["judges"]]:
        role["model"] = model
        # demo.toml's options (n_parallel) are the local model's; --option adds to them, or replaces them for
        # another model.
        shipped = role.pop("options", {})
        if not model.startswith("local/"):
            shipped = {}
        if shipped or options:
            role["options"] = {**shipped, **(options or {})}
    if not model.startswith("local/"):
        # Only an in-process model serialises every call; a server or an API serves episodes in parallel.
        data["concurrency"] = 8
    data["output_dir"] = str(output_dir)
    return Experiment.from_dict(data, source="demo.toml")


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the demo, print the comparison table, where the run is and what to try next; returns 0 (130 on Ctrl-C)."""
    from oversight.cli.models_cmd import parse_options
    from oversight.experiment import SpecError, run_experiment
    from oversight.store import StoreError

    if args.n < 1 or args.rounds < 1:
        raise CLIError("--n and --rounds must be >= 1", exit_code=2)
    try:
        spec = demo_experiment(
            n=args.n,
            model=args.model,
            options=parse_options(args.option),
            rounds=args.rounds,
            expert=not args.no_expert,
            swap=not args.no_swap,
            output_dir=args.out,
        )
    except SpecError as err:
        raise CLIError(f"demo: {err}", exit_code=2) from None
    labels = ", ".join(p.label for p in spec.protocols)
    print(
        f"oversight demo: {labels} on {args.n} hidden-passage questions, every role played by {args.model}.\n"
        "The judge never sees the document; consultant, debaters and the expert do. Cached calls are free on re-runs."
    )
    sys.stdout.flush()
    cache: bool | str | None = False if args.no_cache else args.cache
    start = time.perf_counter()
    try:
        result = run_experiment(spec, cache=cache, run_id=args.run_id, progress=args.progress)
    except SpecError as err:
        raise CLIError(f"demo: {err}", exit_code=2) from None
    except StoreError as err:
        raise CLIError(str(err), exit_code=2) from None
    except KeyboardInterrupt as err:
        from oversight.cli.run_cmd import interrupted_message

        print(interrupted_message(getattr(err, "run_dir", None)))
        return 130
    wall = time.perf_counter() - start

    from oversight.comparison import compare

    comparison = compare([result.run_dir], n_resamples=2000)
    print()
    print(demo_table(comparison))
    print(position_bias_line(comparison, swapped=not args.no_swap))
    for row in comparison.pgr:
        if _defined(row.get("pgr")):
            print(f"PGR {row['protocol']}: {row['pgr']:.3f} (naive {row['naive']:.3f}, expert {row['expert']:.3f})")
        else:
            print(f"PGR {row['protocol']}: undefined: {row.get('note') or 'no gap between naive and expert'}")
    summary = result.summary
    calls = summary.get("calls", {})
    print(
        f"\n{result.status}: {result.done + result.skipped}/{result.total} episodes, {result.errors} errors, "
        f"{int(summary.get('total', {}).get('tokens', 0)):,} tokens, {calls.get('total', 0)} model calls "
        f"({calls.get('cache_hits', 0)} from the cache), {_duration(wall)} wall time"
    )
    print(f"run written to: {result.run_dir}")
    nexts = [
        (f"oversight show {result.run_dir}", "the run's table again"),
        (f"oversight compare {result.run_dir}", "paired tests, PGR, calibration; report.md with plots"),
        ("oversight run examples/compare.toml", "the same comparison as a spec file to edit"),
    ]
    width = max(len(cmd) for cmd, _ in nexts)
    print("next:")
    for cmd, what in nexts:
        print(f"  {cmd.ljust(width)}  # {what}")
    sys.stdout.flush()
    return 0 if result.status == "complete" else 1


def demo_table(comparison: Comparison) -> str:
    """The demo's table: accuracy with a Wilson interval, invalid rate, the judge's share of first-shown picks
    (position bias), tokens and seconds per episode."""
    from oversight.comparison.comparison import format_table

    return format_table(comparison.summary, _COLUMNS)


def position_bias_line(comparison: Comparison, swapped: bool = True) -> str:
    """One line on the judge's position bias over the whole run: how many verdicts (both orders of every swapped
    judgment) picked the answer shown first, with a 95% Wilson interval of that share; `swapped` says whether
    the accuracies averaged both orders."""
    from oversight.metrics.binomial import wilson_interval

    picks = [p for r in comparison.records if r.scored for p in r.first_picks]
    if not picks:
        return "position bias: no valid verdicts"
    k, n = sum(picks), len(picks)
    lo, hi = wilson_interval(k, n)
    effect = (
        "Its swapped verdicts are averaged, which removes that pull from the accuracies above."
        if swapped
        else "The judge was not swapped (--no-swap), so that pull is in the accuracies above."
    )
    return (
        f"position bias: the judge picked the answer shown first in {k} of {n} valid verdicts ({k / n:.3f}, 95% CI "
        f"[{lo:.3f}, {hi:.3f}]); 0.5 = not moved by the order. {effect}"
    )


def _defined(value: Any) -> bool:
    return value is not None and value == value  # NaN != NaN


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"
