"""`oversight rejudge RUN_DIR --judge MODEL [--judge ...]`: judge a recorded run again with other judges.

No agent is called: each episode's judge view is rebuilt from its stored turns. The result is a new run (resume
it with `oversight resume`), whose spec links the source run and its episode ids; `oversight compare SOURCE NEW`
then pairs the judges on identical transcripts.
"""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path
from typing import Any

from oversight.cli.errors import CLIError
from oversight.cli.run_cmd import _common_options, _execute, _spec_message


def register(subparsers: argparse._SubParsersAction) -> None:
    rj = subparsers.add_parser(
        "rejudge",
        help="judge a recorded run again with other judges (no agent calls) into a new run",
        description="Rebuild every recorded judge view of RUN_DIR from its stored turns and let other judges "
        "decide: models (--judge), humans (--human, pending until judged), or any judge entries of a file "
        "(--judges: juries, simulated judges, personas). Writes a new run linked to the source.",
    )
    rj.add_argument("run", metavar="RUN_DIR", help="runs/<experiment>/<run-id>, or runs/<experiment> for the newest")
    rj.add_argument("--judge", action="append", default=[], metavar="MODEL", help="a judge model (repeatable)")
    rj.add_argument(
        "--option",
        "-o",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="provider option of every --judge model, e.g. -o n_threads=1 (VALUE parsed as JSON)",
    )
    rj.add_argument("--human", action="append", default=[], metavar="ID", help="a human judge id (repeatable)")
    rj.add_argument("--judges", metavar="FILE", help="a TOML/YAML/JSON file of [[judges]] entries (juries, ...)")
    rj.add_argument("--mode", choices=["logprobs", "stated", "reason"], help="LLM judge mode (default: logprobs)")
    rj.add_argument("--swap", action="store_true", help="position-swap debiasing: judge both answer orders")
    rj.add_argument("--max-retries", type=int, metavar="N", help="extra tries on unusable judge output (default 2)")
    rj.add_argument("--label", action="append", default=[], help="only source episodes of this protocol label")
    rj.add_argument("--source-judge", action="append", default=[], metavar="NAME", help="only this source judge")
    rj.add_argument(
        "--judgment", choices=["final", "all"], default="final", help="re-judge the final or every judgment"
    )
    rj.add_argument("--n", type=int, metavar="N", help="re-judge a seeded sample of N source judgments")
    rj.add_argument("--name", help="experiment name of the new run (default: <source>-rejudge)")
    rj.add_argument("--out", default="runs", metavar="DIR", help="root of run directories (default: runs)")
    rj.add_argument("--run-id", metavar="ID", help="name of the new run directory (default: timestamp)")
    rj.add_argument("--concurrency", type=int, metavar="N", help="episodes in flight (default: the source run's)")
    _common_options(rj)
    rj.set_defaults(func=cmd_rejudge)


def _judges_file(path: str) -> list[dict[str, Any]]:
    p = Path(path)
    if not p.is_file():
        raise CLIError(f"--judges {path}: no such file", exit_code=2)
    try:
        if p.suffix == ".toml":
            data: Any = tomllib.loads(p.read_text())
        elif p.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(p.read_text())
        elif p.suffix == ".json":
            data = json.loads(p.read_text())
        else:
            raise CLIError(f"--judges {path}: use a .toml, .yaml or .json file", exit_code=2)
    except CLIError:
        raise
    except Exception as err:  # parse errors of any of the three formats: one clean line
        raise CLIError(f"--judges {path}: cannot parse: {err}".replace("\n", " "), exit_code=2) from None
    entries = data.get("judges") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CLIError(f"--judges {path}: expected a list of judge entries under `judges`", exit_code=2)
    return entries


def cmd_rejudge(args: argparse.Namespace) -> int:
    """Build the re-judging experiment, run it, print its table; returns 0 (130 after Ctrl-C)."""
    from oversight.cli.models_cmd import parse_options
    from oversight.experiment.rejudge import rejudge_experiment
    from oversight.experiment.spec import SpecError
    from oversight.store import StoreError

    options = parse_options(args.option)
    judges: list[Any] = [{"model": m, **({"options": options} if options else {})} for m in args.judge]
    judges += [{"human": h} for h in args.human]
    if args.judges:
        judges += _judges_file(args.judges)
    if not judges:
        raise CLIError("give at least one judge: --judge MODEL, --human ID or --judges FILE", exit_code=2)
    if args.n is not None and args.n < 1:
        raise CLIError("--n must be >= 1", exit_code=2)
    settings: dict[str, Any] = {}
    if args.mode:
        settings["mode"] = args.mode
    if args.swap:
        settings["swap"] = True
    if args.max_retries is not None:
        settings["max_retries"] = args.max_retries
    filters: dict[str, Any] = {}
    if args.label:
        filters["label"] = args.label
    if args.source_judge:
        filters["judge"] = args.source_judge
    try:
        spec = rejudge_experiment(
            args.run,
            judges,
            settings=settings,
            name=args.name,
            judgment=args.judgment,
            filters=filters,
            n=args.n,
            output_dir=args.out,
            concurrency=args.concurrency,
        )
    except StoreError as err:
        raise CLIError(str(err), exit_code=2) from None
    except SpecError as err:
        raise CLIError(_spec_message(err), exit_code=2) from None
    return _execute(spec, args, resume=None, output_dir=None, run_id=args.run_id)
