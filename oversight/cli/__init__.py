"""The `oversight` command. Each sub-command lives in its own module with a `register(subparsers)` function."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from oversight.cli.errors import CLIError

#: modules whose `register(subparsers)` adds a sub-command; imported lazily by name so a broken optional
#: backend never breaks unrelated commands.
COMMAND_MODULES = ["oversight.cli.models_cmd"]
COMMAND_MODULES += ["oversight.cli.run_cmd", "oversight.cli.show_cmd"]
COMMAND_MODULES += ["oversight.cli.tasks_cmd"]
COMMAND_MODULES += ["oversight.cli.compare_cmd"]
COMMAND_MODULES += ["oversight.cli.demo_cmd"]
COMMAND_MODULES += ["oversight.cli.tree_cmd"]
COMMAND_MODULES += ["oversight.cli.rejudge_cmd"]
COMMAND_MODULES += ["oversight.cli.view_cmd"]
COMMAND_MODULES += ["oversight.cli.export_cmd"]
COMMAND_MODULES += ["oversight.cli.judge_cmd"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oversight",
        description="Run scalable-oversight protocols against weak judges and measure them against ground truth.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CLIError as err:
        from oversight.models.secrets import redact

        print(f"oversight: error: {redact(str(err))}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("oversight: interrupted", file=sys.stderr)
        return 130
