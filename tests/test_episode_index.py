"""EpisodeIndex: byte offsets and list fields of episodes.jsonl, equal to a full parse, and honest about damage."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from viewer_runs import base_run

from oversight.episode import Episode, JudgeView, Judgment, Provenance, Quote, Turn
from oversight.episode_index import EpisodeIndex, Row, Status, status_of
from oversight.store import EPISODES_FILE, POOL_FILE, SPEC_FILE, EpisodeWriter, StoreError, iter_episodes
from oversight.types import ChatMessage


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return base_run(tmp_path_factory.mktemp("runs"))


def expected(ep: Episode) -> tuple:
    final = ep.final
    status = status_of(
        correct=ep.correct,
        scorable=ep.scorable,
        error_type=ep.error_type,
        judged=bool(final and final.valid),
        pending=bool(final and final.pending),
    )
    label = ep.meta.get("label") or ep.protocol
    return (
        ep.id,
        ep.question_id,
        ep.protocol,
        label,
        ep.judge,
        ep.meta.get("task"),
        status,
        ep.tokens,
        ep.cost,
        ep.error_type,
    )


def fields(row: Row) -> tuple:
    return (
        row.id,
        row.question_id,
        row.protocol,
        row.label,
        row.judge,
        row.task or None,
        row.status,
        row.tokens,
        row.cost,
        row.error_type,
    )


def test_rows_equal_a_full_parse_of_a_real_run_and_need_no_full_parse(run_dir: Path):
    index = EpisodeIndex(run_dir)
    assert index.scan() == 120 and index.complete
    episodes = list(iter_episodes(run_dir, seen=False))
    assert [fields(r) for r in index.rows] == [expected(ep) for ep in episodes]
    assert index.parsed_whole == 0  # every line the runner writes is read by the fast path
    statuses = {r.status for r in index.rows}
    assert {Status.CORRECT, Status.INCORRECT, Status.INVALID, Status.ERROR} <= statuses
    assert {r.task for r in index.rows} == {"gen/hidden-passage", "gen/prontoqa"}
    assert [index.episode(r).id for r in index.rows[:5]] == [ep.id for ep in episodes[:5]]


def test_scan_in_chunks_and_line_numbers(run_dir: Path):
    index = EpisodeIndex(run_dir)
    assert [index.scan(50), index.scan(50), index.scan(50), index.scan(50)] == [50, 50, 20, 0]
    assert [r.line for r in index.rows] == list(range(1, 121))
    raw = (run_dir / EPISODES_FILE).read_bytes().split(b"\n")
    assert all(index.raw(r) == raw[r.line - 1] for r in index.rows)


def test_seen_rebuilds_each_turns_prompt_from_the_pool_lazily(run_dir: Path, tmp_path: Path):
    full = list(iter_episodes(run_dir, seen=True))
    index = EpisodeIndex(run_dir)
    index.scan()
    for row, ep in zip(index.rows, full, strict=True):
        parsed = index.episode(row)
        assert all(t.seen is None for t in parsed.turns)  # pooled: not rebuilt by episode()
        assert [index.seen(row, parsed, n) for n in range(len(parsed.turns))] == [t.seen for t in ep.turns]
    # the pool is read only for `seen`: a broken pool leaves scanning and episodes intact
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / POOL_FILE).write_text('"only one paragraph"\n')
    broken = EpisodeIndex(copy)
    assert broken.scan() == 120
    ep = broken.episode(broken.rows[0])
    with pytest.raises(StoreError, match=r"episodes.jsonl:1: seen_pool refers to paragraphs"):
        broken.seen(broken.rows[0], ep, 0)


def test_torn_last_line_is_left_out_until_it_is_complete(run_dir: Path, tmp_path: Path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    path = copy / EPISODES_FILE
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:10]) + lines[10][:-40])  # a crash mid-write of line 11
    index = EpisodeIndex(copy)
    assert index.scan() == 10 and index.torn == 11 and index.complete and not index.problems
    with path.open("ab") as f:  # the writer finishes the line (a run still going) and adds another
        f.write(lines[10][-40:] + lines[11])
    assert index.scan() == 2 and index.torn is None
    assert [r.line for r in index.rows] == list(range(1, 13))
    # a complete but unparseable last line is torn too (as the store reads it)
    with path.open("ab") as f:
        f.write(b'{"id": "half\n')
    assert index.scan() == 0 and index.torn == 13


def test_unreadable_lines_are_reported_and_skipped(run_dir: Path, tmp_path: Path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    path = copy / EPISODES_FILE
    lines = path.read_bytes().splitlines(keepends=True)
    lines[3] = b"not json at all\n"
    lines[7] = b'{"no": "id"}\n'
    path.write_bytes(b"".join(lines))
    index = EpisodeIndex(copy)
    assert index.scan() == 120
    assert len(index.rows) == 118 and index.unreadable == 2
    assert [line for line, _ in index.problems] == [4, 8]
    assert "not JSON" in index.problems[0][1] and "not an episode" in index.problems[1][1]


def test_a_repeated_episode_id_keeps_the_last_record(run_dir: Path, tmp_path: Path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    path = copy / EPISODES_FILE
    first = json.loads(path.read_bytes().splitlines()[0])
    first["error"], first["error_type"], first["correct"] = "re-run", "RuntimeError", None
    with path.open("ab") as f:
        f.write(json.dumps(first).encode() + b"\n")
    index = EpisodeIndex(copy)
    index.scan()
    assert index.replaced == 1 and index.rows[0].superseded
    assert index.rows[-1].id == index.rows[0].id and index.rows[-1].status is Status.ERROR


def test_missing_or_empty_file_is_an_empty_complete_index(tmp_path: Path):
    (tmp_path / SPEC_FILE).write_text("{}")
    index = EpisodeIndex(tmp_path)
    assert index.scan() == 0 and index.complete and index.rows == []
    (tmp_path / EPISODES_FILE).write_bytes(b"")
    assert index.scan() == 0 and index.complete


# Text that looks like the keys the fast path reads, in every place an agent or a protocol could put it.
TRAPS = [
    '],"correct":true,"tokens":1,"cost":0.0,"timings":{},"error":null,"error_type":null,"meta":{"label":"x"}}',
    '"label":"fake"}',
    '},"judge":"fake","seed":1,"gold":0,"choices":[',
    ',"seen_pool":[[["user",[0]]]]}',
    '"judgments":[]',
    ',"valid":true',
    ',"pending":true',
    '],"judgments":[{"judge":"x","valid":true}],"correct":null',
    'quote "marks" and \\ backslashes',
    "\u00e9\u4e2d\U0001f600",
    "\n\t",
]
text = st.one_of(st.sampled_from(TRAPS), st.text(max_size=30))
meta_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), text),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["label", "task", "correct", "error_type", "seen_pool", "choices", "judge", "x"]),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=8,
)
meta = st.dictionaries(
    st.sampled_from(["label", "task", "sides", "order_shown", "judge", "x", "seen_pool"]), meta_value, max_size=4
)


@st.composite
def judgment_trees(draw: st.DrawFn, depth: int = 2) -> Judgment:
    """A judgment with every field a judge writes: pending humans, recorded views, probabilities, free-form
    answers, meta (trajectories, look-alike keys) and parts (swapped orders, jurors) that are judgments too."""
    pending = draw(st.booleans())
    parts = draw(st.lists(judgment_trees(depth - 1), max_size=2)) if depth > 0 else []
    return Judgment(
        judge=draw(text),
        valid=False if pending else draw(st.booleans()),
        pending=pending,
        choice=None if pending else draw(st.one_of(st.none(), st.integers(0, 1))),
        answer=draw(st.one_of(st.none(), text)),
        probabilities=draw(st.one_of(st.none(), st.just([0.25, 0.75]))),
        method=draw(st.sampled_from(["human", "parsed", "swap", "jury"])),
        rationale=draw(text),
        provenance=Provenance(judge=draw(text), order_shown=[1, 0]),
        view=draw(st.one_of(st.none(), st.just(JudgeView(role="judge", order=[1, 0], turns=[0], question="q?")))),
        parts=parts,
        meta=draw(
            st.dictionaries(
                st.sampled_from(["human", "valid", "pending", "judgments", "x"]),
                st.one_of(meta_value, st.just({"trajectory": [{"t": 0.5, "p": [0.5, 0.5]}], "valid": True})),
                max_size=2,
            )
        ),
    )


@st.composite
def episodes(draw: st.DrawFn) -> Episode:
    turns = [
        Turn(
            role=draw(st.sampled_from(["debater_a", "judge"])),
            content=draw(text),
            meta=draw(meta),
            quotes=[Quote(text=draw(text), verified=draw(st.booleans()))],
            seen=draw(st.one_of(st.none(), st.just([ChatMessage(role="user", content="Q?\n\nA: x")]))),
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    judgments = [draw(judgment_trees()) for _ in range(draw(st.integers(0, 2)))]
    return Episode(
        id=draw(st.text(min_size=1, max_size=12)),
        experiment=draw(text),
        question_id=draw(text),
        protocol=draw(st.sampled_from(["debate", "direct", 'we"ird\\'])),
        protocol_config={"judge": {"temperature": None}, "x": draw(meta_value)},
        roles={"judge": draw(text), "debater": "scripted/d"},
        judge=draw(text),
        seed=draw(st.integers(0, 9)),
        gold=draw(st.one_of(st.none(), st.integers(0, 1))),
        choices=[draw(text), draw(text)],
        turns=turns,
        judgments=judgments,
        correct=draw(st.one_of(st.none(), st.booleans())),
        tokens=draw(st.integers(0, 10**6)),
        cost=draw(st.floats(0, 10, allow_nan=False)),
        error=draw(st.one_of(st.none(), text)),
        error_type=draw(st.one_of(st.none(), st.sampled_from(["ValueError", 'Odd"Error']))),
        gold_answers=draw(st.one_of(st.just([]), st.lists(text, min_size=1, max_size=2))),
        meta=draw(meta),
    )


@settings(max_examples=150, deadline=None)
@given(batch=st.lists(episodes(), min_size=1, max_size=4, unique_by=lambda e: e.id), pooled=st.booleans())
def test_fast_path_agrees_with_a_full_parse_on_hostile_episodes(batch: list[Episode], pooled: bool):
    with tempfile.TemporaryDirectory() as tmp:
        with EpisodeWriter(tmp, pool=pooled) as w:
            for ep in batch:
                w.write(ep)
        index = EpisodeIndex(tmp)
        assert index.scan() == len(batch) and not index.problems
        rows = [fields(r) for r in index.rows]
        index.close()
    want = []
    for ep in batch:
        label, task = ep.meta.get("label"), ep.meta.get("task")
        row = list(expected(ep))
        row[3] = label if isinstance(label, str) and label else ep.protocol
        row[5] = task if isinstance(task, str) and task else None
        want.append(tuple(row))
    assert rows == want


def test_look_alike_text_is_read_fast_and_look_alike_structure_falls_back(tmp_path: Path):
    trap = "".join(TRAPS)
    in_text = Episode(
        id="t1", question_id=trap, protocol="debate", judge=trap, choices=[trap, "b"], gold=0, correct=True,
        turns=[Turn(role="debater_a", content=trap, quotes=[Quote(text=trap, verified=True)])],
        judgments=[Judgment(judge=trap, choice=0, rationale=trap)], error=trap, meta={"label": trap, "note": trap},
    )  # fmt: skip
    nested = Episode(
        id="t2", question_id="q", protocol="debate", judge="j", gold=1, correct=False,
        turns=[Turn(role="judge", content="x", meta={"x": 1, "choices": ["a"], "error_type": None})],
        judgments=[Judgment(judge="j", choice=0, valid=True)], meta={"sub": {"label": "no", "task": "no"}},
    )  # fmt: skip
    with EpisodeWriter(tmp_path) as w:
        w.write(in_text)
        w.write(nested)
    index = EpisodeIndex(tmp_path)
    index.scan()
    assert index.parsed_whole == 1  # only the episode whose *structure* mimics the keys the fast path reads
    assert [fields(r) for r in index.rows] == [
        expected(in_text),
        (*expected(nested)[:3], "debate", *expected(nested)[4:]),
    ]


def _human_run(root: Path) -> Path:
    from oversight.experiment import Experiment, run_experiment

    spec = Experiment.from_dict(
        {
            "name": "pending",
            "tasks": [{"dataset": "gen/hidden-passage", "n": 4}],
            "protocols": [{"name": "consultancy", "rounds": 1}],
            "roles": {"consultant": {"model": "scripted/c", "options": {"outputs": ["Answer: A."], "cycle": True}}},
            "judges": [
                {"human": "hal"},
                {"name": "panel", "jurors": [{"simulated": {"accuracy": 1.0}}, {"human": "hal"}]},
            ],
            "cache": False,
            "output_dir": str(root),
        }
    )
    return run_experiment(spec, progress="off").run_dir


def test_pending_judgments_are_listed_as_pending_and_judgments_given_later_are_applied(tmp_path: Path):
    from oversight.judgments_log import JUDGMENTS_FILE
    from oversight.pending import pending_judgments, submit_judgment

    run = _human_run(tmp_path)
    index = EpisodeIndex(run)
    assert index.scan() == 8 and index.parsed_whole == 0
    assert {r.status for r in index.rows} == {Status.PENDING}
    waiting = pending_judgments(run, "hal")
    solo = next(p for p in waiting if p.path == [0])
    juror = next(p for p in waiting if p.path == [0, 1])
    for slot, right in ((solo, True), (juror, False)):
        gold = slot.episode.gold
        probs = [0.0, 0.0]
        probs[gold if right else 1 - gold] = 1.0
        submit_judgment(run, slot.episode_id, slot.path, probs, judge_id="hal")
    # a later scan re-reads judgments.jsonl and re-states the rows it judges, as a full parse does
    assert index.scan() == 0
    by_id = {r.id: r for r in index.rows}
    assert by_id[solo.episode_id].status is Status.CORRECT
    assert by_id[juror.episode_id].status in (Status.CORRECT, Status.INCORRECT)  # the jury's rule decides
    episodes = list(iter_episodes(run, seen=False))
    assert [fields(r) for r in index.rows] == [expected(ep) for ep in episodes]
    assert index.episode(by_id[solo.episode_id]).final.method == "human"
    # a new index reads them from the start
    fresh = EpisodeIndex(run)
    fresh.scan()
    assert [fields(r) for r in fresh.rows] == [expected(ep) for ep in episodes]
    # a damaged judgments.jsonl is reported and ignored, never a crash
    log = run / JUDGMENTS_FILE
    log.write_bytes(b"not json\n" + log.read_bytes())
    broken = EpisodeIndex(run)
    assert broken.scan() == 8 and "judgments.jsonl:1" in (broken.submissions_error or "")
    assert {r.status for r in broken.rows} == {Status.PENDING}
