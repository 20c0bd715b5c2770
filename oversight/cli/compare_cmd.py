"""`oversight compare RUN...`: compare protocols across runs; print the tables, write plots and a Markdown report."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from oversight.cli.errors import CLIError

TABLES = ("summary", "paired", "pgr", "sides", "ratings", "bias", "judges", "jury", "rounds", "supervision", "market")


def register(subparsers: argparse._SubParsersAction) -> None:
    cmp = subparsers.add_parser(
        "compare",
        help="compare protocols and judges: accuracy (95%% CI), calibration, position bias, paired tests, PGR, "
        "judges on identical transcripts, juries, debater Elo, markets, plots",
        description="Compare the protocols in one or more runs (run directories, or experiment directories for "
        "their newest run). Prints the tables and writes report.md with PNG figures into the first run directory.",
    )
    cmp.add_argument("runs", metavar="RUN_DIR", nargs="+", help="runs/<experiment>/<run-id> or runs/<experiment>")
    cmp.add_argument("--report", metavar="PATH", help="where to write the report (default: FIRST_RUN/report.md)")
    cmp.add_argument("--no-report", action="store_true", help="print the tables only; write no files")
    cmp.add_argument("--table", choices=TABLES, help="print only this table")
    cmp.add_argument("--json", action="store_true", help="print the table(s) as JSON rows")
    cmp.add_argument("--task", help="task name for episodes that do not record one (default: the run's only task)")
    cmp.add_argument("--resamples", type=int, default=10_000, help="bootstrap/permutation resamples (default 10000)")
    cmp.add_argument("--seed", type=int, default=0, help="seed of every resampling statistic (default 0)")
    cmp.add_argument(
        "--reference",
        metavar="FILE",
        help="JSONL of a reference population's answer distribution per question (JS distance of juries)",
    )
    cmp.set_defaults(func=cmd_compare)


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def cmd_compare(args: argparse.Namespace) -> int:
    """Print the comparison tables and (unless --no-report) write the report; returns 0."""
    from oversight.comparison import compare
    from oversight.store import StoreError

    if args.resamples < 1:
        raise CLIError("--resamples must be >= 1", exit_code=2)
    try:
        comparison = compare(
            args.runs, task=args.task, n_resamples=args.resamples, seed=args.seed, reference=args.reference
        )
    except (StoreError, ValueError) as err:
        raise CLIError(str(err), exit_code=2) from None
    if not comparison.records:
        raise CLIError("no scorable episodes (with a gold answer) in " + ", ".join(args.runs))
    if args.json:
        names = [args.table] if args.table else list(TABLES)
        data = {n: [{k: _clean(v) for k, v in row.items()} for row in comparison.rows(n)] for n in names}
        print(json.dumps(data[args.table] if args.table else data, indent=2))
    else:
        print(comparison.table(args.table))
    if not args.no_report:
        try:
            path = comparison.report(args.report)
        except ImportError as err:
            raise CLIError(f"plots need matplotlib: pip install matplotlib ({err})") from None
        print(f"\nreport: {path}")
    return 0
