"""Decomposition trees: a `networkx.DiGraph` of questions and their answers, stored in an episode as node-link JSON.

Node ids are paths: the root is `q`, its subquestions `q.1`, `q.2`, theirs `q.2.1`, ... (so a tree is never
cyclic, and ids line up with a gold decomposition). Node attributes (all JSON values, see `NODE_FIELDS`) say what
was asked and answered, why a node stopped, and what its checks found. Edges are `kind="child"` (parent to
subquestion, with its `index`) or, in sequential mode, `kind="then"` (a step to the next one, which sees every
earlier step). `tree_to_json` / `tree_from_json` round-trip a tree exactly; `oversight.tree_render` draws one.
networkx is imported on first use, not with `oversight`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx

#: the root's id; a child appends ".<1-based index>"
ROOT = "q"

#: what each node records
NODE_FIELDS = {
    "question": "the (sub)question, as the decomposer wrote it",
    "depth": "0 at the root",
    "status": "answered | invalid (decomposition unusable, node left unanswered) | error (an agent raised or gave "
    "no answer) | budget (the call budget ran out first)",
    "decomposition": "split | atomic (the decomposer gave no subquestions) | leaf (at the depth limit, not asked) | "
    "invalid (unusable after every attempt) | budget",
    "attempts": "decomposition attempts made",
    "answer": "the answer (text after its last 'Answer:'), or None",
    "choice": "root only: the index of the answer chosen among the question's choices, or None",
    "error": "why the decomposition or the answer failed, or None",
    "gold": "the gold answer of this step, where the task has one, else None",
    "gold_correct": "whether the answer matches `gold` (None without gold or answer)",
    "process": "the process check: {accepted, p_correct} (None when not checked)",
    "outcome": "root only: the outcome check, {accepted, p_correct}",
    "turns": "indices of this node's turns in the episode's turns",
}


def new_tree(**graph: Any) -> nx.DiGraph:
    """An empty tree; `graph` becomes its graph attributes (mode, budget, ...)."""
    import networkx as nx

    return nx.DiGraph(root=ROOT, **graph)


def label(node: str) -> str:
    """A node's short name: `q` -> "Q", `q.2.1` -> "2.1"."""
    return "Q" if node == ROOT else node.removeprefix(ROOT + ".")


def children(g: nx.DiGraph, node: str) -> list[str]:
    """The subquestions of `node`, in order."""
    kids = [(d.get("index", 0), v) for _, v, d in g.out_edges(node, data=True) if d.get("kind") == "child"]
    return [v for _, v in sorted(kids)]


def preorder(g: nx.DiGraph) -> list[str]:
    """Every node reachable from the root by `child` edges, parents before children, siblings in order."""
    root = g.graph.get("root", ROOT)
    if root not in g:
        return []
    out, stack = [], [root]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(children(g, node)))
    return out


def tree_to_json(g: nx.DiGraph) -> dict[str, Any]:
    """The tree as node-link JSON (`directed`, `graph`, `nodes` with `id`, `edges` with `source`/`target`)."""
    import networkx as nx

    return nx.node_link_data(g, edges="edges")


def tree_from_json(data: Mapping[str, Any]) -> nx.DiGraph:
    """The tree stored by `tree_to_json`; raises ValueError when `data` is not node-link JSON of a directed graph."""
    import networkx as nx

    if not isinstance(data, Mapping) or "nodes" not in data or "edges" not in data:
        raise ValueError("not a node-link tree (expected an object with 'nodes' and 'edges')")
    if not data.get("directed", False):
        raise ValueError("not a decomposition tree: the node-link graph is not directed")
    ids = {n.get("id") for n in data["nodes"] if isinstance(n, Mapping)}
    if None in ids or len(ids) != len(data["nodes"]):
        raise ValueError("malformed node-link tree (every node needs a distinct 'id')")
    for e in data["edges"]:
        if not isinstance(e, Mapping) or e.get("source") not in ids or e.get("target") not in ids:
            raise ValueError(f"malformed node-link tree (edge {e!r} does not join two of its nodes)")
    try:
        return nx.node_link_graph(dict(data), directed=True, multigraph=False, edges="edges")
    except (KeyError, TypeError, nx.NetworkXError) as err:
        raise ValueError(f"malformed node-link tree ({err})") from None


def tree_of(meta: Mapping[str, Any]) -> nx.DiGraph | None:
    """The tree an episode's `meta` holds (`meta["tree"]`), or None; raises ValueError when it is malformed."""
    data = meta.get("tree")
    return None if data is None else tree_from_json(data)


__all__ = [
    "NODE_FIELDS",
    "ROOT",
    "children",
    "label",
    "new_tree",
    "preorder",
    "tree_from_json",
    "tree_of",
    "tree_to_json",
]
