"""Decomposition trees: node-link round trips (hypothesis), DOT text, PNG by Graphviz and by matplotlib, and the
`oversight tree` command on a real run."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oversight.cli import main
from oversight.experiment import Experiment, run_experiment
from oversight.store import iter_episodes
from oversight.tree import ROOT, children, label, new_tree, preorder, tree_from_json, tree_of, tree_to_json
from oversight.tree_render import draw_matplotlib, render_tree, tree_layout, tree_to_dot

PNG = b"\x89PNG\r\n\x1a\n"
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def trees(draw) -> nx.DiGraph:
    g = new_tree(mode=draw(st.sampled_from(["factored", "sequential"])))
    g.add_node(ROOT, question=draw(st.text(max_size=20)), depth=0, extra=draw(values))
    frontier = [ROOT]
    for _ in range(draw(st.integers(0, 12))):
        parent = draw(st.sampled_from(frontier))
        kids = children(g, parent)
        child = f"{parent}.{len(kids) + 1}"
        g.add_node(child, question=draw(st.text(max_size=20)), depth=parent.count(".") + 1, extra=draw(values))
        g.add_edge(parent, child, kind="child", index=len(kids))
        if kids and draw(st.booleans()):
            g.add_edge(kids[-1], child, kind="then")
        frontier.append(child)
    return g


@settings(max_examples=100, deadline=None)
@given(trees())
def test_node_link_round_trip_is_exact(g: nx.DiGraph):
    data = json.loads(json.dumps(tree_to_json(g)))  # through JSON text, as the store keeps it
    h = tree_from_json(data)
    assert nx.utils.graphs_equal(g, h) and list(g.nodes(data=True)) == list(h.nodes(data=True))
    assert list(g.edges(data=True)) == list(h.edges(data=True)) and preorder(g) == preorder(h)
    assert tree_to_json(h) == data


def test_bad_trees_are_refused():
    with pytest.raises(ValueError, match="not a node-link tree"):
        tree_from_json({"nodes": []})
    with pytest.raises(ValueError, match="not directed"):
        tree_from_json({"directed": False, "nodes": [], "edges": []})
    with pytest.raises(ValueError, match="malformed"):
        tree_from_json({"directed": True, "nodes": [{"question": "no id"}], "edges": []})
    assert tree_of({"label": "x"}) is None


def small_tree() -> nx.DiGraph:
    g = new_tree(mode="sequential")
    g.add_node("q", question='Total "marbles"?', depth=0, status="answered", answer="12", gold="12",
               gold_correct=True, process={"accepted": True, "p_correct": 0.9}, outcome=None)  # fmt: skip
    g.add_node("q.1", question="Ann's?", depth=1, status="answered", answer="5", gold="5", gold_correct=True,
               process={"accepted": True, "p_correct": 0.8})  # fmt: skip
    g.add_node("q.2", question="Bob's?", depth=1, status="answered", answer="8", gold="7", gold_correct=False,
               process={"accepted": False, "p_correct": 0.2})  # fmt: skip
    g.add_node("q.2.1", question="Bob's red?", depth=2, status="budget", answer=None, gold=None, gold_correct=None)
    g.add_edge("q", "q.1", kind="child", index=0)
    g.add_edge("q", "q.2", kind="child", index=1)
    g.add_edge("q.1", "q.2", kind="then")
    g.add_edge("q.2", "q.2.1", kind="child", index=0)
    return g


def test_dot_text_shows_every_node_edge_and_check():
    dot = tree_to_dot(small_tree(), title="t")
    assert dot.startswith("digraph decomposition {") and dot.rstrip().endswith("}")
    assert '"q" -> "q.1";' in dot and '"q.1" -> "q.2" [style=dashed' in dot and '"q.2" -> "q.2.1";' in dot
    assert 'Total \\"marbles\\"?' in dot  # quotes escaped inside labels
    assert "gold: 7 (WRONG)" in dot and "process: rejected (p=0.20)" in dot and "2.1 [budget]" in dot
    assert 'fillcolor="#f8d7da"' in dot and 'style="filled,dashed"' in dot


def test_layout_puts_parents_over_their_children():
    pos = tree_layout(small_tree())
    assert pos["q"][0] == (pos["q.1"][0] + pos["q.2"][0]) / 2 and pos["q.2.1"][1] == -2.0
    assert label("q.2.1") == "2.1" and label(ROOT) == "Q"


def test_matplotlib_png(tmp_path: Path):
    path = draw_matplotlib(small_tree(), tmp_path / "t.png", title="a tree")
    assert path.read_bytes()[:8] == PNG and path.stat().st_size > 5_000
    paths = render_tree(small_tree(), tmp_path / "x", renderer="matplotlib")
    assert paths["png"].read_bytes()[:8] == PNG and paths["dot"].read_text().startswith("digraph")


@pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("OVERSIGHT_REQUIRE_GRAPHVIZ"),
    reason="Graphviz is not installed (apt-get install graphviz; scripts/install-system does it)",
)
def test_graphviz_png(tmp_path: Path):
    paths = render_tree(small_tree(), tmp_path / "g", renderer="dot")
    assert paths["png"].read_bytes()[:8] == PNG


def test_asking_for_graphviz_without_it_fails_clearly(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` on this PATH
    with pytest.raises(RuntimeError, match="Graphviz `dot` is not installed"):
        render_tree(small_tree(), tmp_path / "g", renderer="dot")
    assert render_tree(small_tree(), tmp_path / "a")["png"].read_bytes()[:8] == PNG  # auto falls back


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    spec = Experiment.from_dict(
        {
            "name": "trees",
            "tasks": [{"dataset": "gen/arithmetic", "n": 2}],
            "protocols": [{"name": "decomposition", "max_depth": 1}, {"name": "direct"}],
            "roles": {"solver": {"model": "scripted/s", "options": {"fn": "decomposition_support:play_fn"}}},
            "judges": [{"model": "scripted/j", "options": {"fn": "decomposition_support:play_fn"}}],
            "cache": False,
        }
    )
    result = run_experiment(spec, output_dir=tmp_path_factory.mktemp("runs"), progress="off")
    assert result.status == "complete" and result.errors == 0
    return result.run_dir


def test_tree_command_writes_dot_and_png(run_dir: Path, tmp_path: Path, capsys):
    ep = next(e for e in iter_episodes(run_dir) if e.protocol == "decomposition")
    assert main(["tree", str(run_dir), ep.id[:10], "--out", str(tmp_path), "--renderer", "matplotlib"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / f"{ep.id}.png").read_bytes()[:8] == PNG and f"png: {tmp_path / ep.id}.png" in out
    assert (tmp_path / f"{ep.id}.dot").read_text() == tree_to_dot(tree_of(ep.meta), title=out.splitlines()[0])
    assert "\nQ: " in out and "\n  1: " in out and "\n  2: " in out  # the outline, indented by depth
    assert main(["tree", str(run_dir.parent), ep.id]) == 0  # an experiment dir means its newest run
    assert (run_dir / "trees" / f"{ep.id}.png").is_file()


def test_tree_command_errors(run_dir: Path, tmp_path: Path, capsys):
    direct = next(e for e in iter_episodes(run_dir) if e.protocol == "direct")
    assert main(["tree", str(run_dir), direct.id]) == 2
    assert "has no decomposition tree" in capsys.readouterr().err
    assert main(["tree", str(run_dir), "nosuchepisode"]) == 2
    assert "no episode 'nosuchepisode'" in capsys.readouterr().err
    assert main(["tree", str(run_dir), direct.question_id]) == 2  # two protocols ran on that question
    assert "names 2 episodes" in capsys.readouterr().err
    assert main(["tree", str(tmp_path), "x"]) == 2
    assert "not a run directory" in capsys.readouterr().err
