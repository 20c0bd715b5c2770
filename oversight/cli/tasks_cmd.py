"""`oversight tasks ls` and `oversight tasks show NAME --n 3`: the registered tasks and a look at their questions."""

from __future__ import annotations

import argparse
import json
import textwrap

from oversight.cli.errors import CLIError
from oversight.cli.models_cmd import parse_options


def register(subparsers: argparse._SubParsersAction) -> None:
    tasks = subparsers.add_parser("tasks", help="list tasks with ground truth and show their questions")
    sub = tasks.add_subparsers(dest="tasks_command", metavar="SUBCOMMAND")
    ls = sub.add_parser("ls", help="list the registered task names")
    ls.add_argument("--kind", choices=["dataset", "generator", "local"], help="only this kind")
    ls.set_defaults(func=run_ls)
    show = sub.add_parser("show", help="load NAME (or a .jsonl/.csv/.parquet file) and print some questions")
    show.add_argument("name", help="a task name from `oversight tasks ls`, or a file path")
    show.add_argument("--n", type=int, default=3, help="how many questions to print (default 3)")
    show.add_argument("--split", default=None)
    show.add_argument("--seed", type=int, default=0, help="sampling (datasets) or generation (gen/...) seed")
    show.add_argument("--two-answer", action="store_true", help="print the two-answer form (correct + 1 distractor)")
    show.add_argument("--context-chars", type=int, default=400, help="how much hidden context to print (0: none)")
    show.add_argument("--provenance", action="store_true", help="also print the provenance record as JSON")
    show.add_argument(
        "--option", "-o", action="append", default=[], metavar="KEY=VALUE", help="loader option, e.g. -o difficulty=3"
    )
    show.set_defaults(func=run_show)
    tasks.set_defaults(func=lambda args: tasks.print_help() or 2)


def run_ls(args: argparse.Namespace) -> int:
    """Print one line per registered task: name, kind, licence, hidden context, description."""
    from oversight.tasks import list_tasks

    infos = list_tasks(args.kind)
    width = max(len(i.name) for i in infos)
    for info in infos:
        hidden = "hidden-context" if info.hidden_context else ""
        print(f"{info.name:<{width}}  {info.kind:<9}  {info.licence or '':<14}  {hidden:<14}  {info.description}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Load a task and print `--n` of its questions with the gold answer marked."""
    from oversight.tasks import (
        DataUnavailableError,
        TaskFileError,
        UnknownTaskError,
        load_task,
        to_two_answer,
    )

    options = parse_options(args.option)
    try:
        tasks = load_task(args.name, split=args.split, n=args.n, seed=args.seed, **options)
        if args.two_answer:
            tasks = to_two_answer(tasks, seed=args.seed)
    except (UnknownTaskError, TaskFileError, DataUnavailableError, ValueError, TypeError) as err:
        raise CLIError(str(err), exit_code=2) from None
    print(f"{tasks.name} [{tasks.split}] {len(tasks)} question(s); licence {tasks.licence}")
    if tasks.skipped:
        print(f"skipped {tasks.skipped} bad row(s); first: {tasks.problems[0]}")
    for q in tasks.questions[: args.n]:
        print(f"\n== {q.id}")
        if q.context and args.context_chars:
            snippet = q.context if len(q.context) <= args.context_chars else q.context[: args.context_chars] + " ..."
            print(textwrap.indent(f"[hidden context]\n{snippet}", "  | "))
        print(q.text)
        for i, choice in enumerate(q.choices):
            print(f"  {'*' if i == q.answer else ' '} {chr(65 + i) if i < 26 else i}. {choice}")
        if not q.choices and q.meta.get("answers"):
            print(f"  answer: {' | '.join(q.meta['answers'])}")
    if args.provenance:
        print(json.dumps(tasks.provenance(), indent=2))
    return 0
