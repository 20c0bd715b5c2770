"""Shared by the decomposition tests (and spec files, by import path): scripted roles, a question, test agents.

`play` stands in for every role of the decomposition protocol, keyed on the prompt: the decomposer splits the
question it is given into `n` made-up subquestions named after the node, down to the depth the protocol allows;
the solver answers "Answer: <n>" with the question's number of words; the combiner sums what it was given; the
judge accepts every step except those whose proposed answer is 13.
"""

from __future__ import annotations

import asyncio
import json
import re
import zlib

from oversight.episode import Judgment, Provenance, Turn
from oversight.transcript import Verdict, View, make_turn
from oversight.types import ChatMessage, GenerateConfig, Question

Q = Question(
    id="sum/0",
    text="What is the total number of marbles Zorblat and Quenty own together?",
    choices=["12", "15"],
    answer=0,
    context="Zorblat owns 5 marbles. Quenty owns 7 marbles.",
)


def role_of(messages: list[ChatMessage]) -> str:
    system = messages[0].content
    if system.startswith("You break"):
        return "decomposer"
    if system.startswith("You answer"):
        return "combiner" if "The results above answer parts" in messages[-1].content else "solver"
    return "judge"


def asked(messages: list[ChatMessage]) -> str:
    """The question a decomposer/solver/combiner prompt is about (its last "Question: " line)."""
    return re.findall(r"^Question: (.*)$", messages[-1].content, flags=re.M)[-1]


def play(messages: list[ChatMessage], config: GenerateConfig, n: int = 2, deep: bool = False) -> str:
    role, user = role_of(messages), messages[-1].content
    if role == "decomposer":
        q = asked(messages)
        if q.startswith("Part") and not deep:
            return '{"subquestions": []}'
        tag = zlib.crc32(q.encode())
        return json.dumps({"subquestions": [f"Part {i} of {tag}: how many?" for i in range(1, n + 1)]})
    if role == "solver":
        return f"Working. Answer: {len(asked(messages).split())}"
    if role == "combiner":
        total = sum(int(x) for x in re.findall(r"^\| Answer: (\d+)$", user, flags=re.M))
        return f"Sum {total}. Answer: {'A' if 'Answers:' in user else total}"
    return "Answer: B\nConfidence: 90%" if "Proposed answer: 13" in user else "Answer: A\nConfidence: 90%"


def play_fn(messages: list[ChatMessage], config: GenerateConfig) -> str:
    """`play` by import path (`decomposition_support:play_fn`), for spec files."""
    return play(messages, config)


class LoggingSolver:
    """A programmatic solver and combiner that logs when each call starts and ends, yielding to the event loop in
    between: factored siblings interleave (all start before any ends), sequential ones do not."""

    identity = "program/logging"

    def __init__(self, barrier: asyncio.Barrier | None = None) -> None:
        self.log: list[str] = []
        self.barrier = barrier

    async def solve(self, view: View) -> Turn:
        node = view.extra["node"]
        self.log.append(f"start {node}")
        if self.barrier is not None:
            await asyncio.wait_for(self.barrier.wait(), timeout=10)  # a hang guard only: factored calls meet here
        for _ in range(3):
            await asyncio.sleep(0)
        self.log.append(f"end {node}")
        return make_turn(view.role, f"Answer: {node}")

    async def combine(self, view: View) -> Turn:
        return make_turn(view.role, "Answer: A" if view.choices else "Answer: combined")


class ListDecomposer:
    """Gives the root the replies in turn (the last one repeats): a list of subquestions, a raw model reply (parsed
    as an LLM decomposer would), or an exception to raise. Every other node is answered directly."""

    identity = "program/list"

    def __init__(self, *replies: list[str] | BaseException | str) -> None:
        self.replies = list(replies)
        self.calls: list[View] = []

    async def decompose(self, view: View) -> Turn:
        if view.extra["node"] != "q":
            return make_turn(view.role, "[]", meta={"subquestions": []})
        self.calls.append(view)
        reply = self.replies[min(len(self.calls) - 1, len(self.replies) - 1)]
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, str):
            from agents.decomposer import parse_decomposition

            subs, error = parse_decomposition(reply)
            meta = {"subquestions": subs} if subs is not None else {"valid": False, "error": error}
            return make_turn(view.role, reply, meta=meta)
        return make_turn(view.role, json.dumps(reply), meta={"subquestions": list(reply)})


class GoldJudge:
    """A judge that knows each step's gold answer (by the step's question text) and rejects exactly the wrong
    ones: catches every wrong step, raises no false alarm."""

    identity = "program/gold-judge"

    def __init__(self, gold: dict[str, str]) -> None:
        self.gold = gold

    async def decide(self, view: View) -> Verdict:
        from oversight.tasks.answers import answers_match

        step = view.turns[-1].content
        question = step.split("\n")[0].removeprefix("Question: ")
        proposed = step.split("Proposed answer: ")[-1]
        right = answers_match(proposed, self.gold[question])
        choice = 0 if right else 1  # 0 accepts
        j = Judgment(judge=self.identity, probabilities=[1.0 - choice, float(choice)], choice=choice,
                     method="program", provenance=Provenance(judge=self.identity))  # fmt: skip
        return Verdict(j)

    async def ask(self, view: View) -> Turn:
        return make_turn(view.role, "?", kind="question")
