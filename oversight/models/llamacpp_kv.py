"""Prompt reuse for the embedded llama.cpp model: keep the KV cache of prompts already evaluated and start the
next prompt where it stops matching, from the live context or from a small LRU of saved sequence states.
Several contexts of one model (the provider's `n_parallel`) each keep their own live record and share one LRU:
a sequence state saved by one context loads into any other of the same model.

Reuse is exact by construction. llama.cpp evaluates a prompt in chunks of `n_batch` tokens, and (its server docs
warn) logits are not guaranteed bit-for-bit equal across different batch shapes. So only whole chunks are
reused: positions [0, k * n_batch) whose chunks held the same tokens as the new prompt's chunks. The new prompt's
remaining chunks start on the same boundaries a fresh evaluation uses, so every decode runs the same tokens in
the same shapes on the same cached values: outputs are bit-identical to evaluating from scratch (tested).
"""

from __future__ import annotations

import ctypes
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ReuseStats:
    """Counters over the calls of one loaded model (tokens, seconds, saved states)."""

    calls: int = 0
    prompt_tokens: int = 0
    evaluated_tokens: int = 0  # prompt tokens actually decoded (the rest came from a KV cache)
    reused_live: int = 0  # prompt tokens taken from the live context
    reused_saved: int = 0  # prompt tokens taken from a saved state
    generated_tokens: int = 0
    prompt_seconds: float = 0.0  # decoding the prompt (up to the first sampled token)
    generation_seconds: float = 0.0  # the rest of each call: generating, logprobs, detokenizing
    state_seconds: float = 0.0  # finding the reusable prefix, saving and restoring states
    states_saved: int = 0
    states_loaded: int = 0
    thread_calls: dict[int, int] = field(default_factory=dict)  # thread count -> calls run with it

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "thread_calls": dict(self.thread_calls)}

    def add(self, other: ReuseStats) -> None:
        """Add `other`'s counters to these."""
        for name, value in other.__dict__.items():
            if name == "thread_calls":
                for threads, calls in value.items():
                    self.thread_calls[threads] = self.thread_calls.get(threads, 0) + calls
            else:
                setattr(self, name, getattr(self, name) + value)


@dataclass
class _Saved:
    tokens: tuple[int, ...]  # the exact prefix this state holds (a multiple of the chunk size)
    data: Any  # ctypes buffer from llama_state_seq_get_data (it may hold a few more positions; trimmed on load)
    nbytes: int


class SavedStates:
    """An LRU of saved sequence states within `budget_bytes`, shared by the contexts of one model (thread-safe)."""

    def __init__(self, budget_bytes: int, chunk: int = 0) -> None:
        self.budget_bytes = budget_bytes
        self.chunk = chunk  # the chunk size the states' prefixes are multiples of
        self.saved: OrderedDict[int, _Saved] = OrderedDict()
        self.saved_bytes = 0
        self.lock = threading.Lock()
        self._next_id = 0

    def best(self, tokens: list[int], reusable: Any, floor: int) -> tuple[_Saved | None, int]:
        """The saved state with the most reusable tokens for `tokens` beyond `floor` (marked most recently used)
        and that count; (None, floor) when none beats it."""
        with self.lock:
            best_id, best = None, floor
            for sid, state in self.saved.items():
                n = reusable(tokens, state.tokens)
                if n > best:
                    best_id, best = sid, n
            if best_id is None:
                return None, floor
            state = self.saved.pop(best_id)
            self.saved[best_id] = state  # most recently used
            return state, best

    def add(self, state: _Saved) -> None:
        """Keep `state`, dropping the states it covers and then the least recently used beyond the budget."""
        with self.lock:
            for sid, old in list(self.saved.items()):
                if state.tokens[: len(old.tokens)] == old.tokens:  # the new state covers this one
                    del self.saved[sid]
                    self.saved_bytes -= old.nbytes
            while self.saved and self.saved_bytes + state.nbytes > self.budget_bytes:
                _, old = self.saved.popitem(last=False)
                self.saved_bytes -= old.nbytes
            self._next_id += 1
            self.saved[self._next_id] = state
            self.saved_bytes += state.nbytes

    def clear(self) -> None:
        with self.lock:
            self.saved.clear()
            self.saved_bytes = 0


