"""`oversight judge RUN --judge-id NAME` (offline: judge what a run's human judges left pending) and
`oversight judge --live SPEC` (live: watch the debaters or the consultant and judge as the turns arrive)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from oversight.cli.errors import CLIError


def register(subparsers: argparse._SubParsersAction) -> None:
    judge = subparsers.add_parser(
        "judge",
        help="judge episodes in the terminal as a human: a run's pending judgments, or a live session (--live)",
        description="Offline: judge, one after another, the judgments of RUN that wait for --judge-id (pending "
        "human judgments; to judge any recorded run, first `oversight rejudge RUN --human NAME`). Each judgment "
        "is saved at once; a restart resumes where you stopped. Live (--live SPEC): run the experiment SPEC with "
        "you as its human judge, watching the turns arrive (--live RUN_DIR resumes a live run). Keyboard only; "
        "press ? for the keys. Needs a terminal of at least 80x24.",
    )
    judge.add_argument("target", metavar="RUN|SPEC", help="a run directory (offline), or with --live a spec file")
    judge.add_argument("--judge-id", metavar="NAME", help="your judge id (letters, digits, '_', '.', '@', '-')")
    judge.add_argument("--live", action="store_true", help="run SPEC (or resume the live run RUN_DIR) with you judging")
    judge.add_argument("--feedback", action="store_true", help="show the correct answer after each judgment "
                       "(off by default; recorded in every judgment)")  # fmt: skip
    judge.add_argument("--seed", type=int, default=0, help="offline: varies your seeded order of episodes (default 0)")
    judge.add_argument("--min-rounds", type=int, metavar="N", help="live: you may end an interactive debate or "
                       "consultancy once N rounds are played (sets judge.min_rounds of those protocols)")  # fmt: skip
    judge.add_argument("--output-dir", metavar="DIR", help="live: root of run directories (default: the spec's)")
    judge.add_argument("--no-cache", action="store_true", help="live: do not use the call cache")
    judge.add_argument("--theme", choices=("dark", "light"), default="dark", help="colour theme (t toggles it)")
    judge.set_defaults(func=cmd_judge)


def cmd_judge(args: argparse.Namespace) -> int:
    """Run a judging session; returns 0 (1 when nothing waits for the judge). Raises `CLIError` (exit 2) for bad
    input: a directory that is not a run, an unsafe judge id, a spec that cannot be judged live, no terminal."""
    from oversight.judge_entry import check_judge_id

    if args.judge_id is not None:
        try:
            check_judge_id(args.judge_id)
        except ValueError as err:
            raise CLIError(f"--judge-id: {err}", exit_code=2) from None
    if args.live:
        from oversight.cli.live_cmd import cmd_live

        return cmd_live(args)
    for flag, given in (("--min-rounds", args.min_rounds), ("--output-dir", args.output_dir)):
        if given is not None:
            raise CLIError(f"{flag} is for live sessions (--live)", exit_code=2)
    if args.judge_id is None:
        raise CLIError("give your judge id: --judge-id NAME", exit_code=2)
    return _offline(args)


def _offline(args: argparse.Namespace) -> int:
    from oversight.store import StoreError
    from oversight.tui.judge_app import JudgeApp

    try:
        app = JudgeApp(args.target, args.judge_id, seed=args.seed, feedback=args.feedback, theme=args.theme)
    except StoreError as err:
        raise CLIError(str(err), exit_code=2) from None
    q = app.queue
    if q.total == 0:
        print(_nothing_waits(args.target, q.judge_id, q.waiting_by_judge, q.unjudgeable), file=sys.stderr)
        return 1
    if q.current() is None:
        print(f"{q.judge_id} has judged all {q.total} judgment(s) of {q.run_dir}: nothing left to do.")
        return 0
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CLIError("oversight judge needs an interactive terminal (stdin and stdout must be a TTY)", exit_code=2)
    app.run()
    report = app.report
    print(f"{q.judge_id}: {report.saved} judgment(s) saved in this session; {report.judged} of {report.total} done.")
    print(f"saved in: {q.run_dir / 'judgments.jsonl'}")
    if report.judged < report.total:
        print(f"continue with: oversight judge {q.run_dir} --judge-id {q.judge_id}")
    return 0


def _nothing_waits(target: str | Path, judge_id: str, waiting: dict[str, int], unjudgeable: list) -> str:
    lines = [f"oversight: nothing in {target} waits for judge {judge_id!r}."]
    if unjudgeable:
        lines.append(f"  {len(unjudgeable)} judgment(s) for {judge_id} cannot be shown here: {unjudgeable[0][1]}.")
    others = {k: v for k, v in waiting.items() if k != judge_id}
    if others:
        lines.append("  waiting for: " + ", ".join(f"{k} ({v})" for k, v in sorted(others.items())))
    lines.append(f"  to judge this run's episodes as {judge_id}: oversight rejudge {target} --human {judge_id}")
    lines.append(f"  then: oversight judge runs/<experiment>-rejudge --judge-id {judge_id}")
    return "\n".join(lines)
