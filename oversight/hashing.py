"""Content hashes the rest of the core builds on: of a JSON-able value (ids, cache keys) and of a file's bytes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

_FILE_HASHES: dict[tuple[str, int, int], str] = {}


def canonical_json(obj: Any) -> str:
    """`obj` as JSON with sorted keys, no spaces and non-ASCII kept as is (values JSON cannot hold via `str`)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def stable_hash(obj: Any, length: int = 16) -> str:
    """A short hex digest of `obj`'s canonical JSON (sorted keys), stable across runs and machines."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:length]


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes (cached per path, size and mtime for this process)."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _FILE_HASHES:
        h = hashlib.sha256()
        with p.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _FILE_HASHES[key] = h.hexdigest()
    return _FILE_HASHES[key]
