"""`oversight export KIND RUN_DIR`: write data from a run's episodes for use outside oversight.

`market`: (question, arguments, the judge's final distribution) from market-making episodes as chat fine-tuning
JSONL, one line per point of each trajectory, so a market model can be trained elsewhere and plugged back in by
model string. The protocols of the run provide the exporters (`ProtocolEntry.exports`).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from oversight.cli.errors import CLIError


def register(subparsers: argparse._SubParsersAction) -> None:
    exp = subparsers.add_parser(
        "export",
        help="write data from a run for use elsewhere (market: fine-tuning JSONL for a market-making market)",
        description="Write data from the episodes of a run. `export market RUN_DIR` writes one chat example per "
        "point of every market-making trajectory: the market's prompt and, as the reply, the judge's final "
        "distribution in the market's reply format.",
    )
    kinds = exp.add_subparsers(dest="kind", metavar="KIND", required=True)
    market = kinds.add_parser(
        "market",
        help="(question, arguments, judge's final distribution) as chat fine-tuning JSONL",
        description="Training data for a market-making market from RUN_DIR's market-making episodes: each line "
        'is {"messages": [system, user, assistant]}, the assistant reply being the judge\'s final distribution. '
        "Episodes that errored or whose final judgment is invalid or pending are skipped.",
    )
    market.add_argument("run", metavar="RUN_DIR", help="runs/<experiment>/<run-id>, or runs/<experiment>: its newest")
    market.add_argument("--out", metavar="FILE", help="where to write (default: RUN_DIR/market-train.jsonl)")
    market.add_argument(
        "--steps",
        choices=("all", "final"),
        default="all",
        help="one example per trajectory point p_0..p_T (all, default) or only for p_T (final)",
    )
    market.add_argument("--meta", action="store_true", help='add a "metadata" object per line (episode, step, ...)')
    market.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """Write the examples and print how many came from how many episodes; returns 0. Raises CLIError (exit 2)
    for a directory that is not a run, or a run with no episode of a protocol that exports `args.kind`."""
    from oversight.protocol_registry import get_protocol
    from oversight.store import StoreError, iter_episodes, resolve_run_dir

    try:
        run_dir = resolve_run_dir(args.run)
        episodes = list(iter_episodes(run_dir))
    except StoreError as err:
        raise CLIError(str(err), exit_code=2) from None
    exporters = {}
    for name in dict.fromkeys(ep.protocol for ep in episodes):
        try:
            found = get_protocol(name).exports.get(args.kind)
        except (KeyError, ImportError, AttributeError, TypeError):
            continue  # a protocol that is not installed here exports nothing
        if found is not None:
            exporters[name] = found
    usable = [ep for ep in episodes if ep.protocol in exporters]
    if not usable:
        protocols = ", ".join(sorted({ep.protocol for ep in episodes})) or "none"
        raise CLIError(f"{run_dir}: no episode of a protocol that exports {args.kind!r} (protocols: {protocols})", 2)
    out = Path(args.out) if args.out else run_dir / f"{args.kind}-train.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    options = {"steps": args.steps, "meta": args.meta}
    used: Counter[str] = Counter()
    lines = 0
    with out.open("w", encoding="utf-8") as f:
        for ep in usable:
            for row in exporters[ep.protocol]([ep], options):
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                used[ep.id] += 1
                lines += 1
    print(
        f"{lines} examples from {len(used)} of {len(usable)} episodes ({len(usable) - len(used)} skipped: errored, "
        f"or no valid final judgment) -> {out}"
    )
    return 0
