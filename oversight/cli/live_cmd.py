"""`oversight judge --live SPEC` (a new live run) and `oversight judge --live RUN_DIR` (resume one)."""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import datetime
from pathlib import Path

from oversight.cli.errors import CLIError


def cmd_live(args: argparse.Namespace) -> int:
    """Run a live judging session; returns 0, or 1 when the run failed. Raises `CLIError` (exit 2) for a spec
    that cannot be judged live, a directory that is not a run, or no terminal."""
    from oversight.experiment.runner import resume_spec
    from oversight.experiment.spec import Experiment, SpecError
    from oversight.live_session import live_spec
    from oversight.store import SPEC_FILE, StoreError

    target = Path(args.target)
    if args.seed:
        raise CLIError("--seed orders offline judging; a live session runs the spec's order", exit_code=2)
    resume = target.is_dir()
    try:
        if resume:
            if not (target / SPEC_FILE).is_file():
                raise CLIError(f"{target}: not a run directory (no {SPEC_FILE}); give a spec file or a run", 2)
            if args.min_rounds is not None:
                raise CLIError("--min-rounds: a resumed run keeps the settings it was started with", exit_code=2)
            spec, judge_id = live_spec(resume_spec(target), args.judge_id)
            run_dir = target
        else:
            spec, judge_id = live_spec(Experiment.from_file(target), args.judge_id, min_rounds=args.min_rounds)
            root = Path(args.output_dir if args.output_dir is not None else spec.output_dir)
            run_dir = root / spec.name / (datetime.now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4])
    except (SpecError, StoreError) as err:
        lines = str(err).splitlines()
        raise CLIError(lines[0] if len(lines) == 1 else "cannot judge this live:\n  " + "\n  ".join(lines), 2) from None
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CLIError("oversight judge needs an interactive terminal (stdin and stdout must be a TTY)", exit_code=2)

    from oversight.tui.live_app import LiveApp

    app = LiveApp(
        spec,
        judge_id,
        run_dir=run_dir,
        resume=resume,
        feedback=args.feedback,
        cache=False if args.no_cache else None,
        theme=args.theme,
    )
    app.run()
    report = app.report
    print(f"live session {report.status}: {report.judged} decision(s) by {judge_id} in this session")
    for note in report.notes:
        print(f"note: {note}")
    print(f"run: {report.run_dir}")
    if report.error:
        print(f"oversight: error: {report.error}", file=sys.stderr)
        return 1
    if report.status != "complete" and (report.run_dir / SPEC_FILE).exists():
        print(f"continue with: oversight judge --live {report.run_dir}")
    return 0
