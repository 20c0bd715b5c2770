"""Message pooling: each distinct prompt paragraph is stored once per run, turns refer to it, and every reader
returns the same `Turn.seen` as an unpooled store; runs written before pooling load identically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oversight.episode import Episode, Judgment, Turn
from oversight.experiment import Experiment, run_experiment
from oversight.store import EPISODES_FILE, POOL_FILE, EpisodeWriter, StoreError, iter_episodes, load_run, write_json
from oversight.types import ChatMessage

SYSTEM = ChatMessage(role="system", content="You are a debater.\n\nBe brief.")


def _episode(i: int, rounds: int) -> Episode:
    turns, blocks = [], []
    for r in range(rounds):
        for who in ("a", "b"):
            user = ChatMessage(role="user", content="Question?\n\n" + "\n\n".join(blocks) + "\n\nYour turn.")
            text = f"speech {who} {r} of episode {i}\nsecond line"
            turns.append(Turn(role=f"debater_{who}", content=text, round=r, seen=[SYSTEM, user]))
            blocks.append(f'<turn speaker="{who}">\n| {text}\n</turn>')
    turns.append(Turn(role="judge", content="Answer: A", kind="judgment", seen=None))
    return Episode(id=f"e{i}", question_id=f"q{i}", protocol="p", turns=turns, judgments=[Judgment(judge="j")])


def _write(run: Path, episodes: list[Episode], *, pool: bool) -> Path:
    run.mkdir(parents=True)
    write_json(run / "spec.json", {"experiment": "x", "run_id": run.name})
    with EpisodeWriter(run, pool=pool) as w:
        for ep in episodes:
            w.write(ep)
    return run


def test_pooled_and_unpooled_runs_load_equal(tmp_path: Path) -> None:
    episodes = [_episode(i, rounds=4) for i in range(5)]
    pooled = _write(tmp_path / "pooled", episodes, pool=True)
    inline = _write(tmp_path / "inline", episodes, pool=False)  # the format of runs written before pooling
    assert not (inline / POOL_FILE).exists() and (pooled / POOL_FILE).exists()
    a, b = load_run(pooled).episodes, load_run(inline).episodes
    assert [e.model_dump() for e in a] == [e.model_dump() for e in b] == [e.model_dump() for e in episodes]
    # the system prompt's two paragraphs and "Question?" / "Your turn." are stored once for the whole run
    pool = (pooled / POOL_FILE).read_text().splitlines()
    assert pool.count(json.dumps("You are a debater.")) == 1 and pool.count(json.dumps("Your turn.")) == 1
    assert (pooled / EPISODES_FILE).stat().st_size < 0.6 * (inline / EPISODES_FILE).stat().st_size
    # seen=False skips rebuilding the prompts (cheap scans), nothing else differs
    light = list(iter_episodes(pooled, seen=False))
    assert all(t.seen is None for e in light for t in e.turns)
    assert [e.id for e in light] == [e.id for e in episodes]


def test_a_resumed_writer_appends_to_the_pool_and_old_references_stay_valid(tmp_path: Path) -> None:
    run = _write(tmp_path / "r", [_episode(0, 2)], pool=True)
    with EpisodeWriter(run) as w:  # a second session: new ids continue after the existing pool lines
        w.write(_episode(1, 3))
    loaded = load_run(run).episodes
    assert [e.model_dump() for e in loaded] == [_episode(0, 2).model_dump(), _episode(1, 3).model_dump()]


def test_a_torn_pool_tail_is_cut_and_a_missing_paragraph_is_a_clear_error(tmp_path: Path) -> None:
    run = _write(tmp_path / "r", [_episode(0, 2)], pool=True)
    pool = run / POOL_FILE
    with pool.open("ab") as f:
        f.write(b'"half a para')  # a crash while appending the next episode's paragraphs
    with EpisodeWriter(run) as w:
        w.write(_episode(1, 2))
    assert [e.id for e in load_run(run).episodes] == ["e0", "e1"]
    pool.write_text("")  # damage: the pool lost its lines
    with pytest.raises(StoreError, match="refers to paragraphs the pool does not hold"):
        load_run(run)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("ab\n \r\u2028x"), max_size=40), min_size=1, max_size=4))
def test_any_message_text_round_trips_through_the_pool(tmp_path_factory: pytest.TempPathFactory, texts) -> None:
    run = tmp_path_factory.mktemp("p") / "r"
    seen = [ChatMessage(role="user", content=t) for t in texts]
    ep = Episode(id="e", question_id="q", protocol="p", turns=[Turn(role="x", content="y", seen=seen)])
    _write(run, [ep], pool=True)
    assert load_run(run).episodes[0].turns[0].seen == seen


def test_disk_per_episode_grows_linearly_with_rounds_in_a_real_debate(tmp_path: Path) -> None:
    """Scripted debates through the runner: an episode line is at most 1.3x the episode without its prompts at
    6 rounds, and bytes per episode (pool included) grow linearly with the rounds, not with their square."""
    total, ratio = {}, {}
    for rounds in (2, 4, 6):
        spec = Experiment.from_dict(
            {
                "name": f"pool{rounds}",
                "tasks": [{"dataset": "gen/hidden-passage", "n": 8}],
                "protocols": [{"name": "debate", "rounds": rounds}],
                "roles": {"debater": {"model": "scripted/d", "options": {"outputs": ["I argue."], "cycle": True}}},
                "judges": [{"model": "scripted/j", "options": {"outputs": ["Answer: A"], "cycle": True}}],
                "cache": False,
            }
        )
        run_dir = run_experiment(spec, output_dir=tmp_path, progress="off").run_dir
        lines = (run_dir / EPISODES_FILE).stat().st_size
        without_seen = 0
        for ep in load_run(run_dir).episodes:
            for t in ep.turns:
                t.seen = None
            without_seen += len(ep.model_dump_json()) + 1
        ratio[rounds] = lines / without_seen
        total[rounds] = lines + (run_dir / POOL_FILE).stat().st_size
    assert ratio[6] <= 1.3, ratio
    first, second = total[4] - total[2], total[6] - total[4]
    assert 0.8 <= second / first <= 1.25, total  # constant bytes per extra round (quadratic would be ~1.67)


class _NoMemoWriter(EpisodeWriter):
    """Every paragraph hashed afresh: the writer as it was before it remembered digests."""

    def _split_ids(self, content: str, new: list[bytes], digests: dict[str, bytes]) -> list[int]:
        return super()._split_ids(content, new, {})


@pytest.mark.parametrize("index", [65_536, 6, 2])
def test_remembered_paragraph_digests_write_the_bytes_fresh_digests_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index: int
) -> None:
    """However small the pool's index (so that paragraphs it forgot are stored again), the files are those
    written with every paragraph hashed afresh."""
    import oversight.store as store

    episodes = [_episode(i % 3, rounds=3) for i in range(8)]  # repeats: paragraphs and messages recur
    monkeypatch.setattr(store, "POOL_INDEX_SIZE", index)
    monkeypatch.setattr(store, "MESSAGE_MEMO_SIZE", 1)
    runs = {}
    for name, writer in (("fresh", _NoMemoWriter), ("memo", EpisodeWriter)):
        run = runs[name] = tmp_path / name
        run.mkdir()
        with writer(run, pool=True) as w:
            for ep in episodes:
                w.write(ep)
    for name in (EPISODES_FILE, POOL_FILE):
        assert (runs["memo"] / name).read_bytes() == (runs["fresh"] / name).read_bytes()
