"""Decomposers: an LLM that replies with JSON subquestions (validated with pydantic against a schema the prompt
shows, and that vLLM can enforce), and a programmatic one that replays a task's gold decomposition."""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.llm import LLMAgent
from oversight.episode import Turn
from oversight.models.base import Model
from oversight.tasks.steps import GoldStep
from oversight.transcript import View, make_turn
from oversight.tree import ROOT

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


class Decomposition(BaseModel):
    """What a decomposer replies: the subquestions, each answerable on its own (none: answer directly)."""

    model_config = ConfigDict(extra="forbid")

    subquestions: list[Annotated[str, Field(min_length=1, max_length=300)]] = Field(
        description="simpler questions whose answers together answer the question"
    )


def decomposition_schema(breadth: int) -> dict[str, Any]:
    """The JSON schema of a reply with at most `breadth` subquestions (shown in the prompt; vLLM can enforce it).
    A fresh copy each call (the schema is built once per breadth)."""
    return json.loads(_schema_text(breadth))


@lru_cache(maxsize=64)
def _schema_text(breadth: int) -> str:
    schema = Decomposition.model_json_schema()
    schema["properties"]["subquestions"]["maxItems"] = breadth
    return json.dumps(schema)


def parse_decomposition(text: str) -> tuple[list[str] | None, str | None]:
    """The subquestions in a reply (a JSON object `{"subquestions": [...]}`, possibly in a code fence or after
    other text), or None and what was wrong: no JSON object, invalid JSON, or not matching the schema."""
    fenced = _FENCE.search(text)
    body = fenced.group(1) if fenced else text
    start = body.find("{")
    if start < 0:
        return None, 'no JSON object in the reply (expected {"subquestions": [...]})'
    try:
        data, _ = json.JSONDecoder().raw_decode(body[start:])
    except json.JSONDecodeError as err:
        return None, f"invalid JSON ({err.msg} at character {err.pos + 1})"
    try:
        return Decomposition.model_validate(data).subquestions, None
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the object"
        return None, f"JSON does not match the schema: {where}: {first['msg']}"


def node_seed(view: View, template: str) -> int:
    """A seed per (episode seed, role, node, attempt, template): reproducible and distinct across a tree's calls."""
    node, attempt = view.extra.get("node", ""), view.extra.get("attempt", 0)
    return zlib.crc32(f"{view.seed}|{view.role}|{node}|{attempt}|{template}".encode())


class TreeFields:
    """Template fields shared by the decomposition agents: the shown answers (root only), the question the work
    serves (`goal`, sequential steps), earlier results, what the answer must end with."""

    def tree_fields(self, view: View) -> dict[str, Any]:
        letters = " or ".join(view.letters) if len(view.letters) == 2 else ", ".join(view.letters)
        goal = view.extra.get("goal")
        title = view.extra.get("results_title", "Results so far")
        feedback = view.extra.get("feedback")
        return {
            "choices_section": f"\nAnswers:\n{view.choices_text}\n" if view.choices else "",
            "goal_section": f"This is one step of working out: {goal}\n\n" if goal else "",
            "results_section": f"{title}:\n{view.transcript}\n\n" if view.transcript else "",
            "feedback_section": f"\nYour previous reply was not usable: {feedback}. Reply again.\n" if feedback else "",
            "answer_format": (
                f'End with "Answer: " and one letter ({letters}).'
                if view.choices
                else 'End with "Answer: " and the answer alone (a number, a name or a few words).'
            ),
            "breadth": view.extra.get("breadth", 3),
            "schema": _schema_text(view.extra.get("breadth", 3)),
        }


class LLMDecomposer(TreeFields, LLMAgent):
    """Asks a model for JSON subquestions (prompts `decomposer_system`, `decomposer_split`). With
    `structured_outputs=True` the JSON schema also goes to the backend as vLLM `structured_outputs` (vLLM only:
    other backends reject the option); either way the reply is parsed and validated here."""

    prompt_names = ("decomposer_system", "decomposer_split")

    def __init__(
        self,
        model: Model,
        *,
        prompts: Mapping[str, str] | None = None,
        temperature: float | None = None,
        max_tokens: int = 256,
        structured_outputs: bool = False,
    ) -> None:
        super().__init__(model, prompts=prompts, temperature=temperature, max_tokens=max_tokens)
        self.structured_outputs = structured_outputs

    def fields(self, view: View) -> dict[str, Any]:
        return {**super().fields(view), **self.tree_fields(view)}

    async def decompose(self, view: View) -> Turn:
        """One decomposition attempt: `meta["subquestions"]`, or `meta["valid"] = False` and `meta["error"]`."""
        extra = None
        if self.structured_outputs:
            extra = {"structured_outputs": {"json": decomposition_schema(view.extra.get("breadth", 3))}}
        seed = node_seed(view, "decomposer_split")
        turn = await self.call(
            view, "decomposer_system", "decomposer_split", kind="decomposition", seed=seed, extra=extra
        )
        subquestions, error = parse_decomposition(turn.content)
        if subquestions is None:
            turn.meta.update(valid=False, error=error)
        else:
            turn.meta["subquestions"] = subquestions
        return turn


class GoldDecomposer:
    """Replays a gold decomposition (`oversight.tasks.steps.gold_decomposition`): node `q` gets the root's steps,
    node `q.2` the second step's, and so on; each turn also carries the steps' gold answers (`meta["gold"]`)."""

    identity = "program/gold-decomposer"

    def __init__(self, root: GoldStep) -> None:
        self.steps = index_gold(root)

    async def decompose(self, view: View) -> Turn:
        """The gold subquestions of `view.extra["node"]`; raises KeyError for a node the gold tree does not have."""
        node = view.extra.get("node", ROOT)
        step = self.steps.get(node)
        if step is None:
            raise KeyError(f"node {node!r} is not in the gold decomposition")
        subquestions = [s.question for s in step.steps]
        content = json.dumps({"subquestions": subquestions})
        meta = {"subquestions": subquestions, "gold": [s.answer for s in step.steps]}
        return make_turn(view.role, content, kind="decomposition", round=view.round, meta=meta)


def index_gold(root: GoldStep) -> dict[str, GoldStep]:
    """node id -> gold step, for the node ids a decomposition protocol gives (`q`, `q.1`, `q.1.2`, ...)."""
    out: dict[str, GoldStep] = {}

    def visit(step: GoldStep, node: str) -> None:
        out[node] = step
        for i, child in enumerate(step.steps, 1):
            visit(child, f"{node}.{i}")

    visit(root, ROOT)
    return out


__all__ = [
    "Decomposition",
    "GoldDecomposer",
    "LLMDecomposer",
    "decomposition_schema",
    "index_gold",
    "node_seed",
    "parse_decomposition",
]
