"""`oversight view RUN`: browse a run's episodes in the terminal (a Textual app; nothing is written)."""

from __future__ import annotations

import argparse
import sys

from oversight.cli.errors import CLIError


def register(subparsers: argparse._SubParsersAction) -> None:
    view = subparsers.add_parser(
        "view",
        help="browse a run's episodes in the terminal: filter, search, read transcripts and judgments",
        description="Open the run viewer on RUN (a run directory, or an experiment directory: its newest run). "
        "Keyboard only; press ? for the keys. Needs a terminal of at least 80x24.",
    )
    view.add_argument("run", metavar="RUN", help="runs/<experiment>/<run-id>, or runs/<experiment> for the newest")
    view.add_argument("--theme", choices=("dark", "light"), default="dark", help="colour theme (t toggles it)")
    view.set_defaults(func=cmd_view)


def cmd_view(args: argparse.Namespace) -> int:
    """Run the viewer until the user quits; returns 0. Raises `CLIError` (exit 2) when RUN is not a run."""
    from oversight.store import StoreError
    from oversight.tui.viewer import ViewerApp

    try:
        app = ViewerApp(args.run, theme=args.theme)
    except StoreError as err:
        raise CLIError(str(err), exit_code=2) from None
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CLIError("oversight view needs an interactive terminal (stdin and stdout must be a TTY)", exit_code=2)
    app.run()
    return 0
