"""The episode plans of an experiment, built on demand so that a run's memory does not grow with its episodes.

`PlanSpace` holds what plans share — one block per protocol entry x judge (validated config, roles, judge entry),
the seeds, the tasks' questions — and one compact array of every planned episode id (10 bytes each: an id is 20
hex digits). Indexing or iterating builds each `EpisodePlan` only when it is needed. `IdSet` is the compact set of
ids a resumed run skips, in the same encoding. Plan order: block, then seed, then task, then question.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, overload

import numpy as np
from pydantic import BaseModel

from oversight.counterbalance import balance_ranks
from oversight.experiment.spec import JudgeSpec, ProtocolSpec, RoleSpec, SpecError
from oversight.judge_entry import JudgeEntry
from oversight.protocol_registry import ProtocolEntry
from oversight.types import Question

#: bytes of a packed episode id: `oversight.episode.episode_id` makes 20 hex digits
ID_BYTES = 10
_ID_DTYPE = f"S{ID_BYTES}"


@dataclass(frozen=True, slots=True)
class TaskData:
    """The questions of one task entry and what identifies them (for `spec.json` provenance)."""

    index: int
    questions: list[Question]
    provenance: dict[str, Any]
    name: str = ""


@dataclass(slots=True)
class EpisodePlan:
    """Everything needed to run one episode; `id` is stable across runs of the same spec."""

    id: str
    question: Question
    protocol: ProtocolSpec
    entry: ProtocolEntry
    config: BaseModel
    config_dump: dict[str, Any]
    judge: JudgeSpec | None
    roles: dict[str, RoleSpec]
    seed: int
    task: str = ""  # the task entry's dataset ref
    rank: int | None = None  # the question's rank in its task's seeded shuffle (exact counterbalancing)
    judge_entry: JudgeEntry | None = None  # the judge entry as the judges layer builds it
    index: int = -1  # position in its `PlanSpace` (how the Ray executor names a plan to its workers)


class SizedPlans(Protocol):
    """What the engine runs: plans it pulls one at a time, and how many there are (a `PlanSpace`,
    `PendingPlans`, or a list)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[EpisodePlan]: ...


@dataclass(frozen=True, slots=True)
class PlanBlock:
    """What every plan of one protocol entry x judge shares, and the id inputs besides question and seed."""

    where: str  # "protocols[0]" or "protocols[0] x judges[1]", for error messages
    protocol: ProtocolSpec
    entry: ProtocolEntry
    config: BaseModel
    config_dump: dict[str, Any]
    judge: JudgeSpec | None
    roles: dict[str, RoleSpec]
    judge_entry: JudgeEntry | None
    hashed_config: dict[str, Any]
    role_key: dict[str, str]


def _canon(value: Any) -> str:
    # Exactly `oversight.hashing.stable_hash`'s serialisation, so ids made piecewise equal `episode_id`'s.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


class _IdMaker:
    """`episode_id(experiment, question_id, config, roles, seed)` for one block, hashing the shared head once.

    The id hashes the canonical JSON `{"e":..,"p":..,"q":..,"r":..,"s":..}` (keys sorted); the parts before the
    question id are the same for every plan of a block, so their SHA-256 state is computed once and copied.
    """

    __slots__ = ("_head", "_mid")

    def __init__(self, experiment: str, hashed_config: dict[str, Any], role_key: dict[str, str]) -> None:
        self._head = hashlib.sha256(('{"e":' + _canon(experiment) + ',"p":' + _canon(hashed_config) + ',"q":').encode())
        self._mid = (',"r":' + _canon(role_key) + ',"s":').encode()

    def packed(self, question_json: bytes, seed_json: bytes) -> bytes:
        h = self._head.copy()
        h.update(question_json + self._mid + seed_json + b"}")
        return h.digest()[:ID_BYTES]


def pack_id(episode_id: str) -> bytes | None:
    """The 10-byte form of an episode id; None for a string that is not one (20 lowercase hex digits)."""
    if len(episode_id) != 2 * ID_BYTES:
        return None
    try:
        packed = bytes.fromhex(episode_id)
    except ValueError:
        return None
    return packed if packed.hex() == episode_id else None  # uppercase hex is another id


