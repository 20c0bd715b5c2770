"""Shared by the experiment tests (and their subprocesses, via PYTHONPATH): a tiny protocol and pure scripts.

`ECHO` asks the judge `rounds` times and reads "Answer: X" from the last reply. `pure_judge` is a pure function
of the prompt (cache-stable by import path); it logs each backend call to `$OVERSIGHT_TEST_CALL_LOG` and sleeps
`$OVERSIGHT_TEST_SLEEP` seconds, so a test can count calls and land a SIGKILL mid-run.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from oversight.episode import Judgment, Outcome, ProtocolResult, Turn
from oversight.protocol_registry import EpisodeSetup, ProtocolEntry
from oversight.types import ChatMessage, GenerateConfig, Question

LETTERS = "ABCDEFGH"


class EchoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rounds: int = Field(default=1, ge=1)
    fail_on: list[str] = Field(default_factory=list)  # question ids whose episodes raise
    max_tokens: int | None = None  # when set, the protocol passes GenerateConfig(max_tokens=...) explicitly


async def run_echo(setup: EpisodeSetup) -> Outcome:
    question, config = setup.question, setup.config_as(EchoConfig)
    judge = setup.model("judge")
    turns: list[Turn] = []
    history = [
        ChatMessage(role="system", content="Answer with 'Answer: X'."),
        ChatMessage(role="user", content=question.text + "\n" + " | ".join(question.choices)),
    ]
    cfg = GenerateConfig(max_tokens=config.max_tokens) if config.max_tokens else None
    for rnd in range(config.rounds):
        seen = list(history)
        out = await judge.generate(seen, cfg)  # type: ignore[arg-type]
        turns.append(Turn(role="judge", content=out.text, round=rnd, seen=seen, usage=out.usage, cached=out.cached))
        history.append(ChatMessage(role="assistant", content=out.text))
        history.append(ChatMessage(role="user", content=f"Round {rnd + 1}: are you sure?"))
    if question.id in config.fail_on:
        raise RuntimeError(f"boom on {question.id}")
    text = turns[-1].content
    letter = text.split("Answer:")[-1].strip()[:1] if "Answer:" in text else ""
    choice = LETTERS.index(letter) if letter and letter in LETTERS[: len(question.choices)] else None
    judgment = Judgment(judge=judge.name, choice=choice, valid=choice is not None, rationale=text)
    return Outcome(question, turns, [judgment], ProtocolResult())


ECHO = ProtocolEntry(name="echo", config=EchoConfig, roles=("judge",), run=run_echo)


class DuoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


async def run_duo(setup: EpisodeSetup) -> Outcome:
    """A debater speaks, then the judge answers: exercises two roles."""
    question = setup.question
    msgs = [ChatMessage(role="user", content=question.text)]
    speech = await setup.model("debater").generate(msgs)
    out = await setup.model("judge").generate(msgs + [ChatMessage(role="assistant", content=speech.text)])
    letter = out.text.split("Answer:")[-1].strip()[:1]
    choice = LETTERS.index(letter) if letter in LETTERS[: len(question.choices)] else None
    turns = [Turn(role="debater", content=speech.text), Turn(role="judge", content=out.text)]
    return Outcome(question, turns, [Judgment(judge="j", choice=choice, valid=choice is not None)], ProtocolResult())


DUO = ProtocolEntry(name="duo", config=DuoConfig, roles=("debater", "judge"), run=run_duo)


def pure_judge(messages: list[ChatMessage], config: GenerateConfig) -> str:
    """'Answer: X [p=DIGEST]' with X from a hash of prompt and seed; logs the call and may sleep (see module doc)."""
    blob = json.dumps([[m.role, m.content] for m in messages]) + f"|{config.seed}|{config.temperature}"
    digest = hashlib.sha256(blob.encode()).hexdigest()[:16]
    log = os.environ.get("OVERSIGHT_TEST_CALL_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{os.environ.get('OVERSIGHT_TEST_PHASE', '')} {digest}\n")
    delay = float(os.environ.get("OVERSIGHT_TEST_SLEEP", "0") or 0)
    if delay:
        time.sleep(delay)
    letter = "AB"[int(digest[0], 16) % 2]
    return f"Answer: {letter} [p={digest}]"


def write_questions(path: Path, n: int, *, choices: int = 2) -> Path:
    """Write `n` simple questions as JSONL to `path`; returns `path`."""
    with path.open("w") as f:
        for i in range(n):
            q = Question(
                id=f"q{i:05d}",
                text=f"Question number {i}?",
                choices=[f"option {c}" for c in range(choices)],
                answer=i % choices,
            )
            f.write(q.model_dump_json() + "\n")
    return path


def spec_toml(
    data: Path,
    *,
    name: str = "t",
    rounds: int = 1,
    seeds: str = "[0]",
    concurrency: int = 4,
    extra: str = "",
    protocol_extra: str = "",
) -> str:
    """A spec using the ECHO protocol by import path and the pure judge by import path."""
    return f"""
name = "{name}"
seeds = {seeds}
concurrency = {concurrency}
{extra}

[[tasks]]
dataset = "{data}"

[[protocols]]
name = "experiment_helpers:ECHO"
rounds = {rounds}
{protocol_extra}

[[judges]]
name = "pure"
model = "scripted/pure"
options = {{ fn = "experiment_helpers:pure_judge" }}
"""


def always_b(messages: list[ChatMessage], config: GenerateConfig) -> str:
    """A judge that always answers B (a node-specific script in the Ray tests)."""
    return "Answer: B"


def flaky_judge(messages: list[ChatMessage], config: GenerateConfig) -> str:
    """`pure_judge`, except that it raises for questions named in `$OVERSIGHT_TEST_FAIL` (comma-separated texts such
    as "Question number 3?"), so a test can make episodes error in one session and succeed in the next."""
    failing = [t for t in os.environ.get("OVERSIGHT_TEST_FAIL", "").split(",") if t]
    if any(t in m.content for t in failing for m in messages):
        raise RuntimeError("flaky judge failed")
    return pure_judge(messages, config)
