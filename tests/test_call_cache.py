"""The call cache: keys identical to the original format, old files read and hit, misses answered from memory,
keys other connections write seen at once, and the compact key index."""

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oversight.models import CallCache
from oversight.models.base import Provider
from oversight.models.cache import POLL_SECONDS, call_key, legacy_call_key
from oversight.models.key_index import MERGE_MIN, KeyIndex, fingerprint
from oversight.models.managed import ManagedModel
from oversight.types import ChatMessage, GenerateConfig, ModelOutput, Usage


def original_call_key(identity, messages, config):
    """The key function as every existing cache file was written (oversight <= 165787c), frozen here."""
    payload = {"id": identity, "m": [[m.role, m.content] for m in messages], "c": config.model_dump(mode="json")}
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:64]


class Counting(Provider):
    provider = "test"

    def __init__(self) -> None:
        super().__init__("count", "test-endpoint")
        self.calls = 0

    async def generate(self, messages, config):
        self.calls += 1
        return ModelOutput(text=f"fresh {self.calls}", usage=Usage(input_tokens=3, output_tokens=2))


texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)  # lone surrogates cannot be UTF-8
messages = st.lists(
    st.builds(ChatMessage, role=st.sampled_from(["system", "user", "assistant"]), content=texts), max_size=4
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
configs = st.builds(
    GenerateConfig,
    temperature=st.floats(0.0, 2.0),
    max_tokens=st.integers(1, 10**6),
    seed=st.none() | st.integers(-(2**63), 2**63),
    stop=st.lists(texts, max_size=3).map(tuple),
    logprobs=st.booleans(),
    top_logprobs=st.none() | st.integers(0, 20),
    extra=st.dictionaries(texts, json_values, max_size=2),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(identity=texts, msgs=messages, config=configs)
def test_call_key_equals_the_original_key_function(identity, msgs, config):
    expected = original_call_key(identity, msgs, config)
    assert call_key(identity, msgs, config) == expected
    assert legacy_call_key(identity, msgs, config) == expected


def test_call_key_equals_the_original_on_long_prompts_with_every_escape():
    # The messages' JSON comes from pydantic-core's writer, not json.dumps: every character json.dumps escapes (and
    # those it leaves alone, like U+2028 and U+007F), in prompts as long as a debate's.
    special = "".join(map(chr, range(0x20))) + '"\\/\x7f\u2028\u2029é中😀\ufeff\uffff'
    msgs = [
        ChatMessage(role="system", content=special * 50),
        ChatMessage(role="user", content=("The text:\n<source>\n" + "word " * 900 + "\n</source>\n") * 2),
    ]
    for config in (GenerateConfig(), GenerateConfig(seed=7, stop=("\n\n", special), temperature=0.3)):
        assert call_key("llamacpp/x#abc", msgs, config) == original_call_key("llamacpp/x#abc", msgs, config)


def test_a_lone_surrogate_fails_the_key_as_it_always_did():
    msgs = [ChatMessage(role="user", content="half a pair \ud800")]
    with pytest.raises(UnicodeEncodeError):
        original_call_key("m", msgs, GenerateConfig())
    with pytest.raises(UnicodeEncodeError):
        call_key("m", msgs, GenerateConfig())


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic notices the unvalidated field types
def test_call_key_agrees_on_configs_built_without_validation():
    # RoleModel merges configs with model_copy(update=...), which skips validation: the generic path handles it
    base = GenerateConfig(seed=1)
    for update in ({"stop": ["\n"]}, {"temperature": 1}, {"max_tokens": True}, {"seed": 2.0}):
        config = base.model_copy(update=update)
        assert call_key("m", [], config) == original_call_key("m", [], config)


def write_original_cache(path: Path, rows: dict[str, ModelOutput]) -> None:
    """A cache file as the original writer made it: its schema, WAL mode, one row per key."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, output TEXT NOT NULL, created REAL NOT NULL)")
    conn.executemany(
        "INSERT OR REPLACE INTO calls (key, output, created) VALUES (?, ?, ?)",
        [(k, v.model_dump_json(exclude={"cached"}), time.time()) for k, v in rows.items()],
    )
    conn.commit()
    conn.close()


async def test_a_cache_file_written_by_the_original_code_is_read_and_hit(tmp_path):
    provider = Counting()
    identity = provider.cache_identity()
    old = [
        ([ChatMessage(role="user", content='héllo \u2028 "quoted"')], GenerateConfig(seed=1)),
        ([ChatMessage(role="system", content="judge"), ChatMessage(role="user", content="Q?")], GenerateConfig()),
        ([ChatMessage(role="user", content="x")], GenerateConfig(temperature=0.7, stop=("\n",), extra={"top_k": 4})),
    ]
    path = tmp_path / "old.sqlite"
    write_original_cache(
        path, {original_call_key(identity, m, c): ModelOutput(text=f"old {i}") for i, (m, c) in enumerate(old)}
    )
    cache = CallCache(path)
    model = ManagedModel(provider, cache=cache)
    for i, (m, c) in enumerate(old):
        out = await model.generate(m, c)
        assert out.cached and out.text == f"old {i}"
    assert provider.calls == 0
    miss = await model.generate([ChatMessage(role="user", content="new")], GenerateConfig())
    assert not miss.cached and provider.calls == 1
    assert cache.stats() == {"hits": 3, "misses": 1}
    cache.close()


def wait_indexed(cache: CallCache) -> None:
    deadline = time.monotonic() + 10
    while not cache._indexed:  # the loader thread runs at open
        assert time.monotonic() < deadline, "key index never loaded"
        time.sleep(0.01)


def test_a_miss_reads_no_row_once_the_index_is_loaded(tmp_path):
    path = tmp_path / "c.sqlite"
    write_original_cache(path, {f"{i:064x}": ModelOutput(text=str(i)) for i in range(1000)})
    cache = CallCache(path)
    wait_indexed(cache)
    statements: list[str] = []
    cache._reader.set_trace_callback(statements.append)
    assert cache.get("f" * 64) is None  # a miss
    assert cache.get("f" * 64) is None
    assert statements == []  # answered from the index: no SQLite call at all
    assert cache.get(f"{7:064x}").text == "7"  # a hit reads its row
    assert any("SELECT output" in s for s in statements)
    cache.close()


def test_keys_another_connection_commits_become_hits_within_the_poll_interval(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = CallCache(path)
    wait_indexed(cache)
    assert cache.get("a" * 64) is None
    write_original_cache(path, {"a" * 64: ModelOutput(text="from elsewhere")})  # e.g. another process
    committed = time.monotonic()
    while (out := cache.get("a" * 64)) is None:
        assert time.monotonic() - committed < 2.0, "another process's key never became a hit"
        time.sleep(0.005)
    print(f"seen after {time.monotonic() - committed:.3f} s (POLL_SECONDS = {POLL_SECONDS})")
    assert out.text == "from elsewhere" and out.cached
    cache.close()


def test_lookups_while_the_index_loads_and_after_agree(tmp_path):
    path = tmp_path / "c.sqlite"
    keys = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(20000)]
    write_original_cache(path, {k: ModelOutput(text=k[:4]) for k in keys[::2]})
    cache = CallCache(path)
    early = [cache.get(k) is not None for k in keys[:200]]  # may run before the loader is done
    wait_indexed(cache)
    late = [cache.get(k) is not None for k in keys[:200]]
    assert early == late == [i % 2 == 0 for i in range(200)]
    cache.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.sampled_from(["get", "put", "flush"]), st.integers(0, 15)), max_size=40))
def test_hits_and_misses_match_a_dict(tmp_path_factory, ops):
    path = tmp_path_factory.mktemp("c") / "c.sqlite"
    write_original_cache(path, {f"{k:064x}": ModelOutput(text=f"v{k}") for k in range(0, 16, 3)})
    expected = {f"{k:064x}": f"v{k}" for k in range(0, 16, 3)}
    cache = CallCache(path)
    for op, k in ops:
        key = f"{k:064x}"
        if op == "put":
            cache.put(key, ModelOutput(text=f"p{k}"))
            expected[key] = f"p{k}"
        elif op == "flush":
            cache.flush()
        else:
            out = cache.get(key)
            assert (out.text if out else None) == expected.get(key)
    cache.close()
    reopened = CallCache(path)
    for key, text in expected.items():
        assert reopened.get(key).text == text
    reopened.close()


@given(keys=st.lists(texts, max_size=60), probes=st.lists(texts, max_size=30))
def test_index_never_forgets_a_key(keys, probes):
    index = KeyIndex()
    half = len(keys) // 2
    index.load(keys[:half])
    for k in keys[half:]:
        index.add(k)
    index.merge()
    for k in keys:
        assert index.might_contain(k)
    for p in probes:  # an absent key can be reported present only if it shares a fingerprint
        if index.might_contain(p) and p not in keys:
            assert fingerprint(p) in {fingerprint(k) for k in keys}


def test_index_keeps_keys_added_during_a_merge():
    index = KeyIndex()
    index.load(hashlib.sha256(str(i).encode()).hexdigest() for i in range(50000))
    added = [hashlib.sha256(f"new{i}".encode()).hexdigest() for i in range(4 * MERGE_MIN)]
    stop = threading.Event()

    def merging() -> None:
        while not stop.is_set():
            index.merge()

    thread = threading.Thread(target=merging)
    thread.start()
    try:
        for k in added:
            index.add(k)
            assert index.might_contain(k)
    finally:
        stop.set()
        thread.join()
    index.merge()
    assert all(index.might_contain(k) for k in added)


def test_index_takes_about_ten_bytes_per_key():
    index = KeyIndex()
    n = 200_000
    index.load(hashlib.sha256(str(i).encode()).hexdigest() for i in range(n))
    assert len(index) == n
    assert index.nbytes() / n <= 14
    absent = sum(index.might_contain(hashlib.sha256(f"x{i}".encode()).hexdigest()) for i in range(20000))
    assert absent == 0


@pytest.mark.parametrize("key", ["", "short", "zz" * 32, "ä" * 64])
def test_keys_of_any_shape_are_indexed(key):
    index = KeyIndex()
    assert not index.might_contain(key) or key == ""
    index.add(key)
    assert index.might_contain(key)


def test_a_single_writer_folds_its_own_keys_into_the_packed_array(tmp_path):
    cache = CallCache(tmp_path / "c.sqlite")
    wait_indexed(cache)
    keys = [hashlib.sha256(f"own{i}".encode()).hexdigest() for i in range(2 * MERGE_MIN)]
    for k in keys:
        cache.put(k, ModelOutput(text="x"))
    cache.flush()
    deadline = time.monotonic() + 10
    while len(cache._index._sets[0]) >= MERGE_MIN and time.monotonic() < deadline:
        time.sleep(0.05)  # the writer thread merges after its batch
    assert len(cache._index._sets[0]) < MERGE_MIN  # no other process wrote: the fold is still due and done
    assert len(cache._index._table.array) >= MERGE_MIN
    assert all(cache.get(k) is not None for k in keys)
    assert cache.get("f" * 64) is None
    cache.close()


def test_queued_writes_stay_bounded_when_puts_outrun_the_writer(tmp_path, monkeypatch):
    import oversight.models.cache as cache_module

    monkeypatch.setattr(cache_module, "MAX_PENDING", 64)
    cache = CallCache(tmp_path / "c.sqlite")
    wait_indexed(cache)
    most = 0
    keys = [hashlib.sha256(f"burst{i}".encode()).hexdigest() for i in range(3000)]
    for k in keys:  # a tight loop holding the GIL, as a busy event loop does
        cache.put(k, ModelOutput(text="y" * 200))
        most = max(most, len(cache._pending))
    assert most <= 65
    assert all(cache.get(k) is not None for k in keys)  # nothing lost to the waiting
    cache.close()
    again = CallCache(tmp_path / "c.sqlite")
    assert all(again.get(k) is not None for k in keys[::100])
    again.close()


@settings(max_examples=40, deadline=None)
@given(rows=st.dictionaries(texts, texts, max_size=12), json_rows=st.booleans())
def test_a_batch_is_stored_exactly_as_given_in_one_statement_or_row_by_row(rows, json_rows):
    from oversight.models.cache import _SCHEMA, _has_json, _insert

    conn = sqlite3.connect(":memory:")
    conn.execute(_SCHEMA)
    assert _has_json(conn)  # this machine's SQLite: the one-statement path is the one measured
    batch = list(rows.items())
    _insert(conn, batch, json_rows)  # texts with NUL take the row-by-row path
    stored = conn.execute("SELECT key, output, typeof(output), typeof(created) FROM calls ORDER BY rowid").fetchall()
    assert stored == [(k, v, "text", "real") for k, v in batch]  # same texts, in the batch's order


def test_outputs_written_by_the_writer_thread_read_back_equal(tmp_path):
    cache = CallCache(tmp_path / "c.sqlite")
    outs = {
        hashlib.sha256(str(i).encode()).hexdigest(): ModelOutput(text=t, usage=Usage(input_tokens=i))
        for i, t in enumerate(['say "hi" \\ there', "line\nbreak\x00nul", "é😀\u2028", "", "-Infinity"])
    }
    for k, out in outs.items():
        cache.put(k, out)
    cache.close()
    rows = dict(sqlite3.connect(tmp_path / "c.sqlite").execute("SELECT key, output FROM calls"))
    assert rows == {k: out.model_dump_json(exclude={"cached"}) for k, out in outs.items()}
    again = CallCache(tmp_path / "c.sqlite")
    for k, out in outs.items():
        assert again.get(k).model_dump(exclude={"cached"}) == out.model_dump(exclude={"cached"})
    again.close()


@settings(max_examples=40, deadline=None)
@given(text=texts, cached=st.booleans(), latency=st.floats(allow_nan=False), reason=st.none() | texts)
def test_the_stored_json_is_the_dump_without_cached(text, cached, latency, reason):
    from oversight.models.cache import _stored_json

    out = ModelOutput(text=text, cached=cached, latency=latency, finish_reason=reason, usage=Usage(output_tokens=2))
    assert _stored_json(out) == out.model_dump_json(exclude={"cached"})


def rows_in_file(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
    finally:
        conn.close()


def wait_rows(path: Path, n: int, within: float) -> float:
    """Seconds until another connection sees `n` rows (fails after `within`)."""
    t0 = time.monotonic()
    while rows_in_file(path) < n:
        assert time.monotonic() - t0 < within, f"the file never held {n} rows"
        time.sleep(0.01)
    return time.monotonic() - t0


def test_writes_are_committed_at_batch_rows_or_when_the_oldest_is_batch_seconds_old(tmp_path, monkeypatch):
    import oversight.models.cache as cache_module

    path = tmp_path / "c.sqlite"
    cache = CallCache(path)
    wait_indexed(cache)
    monkeypatch.setattr(cache_module, "BATCH_SECONDS", 30.0)
    monkeypatch.setattr(cache_module, "BATCH_ROWS", 8)
    keys = [hashlib.sha256(f"b{i}".encode()).hexdigest() for i in range(12)]
    for k in keys[:7]:
        cache.put(k, ModelOutput(text="x"))
    time.sleep(0.3)
    assert rows_in_file(path) == 0  # 7 of 8 rows, and the oldest far younger than 30 s: still gathering
    assert all(cache.get(k) is not None for k in keys[:7])  # answered from the queue meanwhile
    cache.put(keys[7], ModelOutput(text="x"))  # the eighth: committed now
    wait_rows(path, 8, within=5)
    monkeypatch.setattr(cache_module, "BATCH_SECONDS", 0.2)
    for k in keys[8:10]:  # a batch that never fills is committed once its oldest write is 0.2 s old
        cache.put(k, ModelOutput(text="x"))
    assert wait_rows(path, 10, within=5) >= 0.1
    monkeypatch.setattr(cache_module, "BATCH_SECONDS", 30.0)
    for k in keys[10:]:
        cache.put(k, ModelOutput(text="x"))
    cache.flush()  # a flush does not wait for the batch to fill
    assert rows_in_file(path) == 12 and all(cache.get(k) is not None for k in keys)
    cache.close()
