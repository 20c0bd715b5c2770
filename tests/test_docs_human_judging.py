"""docs/human-judging.md: its Python runs as written on the run its commands make, and its images exist."""

from __future__ import annotations

import os
import re
from pathlib import Path

from oversight.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "human-judging.md"


def test_the_python_snippet_runs_on_the_example_run(tmp_path: Path, monkeypatch):
    text = DOC.read_text()
    assert "oversight run examples/view.toml" in text and "oversight view runs/view-demo" in text
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(ROOT / "examples" / "view.toml"), "--no-cache", "--progress", "off"]) == 0
    (block,) = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    scope: dict[str, object] = {}
    exec(compile(block, str(DOC), "exec"), scope)
    index = scope["index"]
    assert len(index.rows) == 72 and scope["invalid"] == []  # the coin judge always answers
    assert scope["episode"] is None


def test_every_image_is_committed():
    images = re.findall(r"\]\((img/[^)]+)\)", DOC.read_text())
    assert len(images) >= 6
    for image in images:
        path = DOC.parent / image
        assert path.is_file() and path.read_text().startswith("<svg"), image
    assert os.path.getsize(DOC.parent / "img" / "viewer-list.svg") > 10_000
