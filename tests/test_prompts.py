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


def test_within_pinned_prompts_a_set_is_read_once_and_used_to_the_end(tmp_path: Path) -> None:
    from oversight.prompts import pinned_prompts

    path = tmp_path / "a.txt"
    path.write_text("One {x}.")
    with pinned_prompts():
        first = PromptSet.load(tmp_path, ["a"])
        path.write_text("Two, longer {x}.")  # edited mid-run: the run keeps the texts (and hash) it started with
        again = PromptSet.load(tmp_path, ["a"])
        assert again is first and again.render("a", x=1) == "One 1."
        os.remove(path)
        assert PromptSet.load(tmp_path, ["a"]) is first  # no stat at all
        with pytest.raises(FileNotFoundError):
            PromptSet.load(tmp_path, ["a", "b"])  # a set not loaded yet is read (and may be missing)
    path.write_text("Three {x}.")
    after = PromptSet.load(tmp_path, ["a"])  # outside the block: the file as it is now, with its own hash
    assert after.render("a", x=1) == "Three 1." and after.hash == PromptSet.from_texts({"a": "Three {x}."}).hash
    assert after.hash != first.hash


def test_from_texts_gives_the_same_set_for_the_same_texts() -> None:
    a = PromptSet.from_texts({"x": "X {v}", "y": "Y"})
    assert PromptSet.from_texts({"y": "Y", "x": "X {v}"}) is a
    b = PromptSet.from_texts({"x": "X {v}", "y": "Y!"})
    assert b is not a and b.hash != a.hash and b.render("y") == "Y!"
