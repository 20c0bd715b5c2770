"""A compact in-memory set of call-cache keys (about 10 bytes per key), so a cache miss needs no disk read.

Each key is reduced to a 64-bit fingerprint (its first 16 hex digits: keys are sha256 hex digests). The prints
of the keys a file held when it was opened sit in one sorted `uint64` array with a bucket directory over their
top bits (2-4 prints per bucket, so a lookup scans a handful of integers); keys added since sit in a small set
that `merge` folds into the array once it reaches a sixteenth of it. Two keys may share a print, so
`might_contain` can say yes for an absent key (about n / 2**64 of the time) but never no for a present one:
callers confirm a yes against the file, which keeps their answers exact.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections.abc import Iterable
from typing import Any

#: a merge is due when the recent keys reach max(MERGE_MIN, keys in the array / 16)
MERGE_MIN = 4096


def fingerprint(key: str) -> int:
    """The 64-bit fingerprint of `key`: its first 16 hex digits, or a hash of it when those are not hex."""
    try:
        return int(key[:16], 16)
    except ValueError:
        return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


class _Table:
    """Sorted prints plus a directory: the prints of bucket b (their top `bits` bits) are `prints[dir[b]:dir[b+1]]`."""

    __slots__ = ("array", "prints", "directory", "shift")

    def __init__(self, array: Any) -> None:
        import numpy as np

        self.array = array  # sorted, unique uint64
        bits = max(1, (max(len(array), 1) // 2).bit_length())  # about two prints per bucket
        self.shift = 64 - bits
        bounds = np.arange(1 << bits, dtype=np.uint64) << np.uint64(self.shift)
        directory = np.empty((1 << bits) + 1, dtype=np.uint32)  # positions: up to 4G keys
        directory[:-1] = np.searchsorted(array, bounds)
        directory[-1] = len(array)
        # memoryviews index to plain ints in ~30 ns; numpy scalar indexing costs several times that
        self.prints = memoryview(array).cast("B").cast("Q")
        self.directory = memoryview(directory).cast("B").cast("I")

    def __contains__(self, fp: int) -> bool:
        b = fp >> self.shift
        prints = self.prints
        for i in range(self.directory[b], self.directory[b + 1]):
            if prints[i] == fp:
                return True
        return False


class KeyIndex:
    """Fingerprints of known keys. `might_contain` takes no lock; `add`, `load` and `merge` may run on other
    threads (a merge publishes the merged table before it drops the set it merged, and lookups read the sets
    first and the table second, so a print is always found on one side or the other)."""

    def __init__(self) -> None:
        import numpy as np

        self._np: Any = np
        self._table = _Table(np.empty(0, dtype=np.uint64))
        self._sets: tuple[set[int], frozenset[int]] = (set(), frozenset())  # (recent, being merged)
        self._lock = threading.Lock()  # `add` against the start and end of a merge
        self._merge_lock = threading.Lock()  # one rebuild of the table at a time

    def __len__(self) -> int:
        """Prints held (keys sharing a print count once)."""
        recent, merging = self._sets
        return len(self._table.array) + len(merging) + len(recent)

    def add(self, key: str) -> None:
        fp = fingerprint(key)
        with self._lock:
            self._sets[0].add(fp)

    def might_contain(self, key: str) -> bool:
        """False when `key` was never added; True when it was (and, rarely, when another key shares its print)."""
        fp = fingerprint(key)
        recent, merging = self._sets
        return fp in recent or fp in merging or fp in self._table

    def load(self, keys: Iterable[str], chunk: int = 65536) -> None:
        """Add many keys at once (a file's worth) straight into the array, without a per-key set."""
        np = self._np
        parts = [np.empty(0, dtype=np.uint64)]
        buffer: list[int] = []
        for key in keys:
            buffer.append(fingerprint(key))
            if len(buffer) >= chunk:
                parts.append(np.array(buffer, dtype=np.uint64))
                buffer = []
        parts.append(np.array(buffer, dtype=np.uint64))
        loaded = np.unique(np.concatenate(parts))  # sorted, duplicates dropped
        with self._merge_lock:
            self._table = _Table(np.union1d(self._table.array, loaded))

    def merge_due(self) -> bool:
        """True when the recent keys are worth folding into the array."""
        return len(self._sets[0]) >= max(MERGE_MIN, len(self._table.array) // 16)

    def merge(self) -> None:
        """Fold the recent keys into the array: O(n) in the array's size, so run it off the event loop."""
        np = self._np
        with self._merge_lock:
            with self._lock:
                merging = frozenset(self._sets[0])
                if not merging:
                    return
                self._sets = (set(), merging)
            self._table = _Table(np.union1d(self._table.array, np.fromiter(merging, np.uint64, len(merging))))
            with self._lock:
                self._sets = (self._sets[0], frozenset())

    def nbytes(self) -> int:
        """Memory the prints take: array, directory, and the recent set's table and ints (approximate)."""
        table = self._table
        recent, merging = self._sets
        sets = sum(sys.getsizeof(s) + len(s) * 32 for s in (recent, merging))
        return table.prints.nbytes + table.directory.nbytes + sets
