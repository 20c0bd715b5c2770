"""Prompt sets: loaded once per file version (agents are built per episode), re-read when a file changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oversight.prompts import PromptSet


def test_a_loaded_set_is_reused_until_a_file_changes(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Hello {name}.")
    (tmp_path / "b.txt").write_text("Bye.")
    first = PromptSet.load(tmp_path, ["a", "b"])
    assert PromptSet.load(tmp_path, ("a", "b")) is first  # same files, same versions: no read, no hashing
    assert first.render("a", name="Ann") == "Hello Ann."
    with pytest.raises(TypeError):
        first.templates["a"] = "changed"  # type: ignore[index]  # shared between agents: read-only

    path = tmp_path / "a.txt"
    path.write_text("Hi {name}!")  # another size
    second = PromptSet.load(tmp_path, ["a", "b"])
    assert second.render("a", name="Ann") == "Hi Ann!" and second.hash != first.hash
    stat = path.stat()
    path.write_text("Yo {name}!")  # the same size: the modification time tells
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert PromptSet.load(tmp_path, ["a", "b"]).render("a", name="Ann") == "Yo Ann!"


def test_overrides_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("file {x}")
    over = PromptSet.load(tmp_path, ["a", "gone"], {"gone": "given {x}"})
    assert over.render("gone", x=1) == "given 1" and over.render("a", x=2) == "file 2"
    assert PromptSet.load(tmp_path, ["a"]).hash != over.hash
    with pytest.raises(FileNotFoundError):
        PromptSet.load(tmp_path, ["a", "gone"])
