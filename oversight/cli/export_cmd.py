"""`oversight export KIND RUN_DIR`: write data from a run's episodes for use outside oversight, as JSONL.

The protocols of the run provide the exporters (`ProtocolEntry.exports`, by kind). `market` (market making):
(question, arguments, the judge's final distribution) as chat fine-tuning JSONL, one line per point of each
market trajectory, so a market model can be trained elsewhere and plugged back in by model string.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from oversight.cli.errors import CLIError


def register(subparsers: argparse._SubParsersAction) -> None:
    exp = subparsers.add_parser(
        "export",
        help="write data from a run for use elsewhere (market: fine-tuning JSONL for a market-making market)",
        description="Write data from the episodes of RUN_DIR as JSONL, with the exporter of kind KIND that the "
        "run's protocols offer. `export market RUN_DIR`: one chat example per point of every market-making "
        'trajectory, {"messages": [system, user, assistant]}: the market\'s prompt and, as the reply, the '
        "judge's final distribution in the market's reply format. Episodes that errored or whose final judgment "
        "is invalid or pending are skipped.",
    )
    exp.add_argument("kind", metavar="KIND", help="what to export (market)")
    exp.add_argument("run", metavar="RUN_DIR", help="runs/<experiment>/<run-id>, or runs/<experiment>: its newest")
    exp.add_argument("--out", metavar="FILE", help="where to write (default: RUN_DIR/KIND-train.jsonl)")
    exp.add_argument(
        "--steps",
        choices=("all", "final"),
        help="market: one example per trajectory point p_0..p_T (all, the default) or for p_T only (final)",
    )
    exp.add_argument("--meta", action="store_true", help='market: add a "metadata" object per line (episode, step)')
    exp.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """Write the rows and print how many came from how many episodes; returns 0. Raises CLIError (exit 2) for a
    directory that is not a run, a run with no episode of a protocol that exports `args.kind`, or options the
    exporter refuses."""
    from oversight.protocol_registry import get_protocol
    from oversight.store import StoreError, iter_episodes, resolve_run_dir

    try:
        run_dir = resolve_run_dir(args.run)
        episodes = list(iter_episodes(run_dir))
    except StoreError as err:
        raise CLIError(str(err), exit_code=2) from None
    exporters, offered = {}, set()
    for name in dict.fromkeys(ep.protocol for ep in episodes):
        try:
            exports = get_protocol(name).exports
        except (KeyError, ImportError, AttributeError, TypeError):
            continue  # a protocol that is not installed here exports nothing
        offered.update(exports)
        if args.kind in exports:
            exporters[name] = exports[args.kind]
    usable = [ep for ep in episodes if ep.protocol in exporters]
    if not usable:
        protocols = ", ".join(sorted({ep.protocol for ep in episodes})) or "none"
        kinds = f"; kinds this run offers: {', '.join(sorted(offered))}" if offered else ""
        raise CLIError(
            f"{run_dir}: no episode of a protocol that exports {args.kind!r} (protocols: {protocols}{kinds})", 2
        )
    options: dict[str, Any] = {"meta": True} if args.meta else {}
    if args.steps is not None:
        options["steps"] = args.steps
    out = Path(args.out) if args.out else run_dir / f"{args.kind}-train.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    used: Counter[str] = Counter()
    lines = 0
    tmp = out.with_name(out.name + ".part")  # a refused option or a crash leaves no half-written file behind
    try:
        with tmp.open("w", encoding="utf-8") as f:
            for ep in usable:
                for row in exporters[ep.protocol]([ep], options):
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
                    used[ep.id] += 1
                    lines += 1
    except ValueError as err:
        tmp.unlink(missing_ok=True)
        raise CLIError(f"export {args.kind}: {err}", exit_code=2) from None
    tmp.replace(out)
    skipped = len(usable) - len(used)
    print(f"{lines} rows from {len(used)} of {len(usable)} episodes ({skipped} skipped: errored, or no valid final "
          f"judgment) -> {out}")  # fmt: skip
    return 0
