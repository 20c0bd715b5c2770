"""On-disk call cache (SQLite) keyed by a canonical hash of (provider identity, messages, config, seed).

A miss touches no database on the event loop: a compact index of every key the file holds (`KeyIndex`, about
10 bytes per key, loaded by a background thread when the cache opens) answers "not there" from memory. Only a
hit reads its row (one indexed SELECT). Writes are queued and committed by a writer thread, which also keeps
the index up to date with rows other processes add to the same file.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path

from pydantic_core import PydanticSerializationError
from pydantic_core import to_json as _to_json

from oversight.hashing import canonical_json
from oversight.models.key_index import KeyIndex
from oversight.types import ChatMessage, GenerateConfig, ModelOutput

#: the writer commits once this many writes are queued, or when the oldest queued write is `BATCH_SECONDS` old.
#: Each commit writes every page it dirtied, and random keys dirty about one index page per row in small batches:
#: SQLite's CPU per row falls from ~19 µs in batches of 300 to ~9 µs in batches of 4,000 (40k-row file): CPU the
#: writer thread takes from a server or a llama.cpp model on the same machine.
BATCH_ROWS = 2048
BATCH_SECONDS = 0.5
#: how often an idle writer thread looks for rows other processes committed (their keys become hits after that)
POLL_SECONDS = 0.05
#: queued writes above which `put` waits for the writer thread (memory stays bounded however busy the loop is)
MAX_PENDING = 4096
_SCHEMA = "CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, output TEXT NOT NULL, created REAL NOT NULL)"
_INSERT = "INSERT OR REPLACE INTO calls (key, output, created) VALUES (?, ?, ?)"
# A whole batch in one statement: SQLite walks the JSON array of [key, output] pairs inside one step, which runs
# without the GIL, where `executemany` takes the GIL back for every row (and waits for the event loop to give it
# up, up to the 5 ms switch interval, each time). Rows go in in array order, as executemany would put them.
_INSERT_BATCH = (
    "INSERT OR REPLACE INTO calls (key, output, created) "
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ? FROM json_each(?)"
)
# The function json.dumps(..., ensure_ascii=False) uses for every str (C-accelerated): building the key's JSON
# from these pieces gives byte-for-byte the text the generic dump gives.
_json_str = json.encoder.encode_basestring
_JSON_LITERALS = {True: "true", False: "false", None: "null"}


def _batch_rows() -> int:
    """Queued writes at which a batch is committed: `BATCH_ROWS`, or fewer when backpressure's bound is lower."""
    return min(BATCH_ROWS, MAX_PENDING // 2)


def default_cache_path() -> Path:
    """`$OVERSIGHT_CACHE_DIR/calls.sqlite`, else `~/.cache/oversight/calls.sqlite`."""
    root = os.environ.get("OVERSIGHT_CACHE_DIR") or Path.home() / ".cache" / "oversight"
    return Path(root) / "calls.sqlite"


def call_key(identity: str, messages: list[ChatMessage], config: GenerateConfig) -> str:
    """A stable hex digest of everything that decides a call's output (seed included, via `config`).

    It is the sha256 of the canonical JSON (sorted keys, no spaces, UTF-8) of
    `{"id": identity, "m": [[role, content], ...], "c": config.model_dump(mode="json")}`, written here piece by
    piece because that is several times cheaper than building the dict and dumping it (`legacy_call_key` is the
    generic form; tests check the two agree). The messages go through pydantic-core's JSON writer, which escapes
    exactly as `json.dumps(..., ensure_ascii=False)` does, about 3x faster on a debate's prompts.
    """
    pairs = []
    for m in messages:
        role, content = m.role, m.content
        if type(role) is not str or type(content) is not str:
            return legacy_call_key(identity, messages, config)
        pairs.append((role, content))
    try:
        body = _to_json(pairs)
    except PydanticSerializationError:  # a lone surrogate: the generic form raises as it always did
        return legacy_call_key(identity, messages, config)
    digest = hashlib.sha256(f'{{"c":{_config_json(config)},"id":{_json_str(identity)},"m":'.encode())
    digest.update(body)
    digest.update(b"}")
    return digest.hexdigest()


def legacy_call_key(identity: str, messages: list[ChatMessage], config: GenerateConfig) -> str:
    """`call_key` computed the generic way (a dict through `canonical_json`); the format every cache file uses."""
    payload = {"id": identity, "m": [[m.role, m.content] for m in messages], "c": config.model_dump(mode="json")}
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def _config_json(config: GenerateConfig) -> str:
    """`canonical_json(config.model_dump(mode="json"))`, written directly for the plain field types."""
    c = config.__dict__
    temperature, max_tokens, seed, stop = c["temperature"], c["max_tokens"], c["seed"], c["stop"]
    top = c["top_logprobs"]
    if (
        type(config) is not GenerateConfig
        or config.extra
        or type(temperature) is not float
        or temperature != temperature  # NaN (refused by validation, but model_copy skips it)
        or type(max_tokens) is not int
        or (seed is not None and type(seed) is not int)
        or (top is not None and type(top) is not int)
        or type(stop) is not tuple
        or any(type(s) is not str for s in stop)
        or type(c["logprobs"]) is not bool
    ):
        return canonical_json(config.model_dump(mode="json"))
    return (
        f'{{"extra":{{}},"logprobs":{_JSON_LITERALS[c["logprobs"]]},"max_tokens":{int.__repr__(max_tokens)},'
        f'"seed":{"null" if seed is None else int.__repr__(seed)},"stop":[{",".join(map(_json_str, stop))}],'
        f'"temperature":{float.__repr__(temperature)},"top_logprobs":{"null" if top is None else int.__repr__(top)}}}'
    )


class CallCache:
    """Misses are answered from an in-memory key index (no SQLite call on the event loop); a hit is one indexed
    lookup; writes are queued and committed by a writer thread. Call `flush()` to wait for pending writes,
    `close()` at the end.

    Every key this process puts is a hit from that moment; writes are committed in batches (`BATCH_ROWS`, or
    after `BATCH_SECONDS`), so another process sees them up to that much later, and a crash loses at most those.
    Keys another process commits to the same file while this one is open become hits within `POLL_SECONDS` (the
    writer thread notices the commit through `PRAGMA data_version` and adds the new rows to the index); until
    the index has loaded, misses are looked
    up in the file as before.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0
        self._pending: dict[str, str] = {}  # queued writes (key -> output JSON)
        self._writing: dict[str, str] = {}  # the batch being committed (still answered from here)
        self._first_put = 0.0  # when the oldest queued write was queued
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._closed = False
        self._flushing = False
        self._reader = sqlite3.connect(self.path, check_same_thread=False)
        self._reader.execute("PRAGMA journal_mode=WAL")
        self._reader.execute(_SCHEMA)
        self._reader.commit()
        self._index = KeyIndex()
        self._indexed = False  # until the loader finishes, misses fall back to a SELECT
        self._synced_rowid = 0  # rows up to here are in the index (moved by the writer thread only)
        self._loader = threading.Thread(target=self._load_index, name="oversight-cache-index", daemon=True)
        self._loader.start()
        self._writer = threading.Thread(target=self._write_loop, name="oversight-cache-writer", daemon=True)
        self._writer.start()

    def get(self, key: str) -> ModelOutput | None:
        """The stored output for `key` (marked `cached=True`), counting a hit or a miss."""
        raw = self._pending.get(key)
        if raw is None:
            raw = self._writing.get(key)  # read after `_pending`: the writer moves a batch there before it empties it
        if raw is None:
            if self._indexed and not self._index.might_contain(key):
                self.misses += 1
                return None
            with self._lock:
                row = self._reader.execute("SELECT output FROM calls WHERE key = ?", (key,)).fetchone()
            raw = row[0] if row else None
        if raw is None:
            self.misses += 1
            return None
        self.hits += 1
        out = ModelOutput.model_validate_json(raw)
        out.cached = True
        return out

    def put(self, key: str, output: ModelOutput) -> None:
        raw = _stored_json(output)
        with self._lock:
            if self._closed:
                raise RuntimeError(f"call cache {self.path} is closed")
            self._index.add(key)  # before the write is queued: the key is never absent from both
            first = not self._pending
            self._pending[key] = raw
            if first:
                self._first_put = time.monotonic()  # the batch's clock starts (see `_gather`)
                self._wake.notify()
            elif len(self._pending) == _batch_rows():
                self._wake.notify()
            if len(self._pending) > MAX_PENDING:
                # Backpressure: a busy event loop holds the GIL, so the writer falls behind and the queue (~500 B a
                # write) grew to 100k entries in a 200k-call run. Waiting here frees the GIL until it has caught up.
                deadline = time.monotonic() + 5.0
                while len(self._pending) > MAX_PENDING // 2 and self._writer.is_alive():
                    if time.monotonic() > deadline:
                        break
                    self._wake.notify_all()
                    self._wake.wait(0.01)

    def flush(self) -> None:
        """Block until every queued write is committed."""
        with self._lock:
            self._flushing = True
            while (self._pending or self._writing) and self._writer.is_alive():
                self._wake.notify_all()
                self._wake.wait(0.05)
            self._flushing = False

    def close(self) -> None:
        """Commit queued writes and release the file; `put` raises afterwards."""
        self.flush()
        with self._lock:
            self._closed = True
            self._wake.notify()
        self._writer.join(timeout=5)
        self._loader.join(timeout=5)
        self._reader.close()

    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses}

    def index_bytes(self) -> int:
        """Memory the in-memory key index takes (see `KeyIndex.nbytes`)."""
        return self._index.nbytes()

    def _load_index(self) -> None:
        conn = sqlite3.connect(self.path)
        try:
            conn.execute("BEGIN")  # one snapshot for the top rowid and the keys
            top = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM calls").fetchone()[0]
            keys = conn.execute("SELECT key FROM calls WHERE rowid <= ?", (top,))
            self._index.load(k for (k,) in keys if not self._closed)
            conn.rollback()
        finally:
            conn.close()
        with self._lock:
            self._synced_rowid = top
            self._indexed = not self._closed
            self._wake.notify()  # the writer catches up with rows committed after the snapshot

    def _catch_up(self, conn: sqlite3.Connection) -> None:
        """Add the keys of rows committed since the index last looked (ours are in it already; others' are not)."""
        rows = conn.execute("SELECT rowid, key FROM calls WHERE rowid > ?", (self._synced_rowid,)).fetchall()
        for _, key in rows:
            self._index.add(key)
        if rows:
            self._synced_rowid = max(rowid for rowid, _ in rows)

    def _gather(self) -> None:
        """(Lock held.) Let a batch gather: wait until `_batch_rows()` writes are queued, the oldest is
        `BATCH_SECONDS` old, or a flush or close wants them now."""
        rows = _batch_rows()
        deadline = self._first_put + BATCH_SECONDS
        while self._pending and len(self._pending) < rows and not self._closed and not self._flushing:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._wake.wait(left)

    def _write_loop(self) -> None:
        conn = sqlite3.connect(self.path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across app crashes, one sync per batch
        seen_version: int | None = None  # data_version changes when another connection commits
        json_rows = _has_json(conn)
        try:
            while True:
                with self._lock:
                    if not self._pending and not self._closed:
                        self._wake.wait(POLL_SECONDS)
                    if not self._pending and self._closed:
                        return
                    self._gather()
                    self._writing = self._pending
                    self._pending = {}  # the next batch's clock starts at its first write
                    batch = list(self._writing.items())
                    indexed = self._indexed
                if batch:
                    _insert(conn, batch, json_rows)
                    conn.commit()
                    with self._lock:
                        self._writing = {}
                        self._wake.notify_all()
                    batch = []  # else the idle writer keeps the last batch's outputs alive until its next one
                if indexed:
                    top = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM calls").fetchone()[0]
                    version = conn.execute("PRAGMA data_version").fetchone()[0]
                    if version == seen_version:
                        self._synced_rowid = top  # nobody else committed: every newer row is one of ours
                    else:
                        self._catch_up(conn)
                        seen_version = version
                if self._index.merge_due():  # this process's own keys too, or the recent set grows ~70 B a key
                    self._index.merge()
        finally:
            conn.close()


_CACHED_TAILS = (',"cached":false}', ',"cached":true}')


def _stored_json(output: ModelOutput) -> str:
    """`output.model_dump_json(exclude={"cached"})`: the dump without `cached`, its last field, cut off the end
    (an `exclude` costs more than the dump itself)."""
    if type(output) is ModelOutput:
        raw = output.model_dump_json()
        for tail in _CACHED_TAILS:
            if raw.endswith(tail):
                return raw[: -len(tail)] + "}"
    return output.model_dump_json(exclude={"cached"})


def _has_json(conn: sqlite3.Connection) -> bool:
    """Whether this SQLite has the JSON functions (built in since 3.38; an extension before)."""
    try:
        return conn.execute("SELECT json_extract(value, '$[0]') FROM json_each('[[\"x\"]]')").fetchone() == ("x",)
    except sqlite3.OperationalError:
        return False


def _insert(conn: sqlite3.Connection, batch: list[tuple[str, str]], json_rows: bool) -> None:
    """Insert (or replace) `batch`'s (key, output) rows, all stamped now: in one statement when the JSON functions
    are there and every text survives a JSON round trip through SQLite unchanged (no NUL, which SQLite's JSON
    text ends at; outputs are JSON documents, so none has one), else row by row."""
    now = time.time()
    if json_rows and not any("\x00" in k or "\x00" in v for k, v in batch):
        conn.execute(_INSERT_BATCH, (now, _to_json(batch).decode()))  # half the time json.dumps holds the GIL
    else:
        conn.executemany(_INSERT, [(k, v, now) for k, v in batch])
