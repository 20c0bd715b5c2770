"""`oversight show RUN` (results per protocol x judge) and `oversight ls [DIR]` (the runs under DIR)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from oversight.cli.errors import CLIError


def register(subparsers: argparse._SubParsersAction) -> None:
    show = subparsers.add_parser(
        "show",
        help="results of a run: accuracy (95%% Wilson CI), invalid rate, errors, retries, tokens, cost per protocol x "
        "judge",
        description="Summarise a run's episodes per protocol x judge. RUN is a run directory or an experiment "
        "directory (its newest run).",
    )
    show.add_argument("run", metavar="RUN", help="runs/<experiment>/<run-id>, or runs/<experiment> for the newest")
    show.add_argument("--json", action="store_true", help="print the rows as JSON")
    show.set_defaults(func=cmd_show)

    ls = subparsers.add_parser(
        "ls", help="list runs under DIR (default: runs/)", description="List the runs under DIR, oldest first."
    )
    ls.add_argument("dir", metavar="DIR", nargs="?", default="runs", help="root of run directories (default: runs)")
    ls.set_defaults(func=cmd_ls)


def cmd_show(args: argparse.Namespace) -> int:
    """Print the per protocol x judge table of a run (computed from episodes.jsonl, the last record of each
    episode), its status and retries; returns 0."""
    from oversight.experiment.summary import summarize
    from oversight.store import SPEC_FILE, StoreError, iter_episodes, read_json, resolve_run_dir

    try:
        run_dir = resolve_run_dir(args.run)
        meta = read_json(run_dir / SPEC_FILE)
        rows = summarize(iter_episodes(run_dir)).rows()
    except StoreError as err:
        raise CLIError(str(err), exit_code=2) from None
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    total = meta.get("episodes", {}).get("total")
    title = f"{meta.get('experiment', '?')} / {meta.get('run_id', run_dir.name)}"
    print_results(rows, title=title)
    done = sum(int(r["episodes"]) for r in rows)
    status = _status(run_dir)
    retries = sum(int(r.get("retries", 0)) for r in rows)
    print(f"{done}/{total if total is not None else '?'} episodes finished; status: {status}; retries: {retries}")
    pending = sum(int(r.get("pending", 0)) for r in rows)
    if pending:
        print(f"{pending} episode(s) wait for a human judgment (pending: not in n, never counted as wrong)")
    summary = _summary(run_dir) or {}
    by_reason = (summary.get("retries") or {}).get("by_reason") or {}
    if by_reason:
        print("retries in the last session: " + ", ".join(f"{k} {v}" for k, v in by_reason.items()))
    if summary.get("failure"):
        print(f"failed: {summary['failure']}")
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    """Print one line per run under DIR: experiment, run id, status, progress, accuracy; returns 0."""
    from pathlib import Path

    from oversight.store import SPEC_FILE, StoreError, list_runs, read_json

    root = Path(args.dir)
    if not root.is_dir():
        raise CLIError(f"{root}: no such directory", exit_code=2)
    rows = []
    for run_dir in list_runs(root):
        try:
            meta = read_json(run_dir / SPEC_FILE)
        except StoreError:
            continue
        summary = _summary(run_dir)
        total = meta.get("episodes", {}).get("total", "?")
        finished = summary.get("episodes", {}).get("finished") if summary else _count_lines(run_dir)
        acc = (summary or {}).get("total", {}).get("accuracy")
        rows.append(
            [
                meta.get("experiment", "?"),
                meta.get("run_id", run_dir.name),
                meta.get("created", ""),
                _status(run_dir),
                f"{finished}/{total}",
                "-" if acc is None else f"{acc:.1%}",
                str(run_dir),
            ]
        )
    if not rows:
        print(f"no runs under {root}")
        return 0
    _print_table(["experiment", "run", "created", "status", "episodes", "acc", "path"], rows)
    return 0


def print_results(rows: Sequence[dict[str, Any]], *, title: str = "") -> None:
    """Print result rows (from `Summary.rows()`) as a table: n, accuracy [95% CI], invalid, errors, retries, pending
    (when any judgment is), tokens, cost."""
    if title:
        print(title)
    pending = any(r.get("pending") for r in rows)  # a column only when some human judgment is still pending
    table = []
    for r in rows:
        acc = r.get("accuracy")
        ci = r.get("ci95")
        inv = r.get("invalid_rate")
        table.append(
            [
                str(r["protocol"]),
                str(r["judge"] or "-"),
                str(r["n"]),
                "-" if acc is None else f"{acc:.3f}",
                "-" if not ci else f"[{ci[0]:.3f}, {ci[1]:.3f}]",
                "-" if inv is None else f"{inv:.1%}",
                str(r["errors"]),
                str(r.get("retries", 0)),
                *([str(r.get("pending", 0))] if pending else []),
                f"{int(r['tokens']):,}",
                f"${float(r['cost']):.4f}",
            ]
        )
    header = ["protocol", "judge", "n", "accuracy", "95% CI", "invalid", "errors", "retries"]
    _print_table([*header, *(["pending"] if pending else []), "tokens", "cost"], table)


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def _summary(run_dir: Any) -> dict[str, Any] | None:
    from oversight.store import SUMMARY_FILE, StoreError, read_json

    path = run_dir / SUMMARY_FILE
    if not path.exists():
        return None
    try:
        return read_json(path)
    except StoreError:
        return None


def _status(run_dir: Any) -> str:
    summary = _summary(run_dir)
    return str(summary.get("status", "?")) if summary else "unfinished"


def _count_lines(run_dir: Any) -> int:
    from oversight.store import finished_ids

    try:
        return len(finished_ids(run_dir))
    except Exception:
        return 0
