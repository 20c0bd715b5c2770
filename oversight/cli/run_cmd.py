"""`oversight run SPEC` and `oversight resume RUN_DIR`: run an experiment, or finish an interrupted run."""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from oversight.cli.errors import CLIError


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run",
        help="run an experiment spec (TOML/YAML/JSON) into runs/<name>/<run-id>/",
        description="Expand SPEC into episodes, run them concurrently and stream them to the run directory.",
    )
    run.add_argument("spec", help="experiment spec file (.toml, .yaml, .json), e.g. examples/quick.toml")
    run.add_argument("--resume", metavar="RUN_DIR", help="continue this run: finished episodes are skipped")
    run.add_argument("--output-dir", metavar="DIR", help="root of run directories (default: the spec's output_dir)")
    run.add_argument("--run-id", metavar="ID", help="name of the new run directory (default: timestamp)")
    _common_options(run)
    run.set_defaults(func=cmd_run)

    resume = subparsers.add_parser(
        "resume",
        help="finish an interrupted run from its recorded spec",
        description="Re-run RUN_DIR's recorded spec: finished episodes are skipped, errored ones run again (their new "
        "record replaces the old), cached calls cost nothing.",
    )
    resume.add_argument("run_dir", metavar="RUN_DIR", help="a run directory, runs/<experiment>/<run-id>")
    _common_options(resume)
    resume.set_defaults(func=cmd_resume)


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help="resume even if what the results depend on changed (models, datasets, prompts, episode ids); the change "
        "is recorded in spec.json",
    )
    parser.add_argument(
        "--keep-errors", action="store_true", help="on resume, keep errored episodes as they are (default: run again)"
    )
    parser.add_argument(
        "--max-error-share",
        type=_share,
        metavar="SHARE",
        help="fail (exit 1) when at least this share of episodes errored, 0 < SHARE <= 1 (default: the spec's, 1.0)",
    )
    parser.add_argument("--fail-fast", action="store_true", help="stop at the first episode error (with traceback)")
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument("--no-cache", action="store_true", help="do not use the call cache")
    cache.add_argument("--cache", metavar="PATH", help="call cache SQLite file (default: spec, else user cache)")
    parser.add_argument(
        "--progress",
        choices=["auto", "rich", "lines", "off"],
        default="auto",
        help="progress display: a Rich bar on a terminal, periodic status lines otherwise (default: auto)",
    )
    parser.add_argument(
        "--status-every", type=float, default=10.0, metavar="SECONDS", help="interval of status lines (default: 10)"
    )
    parser.add_argument(
        "--ray",
        nargs="?",
        const="auto",
        metavar="ADDRESS",
        help="run the episodes on a Ray cluster: a running one (default 'auto', or ray://host:port), or 'local' to "
        "start Ray in this process (needs `pip install 'oversight[ray]'`; see docs/scale-out.md)",
    )
    parser.add_argument("--ray-workers", type=int, metavar="N", help="Ray workers (default: one per cluster CPU)")


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text}: must be > 0 and <= 1")
    return value


def cmd_run(args: argparse.Namespace) -> int:
    """Run (or, with --resume, continue) the spec; returns 0, 1 when the run failed (too many errored episodes),
    or 130 after Ctrl-C."""
    from oversight.experiment.spec import Experiment, SpecError

    try:
        spec = Experiment.from_file(args.spec)
    except SpecError as err:
        raise CLIError(_spec_message(err), exit_code=2) from None
    return _execute(spec, args, resume=args.resume, output_dir=args.output_dir, run_id=args.run_id)


def cmd_resume(args: argparse.Namespace) -> int:
    """Resume RUN_DIR from its `spec.json`; returns 0, 1 when the run failed, or 130 after Ctrl-C."""
    from oversight.experiment.runner import resume_spec
    from oversight.experiment.spec import SpecError
    from oversight.store import StoreError

    try:
        spec = resume_spec(args.run_dir)
    except StoreError as err:
        raise CLIError(str(err), exit_code=2) from None
    except SpecError as err:
        raise CLIError(_spec_message(err), exit_code=2) from None
    return _execute(spec, args, resume=args.run_dir, output_dir=None, run_id=None)


