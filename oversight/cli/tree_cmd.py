"""`oversight tree RUN_DIR EPISODE`: draw the decomposition tree of one episode as DOT and PNG, and print it."""

from __future__ import annotations

import argparse
from collections.abc import Iterable

from oversight.cli.errors import CLIError
from oversight.episode import Episode


def register(subparsers: argparse._SubParsersAction) -> None:
    tree = subparsers.add_parser(
        "tree",
        help="draw an episode's decomposition tree (DOT and PNG; Graphviz when installed, else matplotlib)",
        description="Draw the decomposition tree of one episode of a run: writes EPISODE_ID.dot and EPISODE_ID.png "
        "(into RUN_DIR/trees/ unless --out says otherwise) and prints the tree as an outline. EPISODE is an "
        "episode id, a unique prefix of one, or a question id that names one episode of the run.",
    )
    tree.add_argument("run", metavar="RUN_DIR", help="runs/<experiment>/<run-id>, or runs/<experiment> for the newest")
    tree.add_argument("episode", metavar="EPISODE", help="episode id (or a unique prefix), or a question id")
    tree.add_argument("--out", metavar="DIR", help="directory for the .dot and .png files (default: RUN_DIR/trees)")
    tree.add_argument(
        "--renderer",
        choices=("auto", "dot", "matplotlib"),
        default="auto",
        help="PNG renderer: Graphviz `dot` (auto when installed) or matplotlib",
    )
    tree.set_defaults(func=cmd_tree)


def find_episode(episodes: Iterable[Episode], key: str) -> Episode:
    """The episode whose id is `key`, or starts with it, or whose question id is `key`; raises CLIError (exit 2)
    when none or several match."""
    exact, prefix, by_question = [], [], []
    for ep in episodes:
        if ep.id == key:
            exact.append(ep)
        elif ep.id.startswith(key):
            prefix.append(ep)
        if ep.question_id == key:
            by_question.append(ep)
    for found in (exact, prefix, by_question):
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            listing = ", ".join(f"{e.id} ({e.meta.get('label', e.protocol)}, seed {e.seed})" for e in found[:8])
            raise CLIError(f"{key!r} names {len(found)} episodes: {listing}; give an episode id", exit_code=2)
    raise CLIError(f"no episode {key!r} in this run (give an episode id or a question id)", exit_code=2)


def cmd_tree(args: argparse.Namespace) -> int:
    """Write the episode's tree as DOT and PNG and print it as an outline; returns 0."""
    from pathlib import Path

    from oversight.store import StoreError, iter_episodes, resolve_run_dir
    from oversight.tree import preorder, tree_of
    from oversight.tree_render import node_lines, render_tree

    try:
        run_dir = resolve_run_dir(args.run)
        ep = find_episode(iter_episodes(run_dir, seen=False), args.episode)
    except StoreError as err:
        raise CLIError(str(err), exit_code=2) from None
    try:
        g = tree_of(ep.meta)
    except ValueError as err:
        raise CLIError(f"episode {ep.id}: {err}", exit_code=2) from None
    if g is None:
        raise CLIError(f"episode {ep.id} ({ep.protocol}) has no decomposition tree", exit_code=2)
    title = f"{ep.meta.get('label', ep.protocol)} | {ep.question_id} | seed {ep.seed} | correct: {ep.correct}"
    out_dir = Path(args.out) if args.out else run_dir / "trees"
    try:
        paths = render_tree(g, out_dir / ep.id, renderer=args.renderer, title=title)
    except RuntimeError as err:
        raise CLIError(str(err)) from None
    print(title)
    for node in preorder(g):
        head, *rest = node_lines(g.nodes[node], node, width=1000)
        print("  " * int(g.nodes[node].get("depth", 0)) + f"{head}: " + "  ".join(rest))
    print(f"dot: {paths['dot']}\npng: {paths['png']}")
    return 0
