"""Training data for a market-making market: (question, arguments, the judge's final distribution) as chat
fine-tuning JSONL (`oversight export market RUN_DIR`).

Each example is one point p_t of an episode's trajectory: the messages the market was sent for it (for a simulated
market, the messages an `LLMMarket` would have been sent for the same view) and, as the assistant's reply, the
judge's final distribution p* in the market's reply format (`agents.market.format_distribution`). That is
Hubinger's objective: every p_t is trained toward p*. A model fine-tuned on these lines replies in the format
`LLMMarket` reads, so it plugs back in by model string (`roles.market = { model = "vllm/<name>" }`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from agents.market import LLMMarket, format_distribution, read_distribution
from oversight.episode import Episode, JudgeView, Turn
from oversight.judge_view import rebuild_transcript
from oversight.transcript import LETTERS
from oversight.types import ChatMessage, GenerateConfig, ModelOutput

STEPS = ("all", "final")


class _PromptOnly:
    """A model that is never called: it lets an `LLMMarket` render its prompt for a view."""

    name = "prompt-only"

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        raise RuntimeError("the export only renders the market's prompt; it calls no model")


_RENDERER = LLMMarket(_PromptOnly())  # type: ignore[arg-type]


def _trajectory_turns(ep: Episode) -> list[Turn]:
    return [t for t in ep.turns if t.kind == "prediction" and t.meta.get("trajectory")]


def _messages(ep: Episode, turn: Turn, question: str, order: list[int]) -> list[dict[str, str]]:
    """What the market was sent for `turn`, else (a simulated market) what an LLM market would be sent."""
    if turn.seen:
        return [{"role": m.role, "content": m.content} for m in turn.seen]
    record = JudgeView(role="market", task="predict", round=turn.round, seed=ep.seed, order=order,
                       turns=list(turn.meta.get("saw") or []), question=question)  # fmt: skip
    _, view = rebuild_transcript(ep, record)
    return [{"role": m.role, "content": m.content} for m in _RENDERER.messages(view)]


def market_examples(episodes: Iterable[Episode], options: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """One chat example per trajectory point of every usable episode (`options["steps"] = "final"`: the last
    point only), as `{"messages": [system, user, assistant]}`; with `options["meta"]` also `"metadata"` (episode,
    question, step, the target distribution over the choices, the judge). Episodes that errored or whose final
    judgment is invalid, pending or without probabilities are skipped. Raises ValueError for unknown options."""
    steps = options.get("steps", "all")
    if steps not in STEPS:
        raise ValueError(f"steps: expected one of {', '.join(STEPS)}, got {steps!r}")
    unknown = set(options) - {"steps", "meta"}
    if unknown:
        raise ValueError(f"unknown export option(s): {', '.join(sorted(unknown))} (known: steps, meta)")
    for ep in episodes:
        final = ep.final
        if ep.error or final is None or not final.valid or final.pending or not final.probabilities:
            continue
        order = list(ep.meta.get("order_shown") or range(len(ep.choices)))
        letters = LETTERS[: len(order)]
        target = [final.probabilities[i] for i in order]
        question = final.view.question if final.view is not None else ""
        points = _trajectory_turns(ep)
        if steps == "final":
            points = points[-1:]
        for turn in points:
            row: dict[str, Any] = {
                "messages": [
                    *_messages(ep, turn, question, order),
                    {"role": "assistant", "content": format_distribution(target, letters)},
                ]
            }
            if options.get("meta"):
                row["metadata"] = {
                    "episode": ep.id,
                    "question": ep.question_id,
                    "step": turn.meta.get("step"),
                    "label": ep.meta.get("label", ep.protocol),
                    "choices": list(ep.choices),
                    "order_shown": order,
                    "target": list(final.probabilities),
                    "judge": final.judge,
                }
            yield row


def read_examples(path: str | Path) -> list[tuple[list[ChatMessage], list[float]]]:
    """The examples of a market training file: each line's prompt messages and its target distribution (by
    letter, as the assistant's reply states it). Raises ValueError naming the file and line of a line that is not
    such an example."""
    path = Path(path)
    out = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            messages = [ChatMessage.model_validate(m) for m in json.loads(line)["messages"]]
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path}:{lineno}: not a chat example ({str(err).splitlines()[0]})") from None
        if len(messages) < 2 or messages[-1].role != "assistant":
            raise ValueError(f"{path}:{lineno}: the last message must be the assistant's reply")
        reply = messages[-1].content
        letters = "".join(c for c in LETTERS if f"{c}: " in reply.split("\n", 1)[-1])
        target = read_distribution(reply, letters) if letters else None
        if target is None:
            raise ValueError(f"{path}:{lineno}: the assistant's reply states no distribution: {reply[:80]!r}")
        out.append((messages[:-1], target))
    return out


__all__ = ["STEPS", "market_examples", "read_examples"]
