"""`oversight.comparison` and `oversight compare` on a small hand-built run whose statistics are known by hand."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("pandas")

from oversight.cli import main  # noqa: E402
from oversight.comparison import Comparison, compare  # noqa: E402
from oversight.episode import Episode, Judgment, Turn  # noqa: E402
from oversight.metrics import wilson_interval  # noqa: E402
from oversight.store import EpisodeWriter, write_json  # noqa: E402

QUESTIONS = [f"q{i}" for i in range(6)]  # gold is always choice 0


def _judgment(choice, p=0.6):
    if choice is None:
        return Judgment(judge="j", valid=False)
    probs = [p, 1 - p] if choice == 0 else [1 - p, p]
    return Judgment(judge="j", probabilities=probs, choice=choice)


def _episode(label, protocol, qid, choices, config=None, debate=False, error=False):
    judgments = [_judgment(c) for c in choices]
    turns, roles = [], {"judge": "m/judge"}
    meta = {} if label == protocol else {"label": label}
    if config and "tier" in config:
        meta["tier"] = config["tier"]  # as the direct protocol's result records it
    if debate:
        a_answer = 0 if int(qid[1:]) % 2 == 0 else 1
        roles |= {"debater_a": "m/strong", "debater_b": "m/weak"}
        turns = [
            Turn(role="debater_a", content="A", answer=a_answer),
            Turn(role="debater_b", content="B", answer=1 - a_answer),
        ]
        meta["sides"] = {"debater_a": a_answer, "debater_b": 1 - a_answer}  # as the debate result records them
    final = judgments[-1]
    return Episode(
        id=f"{label}-{qid}",
        question_id=qid,
        protocol=protocol,
        protocol_config=config or {},
        roles=roles,
        judge="j",
        gold=0,
        choices=["right", "wrong"],
        turns=turns,
        judgments=judgments,
        correct=None if error or not final.valid else final.choice == 0,
        tokens=100,
        cost=0.01,
        timings={"duration": 2.0},
        error="boom" if error else None,
        meta=meta,
    )


def episodes():
    naive = [0, 1, 1, None, 0, 1]  # 2/6 right, one invalid
    expert = [0, 0, 0, 0, 0, 1]  # 5/6
    debate = [0, 0, 1, 0, 0, 1]  # 4/6
    out = []
    for i, q in enumerate(QUESTIONS):
        out.append(_episode("naive", "direct", q, [naive[i]], {"tier": "naive"}))
        out.append(_episode("expert", "direct", q, [expert[i]], {"tier": "expert"}))
        out.append(_episode("debate", "debate", q, [0, 0, debate[i]], {"rounds": 3}, debate=True))
        out.append(_episode("consultancy", "consultancy", q, [0], error=(q == "q2")))
    return out


@pytest.fixture
def run_dir(tmp_path):
    d = tmp_path / "runs" / "toy" / "r1"
    d.mkdir(parents=True)
    write_json(
        d / "spec.json", {"experiment": "toy", "run_id": "r1", "spec": {"tasks": [{"dataset": "data/toy.jsonl"}]}}
    )
    with EpisodeWriter(d) as w:
        for ep in episodes():
            w.write(ep)
    return d


@pytest.fixture
def comparison(run_dir):
    return compare(run_dir, n_resamples=2000, rating_resamples=200)


def _row(rows, **match):
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, found
    return found[0]


def test_summary_by_hand(comparison):
    naive = _row(comparison.summary, protocol="naive")
    assert (naive["judge"], naive["task"], naive["n"], naive["correct"]) == ("j", "toy", 6, 2)
    assert naive["accuracy"] == pytest.approx(2 / 6)
    assert (naive["acc_lo"], naive["acc_hi"]) == pytest.approx(wilson_interval(2, 6))
    assert naive["invalid_rate"] == pytest.approx(1 / 6)
    # five valid judgments at 0.6 on their choice, 2 right: Brier (2 * 0.32 + 3 * 0.72) / 5
    assert naive["n_prob"] == 5
    assert naive["brier"] == pytest.approx(0.56)
    assert naive["log_score"] == pytest.approx((2 * math.log(0.6) + 3 * math.log(0.4)) / 5)
    assert naive["ece"] == pytest.approx(0.2)
    assert naive["mean_confidence"] == pytest.approx(0.6)
    assert (naive["tokens"], naive["cost"], naive["latency"]) == pytest.approx((100, 0.06, 2.0))
    assert naive["cost_per_correct"] == pytest.approx(0.06 / 2)
    consult = _row(comparison.summary, protocol="consultancy")
    assert (consult["n"], consult["errors"], consult["accuracy"]) == (5, 1, 1.0)


def test_paired_by_hand(comparison):
    row = _row(comparison.paired, a="naive", b="debate")
    assert (row["n_items"], row["n_questions"], row["a_only"], row["b_only"]) == (6, 6, 0, 2)
    assert row["mcnemar_p"] == pytest.approx(0.5)
    assert row["diff"] == pytest.approx(2 / 6 - 4 / 6)
    assert row["diff_lo"] <= row["diff"] <= row["diff_hi"]
    assert row["permutation_p"] == pytest.approx(0.5)  # exact sign-flip test equals McNemar on 0/1 data
    consult = _row(comparison.paired, a="debate", b="consultancy")
    assert consult["n_items"] == 5  # the errored consultancy episode is not shared


def test_pgr_by_hand(comparison):
    row = _row(comparison.pgr, protocol="debate")
    assert (row["naive"], row["accuracy"], row["expert"]) == pytest.approx((2 / 6, 4 / 6, 5 / 6))
    assert row["pgr"] == pytest.approx(2 / 3)
    assert row["pgr_lo"] <= row["pgr"] <= row["pgr_hi"]
    assert {r["protocol"] for r in comparison.pgr} == {"debate", "consultancy"}


def test_debate_sides_ratings_and_rounds(comparison):
    # winners: q0 a, q1 b, q2 b, q3 b, q4 a, q5 a (debater_a argues 0 on even questions, 1 on odd ones)
    a = _row(comparison.sides, side="debater_a")
    assert (a["wins"], a["n"], a["win_rate"]) == (3, 6, 0.5)
    right = _row(comparison.sides, side="correct")
    assert (right["wins"], right["n"]) == (4, 6)
    strong = _row(comparison.ratings, debater="m/strong")
    assert strong["elo"] == pytest.approx(1000.0)  # 3-3 against m/weak
    assert (strong["games"], strong["score"], strong["basis"]) == (6, 3, "involved")
    assert strong["judge_accuracy"] == pytest.approx(4 / 6)
    per_round = [r["accuracy"] for r in comparison.rounds if r["protocol"] == "debate" and r["kind"] == "judgment"]
    assert per_round == pytest.approx([1.0, 1.0, 4 / 6])


def test_table_and_pandas(comparison):
    text = comparison.table()
    assert "Sandwiching" in text and "0.667" in text and "McNemar p" in text
    df = comparison.to_pandas()
    assert list(df["protocol"]) == ["naive", "expert", "debate", "consultancy"]
    assert {"accuracy", "acc_lo", "brier", "ece", "cost_per_correct"} <= set(df.columns)
    assert len(comparison.to_pandas("paired")) == 6
    with pytest.raises(KeyError):
        comparison.rows("nope")


def _check_png(path):
    from PIL import Image

    assert path.is_file() and path.stat().st_size > 10_000
    with Image.open(path) as im:
        width, height = im.size
        assert width >= 600 and height >= 450
        pixels = np.asarray(im.convert("RGB"))
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) > 20  # not a blank canvas
    assert (pixels < 128).any() and (pixels > 200).any()  # dark ink on a light page


def test_plots_written_and_non_trivial(comparison, tmp_path):
    written = comparison.plot(tmp_path / "figs")
    assert set(written) == {"accuracy", "calibration", "debater_rating", "rounds"}
    for path in written.values():
        _check_png(path)


def test_report_links_every_figure(comparison, run_dir):
    path = comparison.report()
    assert path == run_dir / "report.md"
    text = path.read_text()
    for name in ("accuracy", "calibration", "debater_rating", "rounds"):
        link = f"(figures/{name}.png)"
        assert link in text
        _check_png(run_dir / "figures" / f"{name}.png")
    assert "| naive | j | toy | 6 | 0.333 |" in text
    assert "Performance gap recovered" in text or "performance gap recovered" in text


def test_pgr_needs_both_tiers():
    eps = [e for e in episodes() if e.meta.get("label") != "expert"]
    c = Comparison.from_episodes(eps, task="t", n_resamples=100, rating_resamples=20)
    assert c.pgr == []
    assert c.summary[0]["task"] == "t"


def test_undefined_pgr_is_reported():
    eps = episodes()
    for e in eps:  # make the expert exactly as good as the naive judge
        if e.meta.get("label") == "expert":
            naive = next(x for x in eps if x.meta.get("label") == "naive" and x.question_id == e.question_id)
            e.judgments, e.correct = naive.judgments, naive.correct
    c = Comparison.from_episodes(eps, n_resamples=100, rating_resamples=20)
    row = _row(c.pgr, protocol="debate")
    assert math.isnan(row["pgr"]) and "equal" in row["note"]
    assert "–" in c.table("pgr")


def test_cli_compare(run_dir, tmp_path, capsys):
    report = tmp_path / "out" / "r.md"
    assert main(["compare", str(run_dir.parent), "--report", str(report), "--resamples", "500"]) == 0
    out = capsys.readouterr().out
    assert "naive" in out and f"report: {report}" in out
    assert report.is_file() and (report.parent / "figures" / "accuracy.png").is_file()
    assert main(["compare", str(run_dir), "--no-report", "--json", "--table", "pgr", "--resamples", "200"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert _row(rows, protocol="debate")["pgr"] == pytest.approx(2 / 3)
    assert main(["compare", str(tmp_path / "missing")]) == 2


def test_import_is_light():
    code = (
        "import sys, oversight.comparison, oversight.metrics; "
        "print(sorted(m for m in ('matplotlib', 'pandas', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_debaters_read_from_debate_meta():
    # The debate protocol's record: meta["answers"] per debater role; models by correct/incorrect side.
    eps = []
    for i, choice in enumerate([0, 0, 0, 1]):
        a = i % 2  # debater_a defends answer a
        ep = _episode("debate", "debate", f"q{i}", [choice])
        ep.roles = {"judge": "m/judge", "debater_correct": "m/strong", "debater_incorrect": "m/weak"}
        ep.meta = {"answers": {"debater_a": a, "debater_b": 1 - a}, "honest": "debater_a" if a == 0 else "debater_b"}
        eps.append(ep)
    c = Comparison.from_episodes(eps, n_resamples=100, rating_resamples=50)
    strong = _row(c.ratings, debater="m/strong")
    weak = _row(c.ratings, debater="m/weak")
    assert (strong["score"], weak["score"]) == (3, 1)
    # 3-1 with the default prior (precision 0.01) is close to the MLE ln(3) in Elo points
    assert strong["elo"] - weak["elo"] == pytest.approx(400 / math.log(10) * math.log(3), rel=0.02)
    assert _row(c.sides, side="debater_a")["wins"] == 3  # q0, q2, q3