@dataclass
class PromptCache:
    """What one context holds, and the saved states it may start from (`store`, shared by the contexts of one
    model; its own when not given). Used by that context's worker thread only.

    `budget_bytes` bounds the saved states (least recently used go first); 0 keeps only the live context.
    """

    chunk: int
    budget_bytes: int
    live: list[int] = field(default_factory=list)  # tokens of the live context's exact prefix
    stats: ReuseStats = field(default_factory=ReuseStats)
    store: SavedStates | None = None

    def __post_init__(self) -> None:
        if self.store is None:
            self.store = SavedStates(self.budget_bytes)

    @property
    def saved(self) -> OrderedDict[int, _Saved]:
        assert self.store is not None
        return self.store.saved

    @property
    def saved_bytes(self) -> int:
        assert self.store is not None
        return self.store.saved_bytes

    def forget_live(self) -> None:
        """The context was reset or evaluated another way: nothing in it counts as exact any more."""
        self.live = []

    def reusable(self, tokens: list[int], have: tuple[int, ...] | list[int]) -> int:
        """Tokens of `tokens` that can come from a cache holding `have`: whole common chunks, never all of
        `tokens` (the last prompt token is always decoded, so there are fresh logits to sample from)."""
        n = min(len(have), len(tokens) - 1)
        i = 0
        while i < n and have[i] == tokens[i]:
            i += 1
        return i - i % self.chunk

    def prepare(self, llm: Any, llama_cpp: Any, tokens: list[int]) -> int:
        """Put the longest exact prefix of `tokens` in `llm`'s context; returns its length (0: start fresh)."""
        assert self.store is not None
        state, best = self.store.best(tokens, self.reusable, self.reusable(tokens, self.live))
        if state is not None:
            self._restore(llm, llama_cpp, state)
        if best and not llm._ctx.kv_cache_seq_rm(0, best, -1):
            best = 0  # this model's memory cannot drop a suffix (recurrent models): start over
        if best == 0:
            llm.reset()
        else:
            llm.n_tokens = best
            if state is not None:
                self.stats.reused_saved += best
            else:
                self.stats.reused_live += best
        self.live = tokens[:best]  # until the new prompt is evaluated, only this much is known to be there
        return best

    def after_prompt(self, llm: Any, llama_cpp: Any, tokens: list[int], reused: int) -> None:
        """Record the context right after `tokens` were evaluated; save it when no saved state covers it."""
        exact = len(tokens) - len(tokens) % self.chunk
        self.live = tokens[:exact]
        if self.budget_bytes <= 0 or exact <= reused:
            return  # nothing new beyond what the live context or a saved state already holds
        size = llama_cpp.llama_state_seq_get_size(llm.ctx, 0)
        if size > self.budget_bytes:
            return
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(llm.ctx, buffer, size, 0)
        if written <= 0:
            return
        assert self.store is not None
        self.store.add(_Saved(tuple(self.live), buffer, int(written)))
        self.stats.states_saved += 1

    def _restore(self, llm: Any, llama_cpp: Any, state: _Saved) -> None:
        llm._ctx.kv_cache_clear()
        if llama_cpp.llama_state_seq_set_data(llm.ctx, state.data, state.nbytes, 0) != state.nbytes:
            raise RuntimeError("llama.cpp refused a saved sequence state")
        n = len(state.tokens)
        llm.input_ids[:n] = state.tokens
        llm.n_tokens = n
        self.live = list(state.tokens)
        self.stats.states_loaded += 1

    def clear(self) -> None:
        """Drop every saved state and the live record (e.g. when the model is freed)."""
        assert self.store is not None
        self.store.clear()
        self.live = []
