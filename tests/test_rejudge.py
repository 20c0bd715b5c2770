"""Re-judging recorded runs: no agent call, judge views byte for byte the originals, a new run linked to its source,
resumable and served from the call cache, judges paired on identical transcripts by `compare`, clean refusals."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from oversight.cli import main
from oversight.comparison import compare
from oversight.experiment import Experiment, rejudge, rejudge_experiment, run_experiment
from oversight.experiment.demo_scripts import hash_judge
from oversight.experiment.spec import SpecError
from oversight.store import StoreError, load_run

HASH = "oversight.experiment.demo_scripts:hash_judge"


def counting(calls: Counter, key: str, fn):
    def script(messages, config):
        calls[key] += 1
        return fn(messages, config)

    return script


def speaker(messages, config):
    return "Answer: A. <quote>It is written.</quote> My side is right."


def source_spec(tmp_path: Path, calls: Counter, cache: bool | str = False) -> Experiment:
    return Experiment.from_dict(
        {
            "name": "src",
            "tasks": [{"dataset": "gen/hidden-passage", "n": 4}],
            "protocols": [
                {"name": "debate", "rounds": 2, "cross_examination": True},
                {"name": "consultancy", "rounds": 2, "interactive": True},
                {"name": "direct", "label": "naive"},
                {"name": "direct", "label": "expert", "tier": "expert"},
                {"name": "mad", "judge": True, "agents": 2, "rounds": 1},
            ],
            "roles": {
                "debater": {"model": "scripted/deb", "options": {"fn": counting(calls, "debater", speaker)}},
                "consultant": {"model": "scripted/con", "options": {"fn": counting(calls, "consultant", speaker)}},
                "agent": {"model": "scripted/ag", "options": {"fn": counting(calls, "agent", speaker)}},
            },
            "judges": [{"name": "coin", "model": "scripted/coin", "options": {"fn": HASH}}],
            "cache": cache,
            "output_dir": str(tmp_path / "runs"),
        }
    )


@pytest.fixture
def source(tmp_path):
    calls: Counter = Counter()
    result = run_experiment(source_spec(tmp_path, calls), progress="off")
    assert result.status == "complete" and result.errors == 0 and calls["debater"] and calls["agent"]
    return result.run_dir


def test_rejudging_calls_no_agent_and_shows_the_judge_the_very_same_views(source, tmp_path):
    calls: Counter = Counter()
    judge = {"name": "coin2", "model": "scripted/coin2", "options": {"fn": counting(calls, "judge", hash_judge)}}
    result = rejudge(source, [judge], output_dir=tmp_path / "out", cache=False)
    assert result.status == "complete" and result.errors == 0 and result.total == 20
    assert set(calls) == {"judge"} and calls["judge"] == 20  # one judge call per episode, no agent at all
    src = {e.id: e for e in load_run(source).episodes}
    for ep in load_run(result.run_dir).episodes:
        origin = src[ep.meta["source"]["episode"]]
        before = next(t.seen for t in origin.turns if t.kind == "judgment" and t.role in ("judge", "expert"))
        after = next(t.seen for t in ep.turns if t.kind == "judgment")
        assert after == before  # byte for byte the messages the first judge was sent
        assert ep.protocol == "rejudge" and ep.judge == "coin2" and ep.meta["sides"] == origin.meta["sides"]
        assert ep.meta["source"]["label"] == origin.meta.get("label", origin.protocol)
        assert ep.gold == origin.gold and ep.choices == origin.choices
        assert [t.content for t in ep.turns if t.kind != "judgment"] == [
            origin.turns[i].content for i in origin.judgments[-1].view.turns
        ]


def test_the_new_run_links_its_source_and_resumes_from_the_cache(source, tmp_path):
    cache = tmp_path / "calls.sqlite"
    first = rejudge(
        source,
        [{"name": "c", "model": "scripted/c", "options": {"fn": HASH}}],
        output_dir=tmp_path / "o",
        cache=cache,
        run_id="r1",
    )
    meta = json.loads((first.run_dir / "spec.json").read_text())
    task = meta["spec"]["tasks"][0]
    assert task["dataset"] == "recorded" and task["options"]["run"] == str(source.resolve())
    linked = meta["provenance"]["datasets"][0]["source"]
    assert linked["run_id"] == source.name and sorted(linked["episodes"]) == sorted(
        e.id for e in load_run(source).episodes
    )
    again = rejudge(
        source, [{"name": "c", "model": "scripted/c", "options": {"fn": HASH}}], output_dir=tmp_path / "o2", cache=cache
    )
    assert again.summary["calls"]["cache_hits"] == again.summary["calls"]["total"] == 20  # answered by the cache
    resumed = run_experiment(
        rejudge_experiment(source, [{"name": "c", "model": "scripted/c", "options": {"fn": HASH}}]),
        resume=first.run_dir,
        cache=cache,
        progress="off",
    )
    assert resumed.skipped == 20 and resumed.done == 0


def test_compare_pairs_judges_on_identical_transcripts(source, tmp_path):
    judges = [{"name": "coin", "model": "scripted/coin", "options": {"fn": HASH}}, {"name": "sim", "simulated": {}}]
    judges[1]["simulated"] = {"accuracy": 1.0}
    result = rejudge(source, judges, settings={"swap": True}, output_dir=tmp_path / "out", cache=False)
    c = compare([source, result.run_dir], n_resamples=50)
    rows = {(r["protocol"], r["a"], r["b"]): r for r in c.judges}
    for label in ("debate", "consultancy", "naive", "expert", "mad"):
        pair = rows[(label, "coin", "sim")]
        assert pair["n"] == 4 and pair["acc_b"] == 1.0
        assert (label, "coin", "coin") not in rows
    bias = {(r["protocol"], r["judge"]): r for r in c.bias}
    assert bias[("debate", "sim")]["picks"] == 8  # both orders of 4 swapped judgments
    summary = {(r["protocol"], r["judge"]) for r in c.summary}
    assert (
        ("debate", "coin") in summary and ("debate", "sim") in summary and not any(p == "rejudge" for p, _ in summary)
    )


def test_a_rejudged_run_can_be_judged_again_and_keeps_its_origin(source, tmp_path):
    once = rejudge(
        source, [{"name": "a", "simulated": {}}], output_dir=tmp_path / "1", cache=False, filters={"label": "debate"}
    )
    twice = rejudge(once.run_dir, [{"name": "b", "simulated": {"seed": 9}}], output_dir=tmp_path / "2", cache=False)
    assert twice.total == 4
    origin = {e.id for e in load_run(source).episodes if e.protocol == "debate"}
    for ep in load_run(twice.run_dir).episodes:
        assert ep.meta["source"]["transcript"] in origin and ep.meta["source"]["label"] == "debate"
    rows = compare([source, once.run_dir, twice.run_dir], n_resamples=20).judges
    assert {(r["a"], r["b"]) for r in rows if r["protocol"] == "debate"} == {("a", "b"), ("a", "coin"), ("b", "coin")}


def test_human_rejudging_leaves_pending_judgments(source, tmp_path):
    from oversight.pending import pending_judgments

    result = rejudge(
        source, [{"human": "hal"}], output_dir=tmp_path / "o", cache=False, filters={"label": ["naive", "debate"]}
    )
    assert result.summary["results"][0]["pending"] == 4 and len(pending_judgments(result.run_dir, "hal")) == 8


def test_bad_rejudges_are_refused_cleanly_and_write_nothing(source, tmp_path, capsys):
    with pytest.raises(StoreError, match="not a run directory"):
        rejudge_experiment(tmp_path / "nowhere", ["scripted/x"])
    with pytest.raises(SpecError, match="at least one judge"):
        rejudge_experiment(source, [])
    out = tmp_path / "out"
    assert main(["rejudge", str(tmp_path), "--judge", "scripted/x", "--out", str(out)]) == 2
    assert "not a run directory" in capsys.readouterr().err
    assert main(["rejudge", str(source), "--out", str(out)]) == 2
    assert "give at least one judge" in capsys.readouterr().err
    assert main(["rejudge", str(source), "--judge", "nope", "--out", str(out)]) == 2
    assert "judges[0].model" in capsys.readouterr().err
    assert not out.exists()


def test_the_command_rejudges_with_settings_and_filters(source, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["rejudge", str(source), "--judge", "scripted/x", "-o", f"fn={HASH}", "--mode", "stated", "--swap"]
    argv += ["--label", "debate", "--out", str(out), "--progress", "off", "--no-cache", "--run-id", "r"]
    code = main(argv)
    assert code == 0
    printed = capsys.readouterr().out
    assert "debate" in printed and "scripted/x" in printed
    eps = load_run(out / "src-rejudge" / "r").episodes
    assert len(eps) == 4 and all(e.final.method == "swap" and len(e.final.parts) == 2 for e in eps)
    assert all(e.protocol_config["judge"]["mode"] == "stated" for e in eps)


def test_every_recorded_judgment_can_be_rejudged(source, tmp_path):
    result = rejudge(source, [{"name": "s", "simulated": {}}], judgment="all", output_dir=tmp_path / "o", cache=False)
    eps = load_run(result.run_dir).episodes
    assert result.total == 20  # every episode has one judgment with a view (mad's majority vote has none)
    assert all("/" in ep.question_id for ep in eps)  # one question per recorded judgment: <episode id>/<index>
    by_source = {ep.meta["source"]["episode"]: ep.meta["source"]["judgment"] for ep in eps}
    mad = [e for e in load_run(source).episodes if e.protocol == "mad"]
    assert all(by_source[e.id] == 1 for e in mad)  # the judge's, after the majority vote


def test_a_judges_file_gives_juries_and_bad_entries_are_refused(source, tmp_path, capsys):
    good = tmp_path / "judges.toml"
    good.write_text(
        '[[judges]]\nname = "panel"\naggregate = "thresholded"\nalpha = 0.0\nthreshold = 0.6\n'
        'jurors = [{ simulated = { accuracy = 0.9 } }, { simulated = { accuracy = 0.5, seed = 3 } }]\n'
    )
    out = tmp_path / "out"
    argv = ["rejudge", str(source), "--judges", str(good), "--label", "naive", "--out", str(out), "--progress", "off"]
    assert main([*argv, "--no-cache", "--run-id", "r"]) == 0
    eps = load_run(out / "src-rejudge" / "r").episodes
    assert len(eps) == 4 and all(e.final.jury.rule == "thresholded(alpha=0, tau=0.6)" for e in eps)
    bad = tmp_path / "bad.toml"
    bad.write_text('[[judges]]\nname = "panel"\nalpha = -2.0\njurors = [{ simulated = {} }]\n')
    assert main(["rejudge", str(source), "--judges", str(bad), "--out", str(tmp_path / "none")]) == 2
    assert "judges[0].alpha: must be >= 0" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()
