"""Draw a decomposition tree: DOT text always, PNG through Graphviz `dot` where it is installed, else matplotlib.

Each box shows the node (`Q`, `1`, `2.1`, ...), its question, its answer, its gold answer where known, and its
checks. Fill: green = matches gold, red = contradicts gold, white = no gold; grey = stopped by the budget;
dashed outline = invalid decomposition or failed agent. Outline: green = the process check accepted the step, red
= it rejected it. Solid edges lead to subquestions; dashed ones link a sequential step to the next.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from oversight.tree import children, label, preorder

if TYPE_CHECKING:
    import networkx as nx

Renderer = Literal["auto", "dot", "matplotlib"]

_FILL = {True: "#dff0d8", False: "#f8d7da", None: "#ffffff"}
_STOPPED = "#e2e3e5"


def _check_mark(check: Any) -> str:
    if not isinstance(check, dict) or check.get("accepted") is None:
        return ""
    p = check.get("p_correct")
    return ("accepted" if check["accepted"] else "rejected") + (f" (p={p:.2f})" if isinstance(p, float) else "")


def node_lines(attrs: dict[str, Any], node: str, width: int = 36) -> list[str]:
    """The text lines of one node's box."""
    status = attrs.get("status", "?")
    head = label(node) + ("" if status == "answered" else f" [{status}]")
    lines = [head, *textwrap.wrap(str(attrs.get("question", "")), width, max_lines=3, placeholder=" ...")]
    answer = attrs.get("answer")
    if answer is not None:
        lines.append("-> " + textwrap.shorten(str(answer), width, placeholder="..."))
    elif attrs.get("error"):
        lines.append("! " + textwrap.shorten(str(attrs["error"]), width, placeholder="..."))
    if attrs.get("gold") is not None:
        ok = {True: "ok", False: "WRONG", None: "?"}[attrs.get("gold_correct")]
        lines.append(f"gold: {textwrap.shorten(str(attrs['gold']), width - 12, placeholder='...')} ({ok})")
    for who in ("process", "outcome"):
        mark = _check_mark(attrs.get(who))
        if mark:
            lines.append(f"{who}: {mark}")
    return lines


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _style(attrs: dict[str, Any]) -> tuple[str, str, bool]:
    """(fill, outline colour, dashed) of a node."""
    status = attrs.get("status")
    fill = _STOPPED if status == "budget" else _FILL[attrs.get("gold_correct")]
    check = attrs.get("process")
    accepted = check.get("accepted") if isinstance(check, dict) else None
    outline = {True: "#2e7d32", False: "#c62828", None: "#444444"}[accepted]
    dashed = status in ("invalid", "error", "budget") or attrs.get("decomposition") == "invalid"
    return fill, outline, dashed


def tree_to_dot(g: nx.DiGraph, title: str = "") -> str:
    """The tree as Graphviz DOT text (top to bottom, boxes as `node_lines`)."""
    out = ["digraph decomposition {", "  rankdir=TB;", '  node [shape=box, fontname="Helvetica", fontsize=10];']
    if title:
        out.append(f"  label={_dot_string(title)}; labelloc=t;")
    for node in preorder(g):
        attrs = g.nodes[node]
        fill, outline, dashed = _style(attrs)
        style = "filled,dashed" if dashed else "filled"
        text = "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in node_lines(attrs, node))
        out.append(
            f'  {_dot_string(node)} [label="{text}", style="{style}", fillcolor="{fill}", color="{outline}", '
            f"penwidth={2 if outline != '#444444' else 1}];"
        )
    for u, v, d in g.edges(data=True):
        if d.get("kind") == "then":
            out.append(f"  {_dot_string(u)} -> {_dot_string(v)} [style=dashed, constraint=false, color=gray40];")
        else:
            out.append(f"  {_dot_string(u)} -> {_dot_string(v)};")
    out.append("}")
    return "\n".join(out) + "\n"