class IdSet:
    """A compact, sorted set of episode ids (10 bytes each). Strings that are not episode ids are never members."""

    def __init__(self, ids: Iterable[str] = ()) -> None:
        buf = bytearray()
        for eid in ids:
            packed = pack_id(eid)
            if packed is not None:
                buf += packed
        self._ids = np.unique(np.frombuffer(buf, dtype=_ID_DTYPE))  # a sorted copy: `buf` is freed after

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, eid: object) -> bool:
        packed = pack_id(eid) if isinstance(eid, str) else None
        if packed is None or not len(self._ids):
            return False
        i = int(np.searchsorted(self._ids, np.frombuffer(packed, dtype=_ID_DTYPE)[0]))
        return i < len(self._ids) and self._ids[i : i + 1].tobytes() == packed

    def members(self, packed: np.ndarray) -> np.ndarray:
        """A bool array: which of `packed` (ids in the 10-byte form) are in the set."""
        if not len(self._ids):
            return np.zeros(len(packed), dtype=bool)
        # A binary search per id in the sorted set: less scratch memory than np.isin's sort of both arrays.
        at = np.minimum(np.searchsorted(self._ids, packed), len(self._ids) - 1)
        return self._ids[at] == packed


class PlanSpace(Sequence[EpisodePlan]):
    """Every episode plan of an experiment, built on demand (see the module docstring). `len()`, indexing and
    iteration work as on a list of plans; `digest()` is `ids_digest` of all of them."""

    def __init__(
        self, experiment: str, blocks: Sequence[PlanBlock], seeds: Sequence[int], tasks: Sequence[TaskData]
    ) -> None:
        self.blocks = list(blocks)
        self.seeds = list(seeds)
        self.tasks = list(tasks)
        self._questions: list[tuple[TaskData, Question]] = [(t, q) for t in self.tasks for q in t.questions]
        n_q = len(self._questions)
        # Counterbalancing is exact per task and seed: a plan carries its question's rank in a seeded shuffle of
        # its task. 4 bytes per (seed, question), computed once: plans may come seed by seed or question by question.
        self._ranks = np.empty((len(self.seeds), n_q), dtype=np.int32)
        for s_pos, seed in enumerate(self.seeds):
            start = 0
            for task in self.tasks:
                table = balance_ranks([q.id for q in task.questions], seed)
                self._ranks[s_pos, start : start + len(task.questions)] = [table[q.id] for q in task.questions]
                start += len(task.questions)
        buf = bytearray()
        q_json = [_canon(q.id).encode() for _, q in self._questions]
        s_json = [_canon(s).encode() for s in self.seeds]
        for block in self.blocks:
            make = _IdMaker(experiment, block.hashed_config, block.role_key)
            for sj in s_json:
                for qj in q_json:
                    buf += make.packed(qj, sj)
        self.ids = np.frombuffer(bytes(buf), dtype=_ID_DTYPE)  # packed ids, in plan order
        assert len(self.ids) == len(self.blocks) * len(self.seeds) * n_q
        self._check_unique()

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, i: int) -> EpisodePlan: ...

    @overload
    def __getitem__(self, i: slice) -> list[EpisodePlan]: ...

    def __getitem__(self, i: int | slice) -> EpisodePlan | list[EpisodePlan]:
        if isinstance(i, slice):
            return [self.plan(k) for k in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"plan index {i} out of range ({n} plans)")
        return self.plan(i)

    def __iter__(self) -> Iterator[EpisodePlan]:
        return (self.plan(i) for i in range(len(self)))

    def id_at(self, i: int) -> str:
        """The episode id of plan `i`."""
        return self.ids[i : i + 1].tobytes().hex()

    def plan(self, i: int) -> EpisodePlan:
        """Plan `i` (0 <= i < len), built now."""
        n_q, n_s = len(self._questions), len(self.seeds)
        q_pos = i % n_q
        s_pos = (i // n_q) % n_s
        block = self.blocks[i // (n_q * n_s)]
        task, question = self._questions[q_pos]
        seed = self.seeds[s_pos]
        return EpisodePlan(
            self.id_at(i),
            question,
            block.protocol,
            block.entry,
            block.config,
            block.config_dump,
            block.judge,
            block.roles,
            seed,
            task.name,
            int(self._ranks[s_pos, q_pos]),
            block.judge_entry,
            i,
        )

    def pending(self, done: IdSet | None = None, *, grouped: bool = False) -> PendingPlans:
        """The plans whose ids are not in `done`, in plan order, or with `grouped` question by question within
        each protocol entry x judge (a question's seeds one after another, so they run together)."""
        mask = None if done is None or not len(done) else ~done.members(self.ids)
        return PendingPlans(self, mask, grouped=grouped)

    def digest(self) -> str:
        """`ids_digest` of every plan: the order-free hash of all planned ids that `spec.json` records."""
        return sorted_ids_digest(np.sort(self.ids))

    def _check_unique(self) -> None:
        if len(self.ids) < 2:
            return
        order = np.argsort(self.ids, kind="stable")
        same = self.ids[order[1:]] == self.ids[order[:-1]]
        if not same.any():
            return
        k = int(np.flatnonzero(same)[0])
        first, second = sorted((int(order[k]), int(order[k + 1])))
        n_q = len(self._questions)
        question, task2 = self._questions[first % n_q][1], self._questions[second % n_q][0]
        if first % n_q != second % n_q:
            raise SpecError(
                f"tasks[{task2.index}]: question id {question.id!r} occurs twice; question ids must be unique "
                "across the experiment's tasks"
            )
        per_block = n_q * len(self.seeds)
        if first // per_block != second // per_block:  # not possible from a checked spec; said plainly anyway
            a, b = self.blocks[first // per_block].where, self.blocks[second // per_block].where
            raise SpecError(f"{a} and {b} plan the same episodes (same protocol, label, config and judge)")
        seed = self.seeds[(first // n_q) % len(self.seeds)]
        raise SpecError(f"seeds: seed {seed} is listed twice")


class PendingPlans:
    """The plans of a `PlanSpace` still to run: `len()`, iteration in plan order, and `indices()`."""

    def __init__(self, space: PlanSpace, mask: np.ndarray | None, *, grouped: bool = False) -> None:
        self.space = space
        self.grouped = grouped
        self._mask = mask  # True: still to run; None: all of them
        self._n = len(space) if mask is None else int(mask.sum())

    def __len__(self) -> int:
        return self._n

    def indices(self) -> Iterator[int]:
        """Plan indices still to run: ascending, or question by question within each block when `grouped`."""
        if self.grouped:
            yield from self._grouped()
            return
        if self._mask is None:
            yield from range(len(self.space))
            return
        chunk = 1 << 16  # nonzero() of the whole mask would hold 8 bytes per pending plan
        for start in range(0, len(self._mask), chunk):
            for i in np.flatnonzero(self._mask[start : start + chunk]):
                yield start + int(i)

    def __iter__(self) -> Iterator[EpisodePlan]:
        return (self.space.plan(i) for i in self.indices())

    def _grouped(self) -> Iterator[int]:
        space, mask = self.space, self._mask
        n_q, n_s = len(space._questions), len(space.seeds)
        for b in range(len(space.blocks)):
            for q in range(n_q):
                for s in range(n_s):
                    i = (b * n_s + s) * n_q + q
                    if mask is None or mask[i]:
                        yield i


def sorted_ids_digest(packed_sorted: np.ndarray) -> str:
    """`stable_hash(sorted(ids), length=32)` computed from packed ids already sorted, without building the list.

    The canonical JSON of a sorted list of hex ids is `["id1","id2",...]`; packed ids sort in the same order as
    their hex strings (equal length, lowercase digits), so it is hashed chunk by chunk.
    """
    h = hashlib.sha256(b"[")
    chunk = 1 << 14
    width = 2 * ID_BYTES
    for start in range(0, len(packed_sorted), chunk):
        hexed = packed_sorted[start : start + chunk].tobytes().hex()
        part = '","'.join(hexed[k : k + width] for k in range(0, len(hexed), width))
        h.update(((',"' if start else '"') + part + '"').encode())
    h.update(b"]")
    return h.hexdigest()[:32]
