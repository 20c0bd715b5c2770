"""Market making through the runner: `oversight compare` beside debate and consultancy on the same questions (the
market table and the trajectories plot, read from `ProtocolResult.market` only), and `oversight export market`
(chat fine-tuning JSONL) round-tripped, then plugged back in as the market by model string."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from oversight.cli import main  # noqa: E402
from oversight.comparison import Comparison, compare  # noqa: E402
from oversight.experiment import Experiment, run_experiment  # noqa: E402
from oversight.metrics import cross_entropy  # noqa: E402
from oversight.store import load_run  # noqa: E402
from protocols.market_data import market_examples, read_examples  # noqa: E402
from protocols.market_making import MarketResult  # noqa: E402

COIN = {"fn": "oversight.experiment.demo_scripts:hash_judge"}
SIMULATED = {"kind": "simulated", "simulated": {"signal_weight": 0.0, "verified_weight": 1.0}}


def spec(name: str, protocols: list[dict], roles: dict | None = None) -> Experiment:
    return Experiment.from_dict(
        {
            "name": name,
            "tasks": [{"dataset": "gen/hidden-passage", "n": 8, "seed": 3}],
            "protocols": protocols,
            "roles": roles or {},
            "judges": [{"name": "coin", "model": "scripted/coin", "options": COIN}],
            "cache": False,
        }
    )


def scripted(name: str) -> dict:
    return {"model": f"scripted/{name}", "options": {"fn": f"market_support:{name}"}}


@pytest.fixture(scope="module")
def beside(tmp_path_factory) -> Path:
    """Debate, consultancy and two market-making variants on the same 8 questions, one judge."""
    protocols = [
        {"name": "debate", "rounds": 1},
        {"name": "consultancy", "rounds": 1},
        {"name": "market_making", "label": "market", "steps": 3, "candidates": 2},
        {"name": "market_making", "label": "market-sim", "steps": 2, "market": SIMULATED,
         "adversary": {"kind": "retrieval"}, "cross_examination": True},
    ]  # fmt: skip
    roles = {"debater": scripted("adversary"), "consultant": scripted("adversary"),
             "market": scripted("market"), "adversary": scripted("adversary")}  # fmt: skip
    result = run_experiment(
        spec("beside", protocols, roles), output_dir=tmp_path_factory.mktemp("runs"), progress="off"
    )
    assert result.status == "complete" and result.errors == 0 and result.done == 32
    return result.run_dir


def test_compare_shows_market_making_beside_debate_and_consultancy(beside):
    c = compare(beside, n_resamples=200, rating_resamples=20)
    assert {r["protocol"] for r in c.summary} == {"debate", "consultancy", "market", "market-sim"}
    pairs = {(r["a"], r["b"]): r["n_items"] for r in c.paired}
    assert pairs[("debate", "market")] == pairs[("consultancy", "market-sim")] == 8  # the same questions
    rows = {r["protocol"]: r for r in c.market}
    assert set(rows) == {"market", "market-sim"}  # only protocols that record a market trace
    eps = [e for e in load_run(beside).episodes if e.meta.get("label") == "market"]
    agree, ce, shifts, last, p_judge = [], [], [], [], []
    for ep in eps:  # the table's numbers, recomputed by hand from the stored results
        r = MarketResult.from_meta(ep.meta)
        agree.append(r.predicted_answer == ep.final.choice)
        p_judge.append(r.prediction[ep.final.choice])
        ce.append(cross_entropy(ep.final.probabilities, r.prediction))
        shifts += r.market.shifts
        last.append(r.market.shifts[-1])
        assert r.matches_judge == agree[-1] and r.judge_cross_entropy == pytest.approx(ce[-1])
    row = rows["market"]
    assert row["n"] == 8 and row["steps"] == 3.0 and row["measure"] == "tv" and row["invalid"] == 0.0
    assert row["agree"] == pytest.approx(sum(agree) / 8) and row["ce"] == pytest.approx(sum(ce) / 8)
    assert row["p_judge"] == pytest.approx(sum(p_judge) / 8)
    assert row["mean_shift"] == pytest.approx(sum(shifts) / len(shifts))
    assert row["stability"] == pytest.approx(sum(last) / 8)
    text = c.table("market")
    for header in ("M = H", "CE to H", "M = gold", "shift/step", "last shift", "stopped early"):
        assert header in text


def test_market_plot_and_report(beside, tmp_path):
    c = compare(beside, n_resamples=200, rating_resamples=20)
    written = c.plot(tmp_path / "figs")
    assert "market" in written and written["market"].stat().st_size > 10_000
    report = c.report(tmp_path / "report.md").read_text()
    assert "## Markets: does M predict its judge?" in report and "(figures/market.png)" in report
    assert "Hubinger's loss of M" in report
    assert main(["compare", str(beside), "--no-report", "--json", "--table", "market", "--resamples", "100"]) == 0


def test_the_market_table_reads_the_typed_field_not_the_protocol_name(beside):
    """An episode of any protocol that fills `ProtocolResult.market` is a market to `oversight compare`."""
    ep = next(e for e in load_run(beside).episodes if e.meta.get("label") == "market")
    other = ep.model_copy(update={"protocol": "my-protocol", "meta": {**ep.meta, "label": "renamed"}})
    rows = Comparison.from_episodes([other]).market
    assert [r["protocol"] for r in rows] == ["renamed"] and rows[0]["n"] == 1
    plain = ep.model_copy(update={"meta": {k: v for k, v in ep.meta.items() if k != "market"}})
    assert Comparison.from_episodes([plain]).market == []


def test_export_market_round_trips(beside, tmp_path, capsys):
    out = tmp_path / "train.jsonl"
    assert main(["export", "market", str(beside), "--out", str(out), "--meta"]) == 0
    printed = capsys.readouterr().out
    eps = {e.id: e for e in load_run(beside).episodes if e.protocol == "market_making"}
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    usable = [e for e in eps.values() if e.final.valid]
    assert len(lines) == sum(len(MarketResult.from_meta(e.meta).market.trajectory) for e in usable)
    assert f"{len(lines)} rows from {len(usable)} of {len(eps)} episodes" in printed
    examples = read_examples(out)
    assert len(examples) == len(lines)
    for row, (messages, target) in zip(lines, examples, strict=True):
        ep = eps[row["metadata"]["episode"]]
        order = ep.meta["order_shown"]
        assert target == pytest.approx([ep.final.probabilities[i] for i in order], abs=2e-3)  # H's distribution
        assert set(row) == {"messages", "metadata"} and [m["role"] for m in row["messages"]] == [
            "system", "user", "assistant"
        ]  # fmt: skip
        step = row["metadata"]["step"]
        point = next(
            t for t in ep.turns if t.kind == "prediction" and t.meta.get("trajectory") and t.meta["step"] == step
        )
        user = messages[-1].content
        assert ep.final.view.question in user  # Q ...
        kept = [s.turn for s in MarketResult.from_meta(ep.meta).steps]
        assert user.count("<turn ") == len(point.meta["saw"])  # ... and what was said up to this point
        if ep.meta["label"] == "market":  # no cross-examination: exactly the arguments of steps 1..step
            assert point.meta["saw"] == kept[:step]
        if point.seen is not None:  # an LLM market: exactly the messages it was sent
            assert [m.model_dump() for m in point.seen] == [m.model_dump() for m in messages]
        else:  # a simulated market: the prompt an LLM market would get for the same view
            assert "Which answer will the judge choose" in user
            assert user.count('<turn speaker="Adversary') == len(point.meta["saw"])
    final_only = tmp_path / "final.jsonl"
    assert main(["export", "market", str(beside), "--out", str(final_only), "--steps", "final"]) == 0
    assert len(final_only.read_text().splitlines()) == len(usable)
    assert "metadata" not in json.loads(final_only.read_text().splitlines()[0])


def test_export_refuses_what_it_cannot_export(beside, tmp_path, capsys):
    assert main(["export", "market", str(tmp_path / "nowhere")]) == 2
    assert "not a run directory" in capsys.readouterr().err
    plain = run_experiment(spec("plain", [{"name": "direct"}]), output_dir=tmp_path, progress="off").run_dir
    assert main(["export", "market", str(plain)]) == 2
    assert "no episode of a protocol that exports 'market' (protocols: direct)" in capsys.readouterr().err
    assert main(["export", "trees", str(beside)]) == 2
    assert "exports 'trees' (protocols: consultancy, debate, market_making; kinds this run offers: market)" in (
        capsys.readouterr().err
    )
    for options, field in (({"steps": "some"}, "steps"), ({"weights": 1}, "weights")):
        with pytest.raises(ValueError, match=field):
            list(market_examples([], options))
    bad = tmp_path / "bad.jsonl"
    user = {"role": "user", "content": "hi"}
    lines = [[user, {"role": "assistant", "content": reply}] for reply in ("A: 5%", "maybe")]
    bad.write_text("".join(json.dumps({"messages": m}) + "\n" for m in lines))
    with pytest.raises(ValueError, match=r"bad.jsonl:2: the assistant's reply states no distribution"):
        read_examples(bad)
    bad.write_text("not json\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:1: not a chat example"):
        read_examples(bad)


def test_the_exported_market_plugs_back_in_by_model_string(beside, tmp_path):
    """A 'trained' market — here a perfect fit: a replay of the export, prompt -> H's final distribution — named by
    model string in a spec, predicts H's distribution for p_0 of every question it was trained on."""
    out = tmp_path / "train.jsonl"
    assert main(["export", "market", str(beside), "--out", str(out), "--meta"]) == 0
    replay = tmp_path / "trained.jsonl"
    with replay.open("w") as f:
        for line in out.read_text().splitlines():
            row = json.loads(line)
            if row["metadata"]["label"] == "market":
                f.write(json.dumps({"messages": row["messages"][:-1], "output": row["messages"][-1]["content"]}) + "\n")
        f.write(json.dumps({"output": "Answer: A\nA: 50%, B: 50%"}) + "\n")  # prompts it never saw
    roles = {"market": {"model": "scripted/trained", "options": {"replay": str(replay), "cycle": True}},
             "adversary": scripted("adversary")}  # fmt: skip
    protocols = [{"name": "market_making", "label": "market", "steps": 3, "candidates": 2}]
    again = run_experiment(spec("beside", protocols, roles), output_dir=tmp_path / "again", progress="off")
    assert again.errors == 0
    before = {e.question_id: e for e in load_run(beside).episodes if e.meta.get("label") == "market"}
    for ep in load_run(again.run_dir).episodes:
        p0 = MarketResult.from_meta(ep.meta).market.trajectory[0]
        target = before[ep.question_id].final.probabilities
        assert p0 == pytest.approx(target, abs=2e-3) and not math.isclose(target[0], 0.5)