def graphviz_available() -> bool:
    """Whether Graphviz's `dot` program is on PATH."""
    return shutil.which("dot") is not None


def render_tree(g: nx.DiGraph, stem: str | Path, *, renderer: Renderer = "auto", title: str = "") -> dict[str, Path]:
    """Write `<stem>.dot` and `<stem>.png`; returns {"dot": path, "png": path}. `renderer="auto"` uses Graphviz
    when installed, else matplotlib. Raises RuntimeError when `dot` is asked for but missing or fails."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    dot_text = tree_to_dot(g, title)
    dot_path, png_path = stem.with_suffix(".dot"), stem.with_suffix(".png")
    dot_path.write_text(dot_text)
    use_dot = renderer == "dot" or (renderer == "auto" and graphviz_available())
    if use_dot:
        exe = shutil.which("dot")
        if exe is None:
            raise RuntimeError("Graphviz `dot` is not installed (apt-get install graphviz), or use matplotlib")
        done = subprocess.run([exe, "-Tpng", "-o", str(png_path), str(dot_path)], capture_output=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"dot failed ({done.returncode}): {done.stderr.decode(errors='replace')[-500:]}")
    else:
        draw_matplotlib(g, png_path, title)
    return {"dot": dot_path, "png": png_path}


def tree_layout(g: nx.DiGraph) -> dict[str, tuple[float, float]]:
    """x, y of each node: leaves side by side in tree order, a parent above the middle of its children."""
    pos: dict[str, tuple[float, float]] = {}
    next_x = [0.0]

    def place(node: str) -> float:
        kids = children(g, node)
        x = sum(place(k) for k in kids) / len(kids) if kids else next_x[0]
        if not kids:
            next_x[0] += 1.0
        pos[node] = (x, -float(g.nodes[node].get("depth", 0)))
        return x

    nodes = preorder(g)
    if nodes:
        place(nodes[0])
    return pos


def draw_matplotlib(g: nx.DiGraph, path: str | Path, title: str = "") -> Path:
    """Draw the tree with matplotlib (no Graphviz needed) into a PNG at `path`; returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pos = tree_layout(g)
    width = max(1.0, max((x for x, _ in pos.values()), default=0.0) + 1.0)
    depth = max(1.0, -min((y for _, y in pos.values()), default=0.0) + 1.0)
    fig = Figure(figsize=(min(40.0, 3.2 * width + 1), min(40.0, 2.2 * depth + 1)))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.92 if title else 0.98))
    ax.set_axis_off()
    ax.set_xlim(-0.6, width - 0.4)
    ax.set_ylim(-depth + 0.4, 0.6)
    for u, v, d in g.edges(data=True):
        if u not in pos or v not in pos:
            continue
        (x0, y0), (x1, y1) = pos[u], pos[v]
        then = d.get("kind") == "then"
        ax.annotate(
            "",
            xy=(x1, y1 + (0 if then else 0.18)),
            xytext=(x0, y0 - (0 if then else 0.18)),
            arrowprops={"arrowstyle": "->", "linestyle": "--" if then else "-", "color": "0.4" if then else "0.1"},
        )
    for node, (x, y) in pos.items():
        attrs = g.nodes[node]
        fill, outline, dashed = _style(attrs)
        ax.text(
            x,
            y,
            "\n".join(node_lines(attrs, node, width=30)),
            ha="center",
            va="center",
            fontsize=7,
            family="monospace",
            bbox={
                "boxstyle": "round,pad=0.4",
                "facecolor": fill,
                "edgecolor": outline,
                "linestyle": "--" if dashed else "-",
                "linewidth": 2 if outline != "#444444" else 1,
            },
        )
    if title:
        fig.suptitle(title, fontsize=9)
    fig.savefig(str(path), dpi=110)
    return Path(path)


__all__ = ["draw_matplotlib", "graphviz_available", "node_lines", "render_tree", "tree_layout", "tree_to_dot"]
