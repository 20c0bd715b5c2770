"""An exclusive lock on a run directory for the life of the run that writes it, so two processes never append to
one `episodes.jsonl` (duplicate episodes, intervals that look narrower than they are).

The lock is `flock` on `<run dir>/lock`, held by an open file: the kernel releases it when the process ends, even
by SIGKILL, so a crashed run never leaves a stale lock. The file holds the holder's PID, host and start time, for
the message another process gets. `flock` is advisory and local to one machine (it may not hold across NFS
clients): every writer in this package takes it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from oversight.store import StoreError

LOCK_FILE = "lock"


class RunLockedError(StoreError):
    """Another process holds the run directory's lock; the message names its PID."""

    def __init__(self, run_dir: Path, holder: dict[str, Any]) -> None:
        pid = holder.get("pid", "?")
        host = holder.get("host")
        since = holder.get("since")
        who = f"PID {pid}" + (f" on {host}" if host and host != socket.gethostname() else "")
        super().__init__(
            f"{run_dir}: another oversight process ({who}{', since ' + since if since else ''}) is running this "
            f"run; wait for it to finish or stop it (kill {pid}), then resume"
        )
        self.run_dir = run_dir
        self.holder = holder


class RunLock:
    """The exclusive lock of one run directory. Use `RunLock.acquire(run_dir)` and `release()` (or `with`)."""

    def __init__(self, run_dir: Path, handle: IO[str]) -> None:
        self.run_dir = run_dir
        self._handle: IO[str] | None = handle

    @classmethod
    def acquire(cls, run_dir: str | Path) -> RunLock:
        """Take the lock of `run_dir` (created if missing) without waiting; raises `RunLockedError` naming the
        holder when another process has it."""
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        handle = (run_dir / LOCK_FILE).open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(handle)
            handle.close()
            raise RunLockedError(run_dir, holder) from None
        except BaseException:
            handle.close()
            raise
        handle.seek(0)
        handle.truncate()
        since = datetime.now(UTC).isoformat(timespec="seconds")
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": since}) + "\n")
        handle.flush()
        return cls(run_dir, handle)

    @property
    def held(self) -> bool:
        return self._handle is not None

    def release(self) -> None:
        """Give the lock up (the file stays, naming its last holder); safe to call twice."""
        if self._handle is not None:
            try:
                fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            finally:
                self._handle.close()
                self._handle = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(handle: IO[str]) -> dict[str, Any]:
    try:
        handle.seek(0)
        data = json.loads(handle.read() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


__all__ = ["LOCK_FILE", "RunLock", "RunLockedError"]
