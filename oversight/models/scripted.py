"""`scripted/...`: deterministic outputs from a list, a callable, or a replay file — for tests and replays."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from oversight.hashing import file_sha256, stable_hash
from oversight.models.base import ModelConfigError, Provider, ScriptExhaustedError
from oversight.types import ChatMessage, GenerateConfig, ModelOutput, Usage, trusted_copy

ScriptItem = str | ModelOutput | dict[str, Any]
ScriptFn = Callable[[list[ChatMessage], GenerateConfig], ScriptItem]


class ScriptedProvider(Provider):
    """Exactly one of `outputs` (played in order; `cycle=True` repeats), `fn` (a callable or a `"module:attr"`
    import path, usable from spec files) or `replay` (a JSONL file: lines with `messages` + `output` are
    matched by prompt, lines with only `output`/`text` are played in order). `record_calls=True` keeps every
    prompt in `.calls` for inspection. `delay` (seconds) waits before answering, without blocking the event
    loop, like a hosted API's latency (for benchmarks of I/O-bound runs).
    """

    provider = "scripted"
    free = True

    def __init__(
        self,
        name: str,
        *,
        outputs: Sequence[ScriptItem] | None = None,
        fn: ScriptFn | str | None = None,
        replay: str | Path | None = None,
        cycle: bool = False,
        record_calls: bool = False,
        endpoint: str | None = None,
        delay: float = 0.0,
    ) -> None:
        super().__init__(name, endpoint or f"scripted/{name}")
        given = [x is not None for x in (outputs, fn, replay)]
        if sum(given) > 1:
            raise ModelConfigError(f"scripted/{name}: give only one of outputs, fn, replay")
        if not any(given):  # it could answer nothing: every call would fail
            raise ModelConfigError(f"scripted/{name}: give one of outputs, fn, replay")
        self._fn: ScriptFn | None = _import_fn(fn, name) if isinstance(fn, str) else fn
        self._fn_path = fn if isinstance(fn, str) else None
        self._outputs: list[ScriptItem] = list(outputs or [])
        self._by_prompt: dict[str, ScriptItem] = {}
        self._replay_hash: str | None = None
        if replay is not None:
            self._load_replay(Path(replay))
            self._replay_hash = file_sha256(replay)[:16]
        self._cycle = cycle
        self.cacheable = self._fn_path is not None
        self._next = 0
        if delay < 0:
            raise ModelConfigError(f"scripted/{name}: delay must be >= 0, got {delay}")
        self._delay = delay
        # Opt-in: keeping every prompt would grow without bound over long runs.
        self.calls: list[list[ChatMessage]] | None = [] if record_calls else None

    def cache_identity(self) -> str:
        """What the script is: `fn=` its import path and a hash of its source, `outputs=` a hash of the list, or
        `replay=` a hash of the file. A resumed run compares it (`spec.json` records it).

        Only a `fn` given by import path (`"module:attr"`) is cached (`cacheable`): it is by contract a pure
        function of (messages, config), so its outputs are cached across runs (what resume relies on); outputs
        played in order, callables and replay files are never cached.
        """
        if self._fn is not None:
            where = self._fn_path or f"{getattr(self._fn, '__module__', '?')}.{getattr(self._fn, '__qualname__', '?')}"
            return f"{self.name}#fn={where}@{_source_hash(self._fn)}"
        if self._replay_hash is not None:
            return f"{self.name}#replay={self._replay_hash}" + ("#cycle" if self._cycle else "")
        return f"{self.name}#outputs={self._outputs_hash()}" + ("#cycle" if self._cycle else "")

    def _outputs_hash(self) -> str:
        items = [i.model_dump(mode="json") if isinstance(i, ModelOutput) else i for i in self._outputs]
        return stable_hash(items)

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        start = time.perf_counter()
        if self.calls is not None:
            self.calls.append(messages)
        if self._fn is not None:
            item = self._fn(messages, config)
        elif self._by_prompt and (key := _prompt_key(messages)) in self._by_prompt:
            item = self._by_prompt[key]
        else:
            item = self._take()
        if self._delay:
            await asyncio.sleep(self._delay)
        return _to_output(item, self.name, messages, time.perf_counter() - start)

    def _take(self) -> ScriptItem:
        if not self._outputs:
            raise ScriptExhaustedError("holds no outputs for this prompt", model=self.name)
        if self._next >= len(self._outputs):
            if not self._cycle:
                raise ScriptExhaustedError(
                    f"script exhausted: asked for output #{self._next + 1} but it holds {len(self._outputs)}",
                    model=self.name,
                )
            self._next = 0
        item = self._outputs[self._next]
        self._next += 1
        return item

    def _load_replay(self, path: Path) -> None:
        if not path.is_file():
            raise ModelConfigError(f"replay file not found: {path}", model=self.name)
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                item = row["output"] if "output" in row else row["text"]
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise ModelConfigError(
                    f"{path}:{lineno}: expected a JSON object with 'output' or 'text' ({err})", model=self.name
                ) from None
            if "messages" in row:
                msgs = [ChatMessage.model_validate(m) for m in row["messages"]]
                self._by_prompt[_prompt_key(msgs)] = item
            else:
                self._outputs.append(item)


def _source_hash(fn: Any) -> str:
    """A hash of a script function's source, so an edited script is a different script (the module name when the
    source cannot be read)."""
    try:
        return stable_hash(inspect.getsource(fn), length=12)
    except (OSError, TypeError):
        return stable_hash(repr(getattr(fn, "__code__", fn)), length=12)


def _prompt_key(messages: list[ChatMessage]) -> str:
    return json.dumps([[m.role, m.content] for m in messages])


def _import_fn(path: str, name: str) -> ScriptFn:
    module, _, attr = path.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise ModelConfigError(f"scripted/{name}: cannot import fn {path!r} ({err})") from None


def _to_output(item: ScriptItem, name: str, messages: list[ChatMessage], latency: float) -> ModelOutput:
    if isinstance(item, ModelOutput):
        return trusted_copy(item, {"model": item.model or name, "latency": latency})
    if isinstance(item, dict):
        out = ModelOutput.model_validate({"model": name, "finish_reason": "stop", **item})
        out.latency = latency
        return out
    prompt_words = sum(len(m.content.split()) for m in messages)
    return ModelOutput(
        text=item,
        model=name,
        usage=Usage(input_tokens=prompt_words, output_tokens=len(item.split())),
        latency=latency,
        finish_reason="stop",
    )
