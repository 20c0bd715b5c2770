"""Gold decompositions: the steps of a question with the answer each step should get, where a task has them.

- GSM8K: each line of the worked solution (`meta["solution"]`) that computes a number (`<<48/2=24>>`) is a step,
  asked as the sentence with the result blanked ("Natalia sold 48/2 = ? clips in May.").
- The IDA generators (`oversight.tasks.generators.ida`): steps derived from the instance — permutation powering
  applies sigma one more time per step, sequential assignments trace the chain of copies back to a constant,
  union-find grows the set of nodes reachable from x link by link, shortest path walks the shortest route.
- FanOutQA (`meta["decomposition"]`, see `oversight.tasks.fanoutqa`): its human-written subquestions, nested.

Every step is a self-contained question; the root's answer is the question's gold answer. A decomposition
protocol can replay these steps (its `gold` decomposer) and score each step's answer against them.
"""

from __future__ import annotations

import heapq
import re
from typing import Any

from pydantic import BaseModel, Field

from oversight.types import Question


class GoldStep(BaseModel):
    """A question, the answer it should get, and the steps it splits into (empty: answered directly)."""

    question: str
    answer: str
    steps: list[GoldStep] = Field(default_factory=list)

    def count(self) -> int:
        """Steps below this one, all levels."""
        return sum(1 + s.count() for s in self.steps)


def gold_answer(q: Question) -> str | None:
    """The question's gold answer as text: its correct choice, else its first listed answer or numeric value."""
    if q.choices and q.answer is not None:
        return q.choices[q.answer]
    if q.meta.get("answers"):
        return str(q.meta["answers"][0])
    if "numeric" in q.meta:
        return _fmt(q.meta["numeric"])
    return None


def gold_decomposition(q: Question) -> GoldStep | None:
    """The gold steps of `q` (GSM8K, the IDA generators, FanOutQA), or None when its task has none."""
    answer = gold_answer(q)
    if answer is None:
        return None
    if q.meta.get("ida_task") in _IDA:
        steps = _IDA[q.meta["ida_task"]](q.meta["instance"])
    elif isinstance(q.meta.get("decomposition"), list):
        steps = [_fanout_step(d) for d in q.meta["decomposition"]]
    elif isinstance(q.meta.get("solution"), str):
        steps = gsm8k_steps(q.meta["solution"])
    else:
        return None
    return GoldStep(question=q.text, answer=answer, steps=steps)


# -- GSM8K --------------------------------------------------------------------------------------------------------

#: a calculator annotation and the result written after it: "48/2 = <<48/2=24>>24"
_CALC = re.compile(r"<<([^<>=]*)=([^<>]*)>>([-$\d.,]*\d)?")


def gsm8k_steps(solution: str) -> list[GoldStep]:
    """One step per line of a GSM8K worked solution that computes a number: the line with its last result blanked
    ("?") and the other annotations removed; the answer is that result. Lines without a calculation are skipped."""
    steps = []
    for line in solution.splitlines():
        marks = list(_CALC.finditer(line))
        if not marks:
            continue
        last = marks[-1]
        value = last.group(2).strip().rstrip(".")
        if not value:
            continue
        text = line[: last.start()] + "?" + line[last.end() :]
        text = _CALC.sub(lambda m: m.group(3) or m.group(2).strip(), text).strip()
        steps.append(GoldStep(question=f"Fill in the ?: {text}", answer=_fmt_text(value)))
    return steps


# -- IDA generators -----------------------------------------------------------------------------------------------


def _permutation_steps(inst: dict[str, Any]) -> list[GoldStep]:
    """sigma applied j times to x, for j = 1..k-1 (the last application is the question itself)."""
    perm, k, x = inst["perm"], inst["k"], inst["x"]
    steps, y = [], x
    for j in range(1, k):
        y = perm[y]
        times = "once" if j == 1 else f"{j} times"
        steps.append(GoldStep(question=f"Where does sigma applied {times} send {x}?", answer=str(y)))
    return steps


def _assignment_steps(inst: dict[str, Any]) -> list[GoldStep]:
    """The chain of copies behind the asked variable, from the constant at its end up to the last copy."""
    program, var = inst["program"], inst["asked"]
    chain: list[tuple[str, int]] = []
    end = len(program)
    while True:
        line = max(i for i in range(end) if program[i].split("=")[0].strip() == var)
        rhs = program[line].split("=", 1)[1].strip()
        chain.append((var, line))
        if rhs.lstrip("-").isdigit():
            value = rhs
            break
        var, end = rhs, line
    # chain[0] is the asked variable itself (the question); its sources are the steps, innermost first
    return [GoldStep(question=f"What is the value of {v} after line {i}?", answer=value) for v, i in chain[:0:-1]]


def _reachable_steps(inst: dict[str, Any]) -> list[GoldStep]:
    """The nodes within 1, 2, ... links of x, until y is among them or nothing new is reached."""
    x, y = inst["x"], inst["y"]
    adj: dict[int, set[int]] = {v: set() for v in range(inst["nodes"])}
    for u, v, *_ in inst["edges"]:
        adj[u].add(v)
        adj[v].add(u)
    seen, frontier, steps, hops = {x}, {x}, [], 0
    while frontier and y not in seen:
        hops += 1
        frontier = {v for u in frontier for v in adj[u]} - seen
        if not frontier:
            break
        seen |= frontier
        links = "1 link" if hops == 1 else f"{hops} links"
        listing = ", ".join(str(v) for v in sorted(seen - {x}))
        steps.append(GoldStep(question=f"Which nodes can be reached from {x} in at most {links}?", answer=listing))
    return steps


def _route_steps(inst: dict[str, Any]) -> list[GoldStep]:
    """The distance from s to each node on a shortest route to t (t itself is the question)."""
    s, t = inst["s"], inst["t"]
    adj: dict[int, list[tuple[int, int]]] = {v: [] for v in range(inst["nodes"])}
    for u, v, w in inst["edges"]:
        adj[u].append((v, w))
        adj[v].append((u, w))
    dist, prev, heap = {s: 0}, {}, [(0, s)]
    while heap:
        d, u = heapq.heappop(heap)
        if d > dist[u]:
            continue
        for v, w in adj[u]:
            if d + w < dist.get(v, 1 << 60):
                dist[v], prev[v] = d + w, u
                heapq.heappush(heap, (d + w, v))
    route, node = [], prev.get(t)
    while node is not None and node != s:
        route.append(node)
        node = prev.get(node)
    return [
        GoldStep(question=f"How long is the shortest route from {s} to {v}?", answer=str(dist[v])) for v in route[::-1]
    ]


_IDA = {
    "permutation-power": _permutation_steps,
    "sequential-assignments": _assignment_steps,
    "union-find": _reachable_steps,
    "shortest-path": _route_steps,
}


# -- FanOutQA -----------------------------------------------------------------------------------------------------


def render_answer(value: Any) -> str:
    """A FanOutQA answer as text: lists joined with ", ", mappings as "key: value; ...", numbers plainly."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {render_answer(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(render_answer(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return _fmt(value)
    return str(value)


def _fanout_step(d: dict[str, Any]) -> GoldStep:
    return GoldStep(
        question=str(d["question"]),
        answer=render_answer(d.get("answer")),
        steps=[_fanout_step(s) for s in d.get("decomposition") or []],
    )


def _fmt(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value) if isinstance(value, int) else f"{value:g}"


def _fmt_text(value: str) -> str:
    try:
        return _fmt(float(value.replace(",", "")))
    except ValueError:
        return value


__all__ = ["GoldStep", "gold_answer", "gold_decomposition", "gsm8k_steps", "render_answer"]
