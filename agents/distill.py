"""Distillation for language-model students: a `ChatStudent` that answers queries through any `oversight.models`
model, export of amplified examples as chat fine-tuning JSONL (and reading it back), an in-context distiller
(few-shot memory: an approximation, no weights change), and a hook that runs an external fine-tuning command
and loads the model it names.

Queries reach text through a `TextCodec` (every `agents.algorithmic` task is one): `prompt(query)` is the user
message, `format(answer)` the assistant reply a student should give, `parse(reply)` reads a reply back.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from oversight.ida.interfaces import Example
from oversight.models import Model, get_model
from oversight.types import ChatMessage, GenerateConfig

_CONFIG = GenerateConfig(temperature=0.0, max_tokens=16)


class TextCodec(Protocol):
    """How a query and its answer are written for a language model."""

    def prompt(self, query: Any) -> str: ...

    def parse(self, text: str) -> Any: ...

    def format(self, answer: Any) -> str: ...


class ChatStudent:
    """A language-model student: each query becomes `[system?, *shots, user prompt]` (shots are user/assistant
    pairs from a few-shot memory) and the reply is parsed by `codec` (None when unusable).

    `spec` is the model string it was made from (what an external fine-tuning command starts from)."""

    def __init__(
        self,
        model: Model,
        codec: TextCodec,
        *,
        spec: str = "",
        system: str | None = None,
        shots: Sequence[Example] = (),
        config: GenerateConfig = _CONFIG,
        identity: str | None = None,
    ) -> None:
        self.model, self.codec, self.spec, self.system = model, codec, spec, system
        self.shots = list(shots)
        self.config = config
        self.identity = identity or f"chat/{spec or getattr(model, 'name', 'model')}"

    def messages(self, query: Any) -> list[ChatMessage]:
        """The exact prompt sent for `query`."""
        out = [ChatMessage(role="system", content=self.system)] if self.system else []
        for shot in self.shots:
            out.append(ChatMessage(role="user", content=self.codec.prompt(shot.query)))
            out.append(ChatMessage(role="assistant", content=self.codec.format(shot.target)))
        out.append(ChatMessage(role="user", content=self.codec.prompt(query)))
        return out

    async def answer(self, queries: Sequence[Any]) -> list[Any]:
        """One parsed answer per query (the model's concurrency limit applies)."""
        outs = await asyncio.gather(*(self.model.generate(self.messages(q), self.config) for q in queries))
        return [self.codec.parse(o.text) for o in outs]


# -- chat fine-tuning JSONL ---------------------------------------------------------------------------------------


def chat_record(example: Example, codec: TextCodec, system: str | None = None) -> dict[str, Any]:
    """One fine-tuning line: `{"messages": [system?, user prompt, assistant target]}` (the OpenAI chat format)."""
    msgs = [{"role": "system", "content": system}] if system else []
    msgs.append({"role": "user", "content": codec.prompt(example.query)})
    msgs.append({"role": "assistant", "content": codec.format(example.target)})
    return {"messages": msgs}


def write_chat_jsonl(
    examples: Sequence[Example], path: str | Path, codec: TextCodec, *, system: str | None = None
) -> Path:
    """Write `examples` as chat fine-tuning JSONL at `path` (parents created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for ex in examples:
            # ASCII escapes: a raw U+2028 in a line would split it for readers that use str.splitlines()
            fh.write(json.dumps(chat_record(ex, codec, system)) + "\n")
    return path


def read_chat_jsonl(path: str | Path) -> list[list[ChatMessage]]:
    """The conversations of a chat fine-tuning JSONL file. Raises ValueError naming the file, line and field for
    a line that is not a JSON object with a non-empty `messages` list of `{role, content}` objects."""
    path = Path(path)
    out: list[list[ChatMessage]] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):  # JSONL lines end in \n only
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{where}: not JSON ({err.msg})") from None
        msgs = row.get("messages") if isinstance(row, dict) else None
        if not isinstance(msgs, list) or not msgs:
            raise ValueError(f"{where}: field 'messages' must be a non-empty list")
        conv = []
        for i, m in enumerate(msgs):
            if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
                raise ValueError(f"{where}: messages[{i}].role must be system, user or assistant")
            if not isinstance(m.get("content"), str):
                raise ValueError(f"{where}: messages[{i}].content must be a string")
            conv.append(ChatMessage(role=m["role"], content=m["content"]))
        out.append(conv)
    return out


# -- distillers ---------------------------------------------------------------------------------------------------


class InContextDistiller:
    """An APPROXIMATION of distillation: M_{k+1} is the same model with `shots` amplified examples of iteration k
    in its prompt (a seeded sample). No weights change, so capacity does not grow the way training would make
    it; use it to wire IDA to a language model without a fine-tuning stack, not to measure distillation."""

    def __init__(self, codec: TextCodec, *, shots: int = 4, seed: int = 0, name: str = "in-context") -> None:
        if shots < 1:
            raise ValueError(f"shots: must be >= 1, got {shots}")
        self.codec, self.shots, self.seed, self.name = codec, shots, seed, name

    async def distil(self, examples: Sequence[Example], student: ChatStudent, iteration: int) -> ChatStudent:
        """`student`'s model with a fresh few-shot memory drawn from `examples`."""
        if not examples:
            raise ValueError("no examples to put in context")
        rng = random.Random(f"{self.seed}/{iteration}")
        memory = rng.sample(list(examples), min(self.shots, len(examples)))
        return ChatStudent(
            student.model,
            self.codec,
            spec=student.spec,
            system=student.system,
            shots=memory,
            config=student.config,
            identity=f"{student.identity.split('+')[0]}+{self.name}{self.shots}@it{iteration}",
        )


class ExternalFineTune:
    """Distillation by an external command: writes the examples as chat JSONL, runs `argv` with the placeholders
    `{data}` (that file), `{base}` (the current student's model string), `{iteration}` and `{workdir}` filled in
    (write a literal brace as `{{` or `}}`), and loads the model named on the last line the command prints: a
    model string, or a JSON object `{"model": "...", "options": {...}}` whose options go to `get_model`.

    Raises RuntimeError (with the command's exit code and last stderr lines) when it fails, prints nothing or
    runs longer than `timeout` seconds."""

    def __init__(
        self,
        argv: Sequence[str],
        codec: TextCodec,
        workdir: str | Path,
        *,
        timeout: float = 3600.0,
        system: str | None = None,
        name: str = "external",
    ) -> None:
        if not argv:
            raise ValueError("argv: give the fine-tuning command and its arguments")
        self.argv, self.codec, self.workdir = list(argv), codec, Path(workdir)
        self.timeout, self.system, self.name = timeout, system, name
        self.commands: list[list[str]] = []  # every command line run, for the record

    async def distil(self, examples: Sequence[Example], student: ChatStudent, iteration: int) -> ChatStudent:
        """The model the command produced from `examples`, as a ChatStudent."""
        data = write_chat_jsonl(examples, self.workdir / f"iteration-{iteration}.jsonl", self.codec, system=self.system)
        fill = {"data": str(data), "base": student.spec, "iteration": str(iteration), "workdir": str(self.workdir)}
        try:
            argv = [part.format(**fill) for part in self.argv]
        except (KeyError, IndexError) as err:
            raise ValueError(f"argv: unknown placeholder {err} (known: data, base, iteration, workdir)") from None
        self.commands.append(argv)
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=self.workdir
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise RuntimeError(f"{argv[0]}: still running after {self.timeout:g} s; killed") from None
        if proc.returncode != 0:
            tail = "\n".join(err.decode(errors="replace").strip().splitlines()[-5:])
            raise RuntimeError(f"{argv[0]} exited with {proc.returncode}: {tail}")
        lines = [line for line in out.decode(errors="replace").splitlines() if line.strip()]
        if not lines:
            raise RuntimeError(f"{argv[0]} printed no model string on stdout")
        spec, options = _model_line(lines[-1].strip(), argv[0])
        return ChatStudent(
            get_model(spec, **options),
            self.codec,
            spec=spec,
            system=student.system,
            config=student.config,
            identity=f"chat/{spec}@it{iteration}",
        )


def _model_line(line: str, command: str) -> tuple[str, dict[str, Any]]:
    if not line.startswith("{"):
        return line, {}
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        raise RuntimeError(f"{command}: last stdout line is not valid JSON ({err.msg}): {line[:200]}") from None
    if not isinstance(row, dict) or not isinstance(row.get("model"), str):
        raise RuntimeError(f"{command}: last stdout line needs a string field 'model': {line[:200]}")
    options = row.get("options", {})
    if not isinstance(options, dict):
        raise RuntimeError(f"{command}: field 'options' must be an object: {line[:200]}")
    return row["model"], options