def _execute(
    spec: object, args: argparse.Namespace, *, resume: str | None, output_dir: str | None, run_id: str | None
) -> int:
    from oversight.cli.show_cmd import print_results
    from oversight.experiment.runner import ResumeMismatchError, RunInterrupted, run_experiment
    from oversight.experiment.spec import SpecError
    from oversight.models.secrets import redact
    from oversight.store import StoreError

    if resume is not None and not Path(resume).is_dir():
        raise CLIError(f"{resume}: no such run directory", exit_code=2)
    cache: bool | str | None = False if args.no_cache else args.cache
    executor = None
    if args.ray is not None:
        from oversight.experiment.ray_executor import RayExecutor, import_ray

        try:
            import_ray()
        except ImportError as err:
            raise CLIError(str(err), exit_code=2) from None
        executor = RayExecutor(address=None if args.ray == "local" else args.ray, workers=args.ray_workers)
    try:
        result = run_experiment(
            spec,  # type: ignore[arg-type]
            resume=resume,
            force=args.force,
            keep_errors=args.keep_errors,
            fail_fast=args.fail_fast,
            cache=cache,
            output_dir=output_dir,
            run_id=run_id,
            max_error_share=args.max_error_share,
            progress=args.progress,
            progress_interval=args.status_every,
            executor=executor,
        )
    except ImportError as err:  # the spec asks for the Ray executor and Ray is not installed
        raise CLIError(str(err), exit_code=2) from None
    except ResumeMismatchError as err:
        raise CLIError(str(err), exit_code=2) from None
    except SpecError as err:
        raise CLIError(_spec_message(err), exit_code=2) from None
    except StoreError as err:
        raise CLIError(str(err), exit_code=2) from None
    except KeyboardInterrupt as err:
        print(interrupted_message(getattr(err, "run_dir", None) if isinstance(err, RunInterrupted) else None))
        return 130
    except Exception as err:
        if args.fail_fast:
            print(redact(traceback.format_exc()), end="", file=sys.stderr)
            raise CLIError(f"--fail-fast: {type(err).__name__}: {err}") from None
        raise
    summary = result.summary
    print_results(summary.get("results", []), title=f"{spec.name}  ({result.run_dir})")  # type: ignore[attr-defined]
    eps = summary.get("episodes", {})
    retries = summary.get("retries", {})
    rerun = eps.get("errored_rerun", 0)
    print(
        f"{result.status}: {eps.get('finished', 0)}/{result.total} episodes finished "
        f"({result.done} this session{f', {rerun} of them re-run after an error' if rerun else ''}, "
        f"{result.skipped} already done, {eps.get('errors', 0)} errors, {retries.get('this_session', 0)} retries)"
    )
    by_reason = retries.get("by_reason") or {}
    if by_reason:
        print("retries: " + ", ".join(f"{reason} {n}" for reason, n in by_reason.items()))
    stopped = summary.get("budget", {}).get("stopped")
    if stopped:
        print(f"budget: stopped starting episodes: {stopped}. Raise the cap and `oversight resume {result.run_dir}`.")
    print(f"run: {result.run_dir}")
    sys.stdout.flush()
    if result.failure is not None:
        raise CLIError(f"run failed: {result.failure}; see `oversight show {result.run_dir}`", exit_code=1)
    return 0


def interrupted_message(run_dir: object) -> str:
    """What Ctrl-C prints: where the finished episodes are and the command that continues the run."""
    if run_dir is None:
        return "oversight: interrupted before the run started; nothing was recorded"
    return f"oversight: interrupted; finished episodes are saved. Continue with: oversight resume {run_dir}"


def _spec_message(err: Exception) -> str:
    lines = str(err).splitlines()
    return lines[0] if len(lines) == 1 else "invalid spec:\n  " + "\n  ".join(lines)
