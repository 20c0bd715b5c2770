"""The call cache as it was before the key index (commit 165787c), kept verbatim for bench_cache.py's before/after."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

from oversight.hashing import stable_hash
from oversight.types import ChatMessage, GenerateConfig, ModelOutput

_BATCH_SECONDS = 0.05
_SCHEMA = "CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, output TEXT NOT NULL, created REAL NOT NULL)"


def default_cache_path() -> Path:
    """`$OVERSIGHT_CACHE_DIR/calls.sqlite`, else `~/.cache/oversight/calls.sqlite`."""
    root = os.environ.get("OVERSIGHT_CACHE_DIR") or Path.home() / ".cache" / "oversight"
    return Path(root) / "calls.sqlite"


def call_key(identity: str, messages: list[ChatMessage], config: GenerateConfig) -> str:
    """A stable hex digest of everything that decides a call's output (seed included, via `config`)."""
    payload = {
        "id": identity,
        "m": [[m.role, m.content] for m in messages],
        "c": config.model_dump(mode="json"),
    }
    return stable_hash(payload, length=64)


class CallCache:
    """Reads are synchronous (one indexed lookup); writes are queued and committed by a writer thread, so no
    disk write happens on the event loop. Call `flush()` to wait for pending writes, `close()` at the end.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0
        self._pending: dict[str, str] = {}
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._closed = False
        self._flushing = False
        self._reader = sqlite3.connect(self.path, check_same_thread=False)
        self._reader.execute("PRAGMA journal_mode=WAL")
        self._reader.execute(_SCHEMA)
        self._reader.commit()
        self._writer = threading.Thread(target=self._write_loop, name="oversight-cache-writer", daemon=True)
        self._writer.start()

    def get(self, key: str) -> ModelOutput | None:
        """The stored output for `key` (marked `cached=True`), counting a hit or a miss."""
        with self._lock:
            raw = self._pending.get(key)
            if raw is None:
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
        raw = output.model_dump_json(exclude={"cached"})
        with self._lock:
            if self._closed:
                raise RuntimeError(f"call cache {self.path} is closed")
            first = not self._pending
            self._pending[key] = raw
            if first:
                self._wake.notify()

    def flush(self) -> None:
        """Block until every queued write is committed."""
        with self._lock:
            self._flushing = True
            while self._pending and self._writer.is_alive():
                self._wake.notify_all()
                self._wake.wait(0.05)
            self._flushing = False

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._closed = True
            self._wake.notify()
        self._writer.join(timeout=5)
        self._reader.close()

    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses}

    def _write_loop(self) -> None:
        conn = sqlite3.connect(self.path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across app crashes, one sync per batch
        try:
            while True:
                with self._lock:
                    while not self._pending and not self._closed:
                        self._wake.wait()
                    if not self._pending and self._closed:
                        return
                    # Let a batch gather instead of waking (and taking the GIL) once per call.
                    if not self._closed and not self._flushing:
                        self._wake.wait(_BATCH_SECONDS)
                    batch = list(self._pending.items())
                conn.executemany(
                    "INSERT OR REPLACE INTO calls (key, output, created) VALUES (?, ?, ?)",
                    [(k, v, time.time()) for k, v in batch],
                )
                conn.commit()
                with self._lock:
                    for k, v in batch:
                        if self._pending.get(k) == v:
                            del self._pending[k]
                    self._wake.notify_all()
        finally:
            conn.close()
