"""Reproduce Du et al. 2023's multi-agent arithmetic ("Improving Factuality and Reasoning in Language Models through
Multiagent Debate", their math/gen_math.py) on the embedded SmolLM2-135M, through the ordinary runner:
`mad_arithmetic.toml` runs single agent, majority of N and multi-agent debate at the paper's setting (3 agents,
2 rounds) and at their script's default (2 agents, 3 rounds) on their 100 seed-0 problems; the table and the
answer-change log are read back from the stored run.

    python examples/reproductions/mad_arithmetic.py               # the table in docs/reproductions.md
    python examples/reproductions/mad_arithmetic.py --n 10        # the first 10 problems
    python examples/reproductions/mad_arithmetic.py --model openai/gpt-3.5-turbo   # their model (OPENAI_API_KEY)

The single agent and the majorities are the debates' own first round (same prompts and call seeds: the call
cache answers them, in one process, since the debates' episodes run first).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections import Counter
from pathlib import Path
from typing import Any

from oversight.episode import Episode, report_label
from oversight.experiment import Experiment, run_experiment
from oversight.metrics import wilson_interval
from oversight.store import load_run

HERE = Path(__file__).resolve().parent
#: Du et al. 2023, Table 1, arithmetic with gpt-3.5-turbo (3 agents, 2 rounds): accuracy in %.
PAPER = {"single": 67.0, "majority-3": 69.0, "debate-3x2": 81.8}


def spec_with(args: argparse.Namespace) -> Experiment:
    """`mad_arithmetic.toml` with the command line's problem count, word limit and model."""
    data = Experiment.from_file(HERE / "mad_arithmetic.toml").model_dump(mode="json", exclude_defaults=True)
    data["tasks"][0]["n"] = args.n
    for proto in data["protocols"]:
        if args.word_limit is not None:
            proto["config"]["word_limit"] = args.word_limit
    if args.model:
        data["roles"]["agent"] = {"model": args.model}
    data["output_dir"] = args.output_dir
    return Experiment.from_dict(data, base_dir=HERE)


def rows_of(episodes: list[Episode], order: list[str] | None = None) -> list[dict[str, Any]]:
    """Per entry (in `order`, else as they appear): problems, accuracy (no parsed answer counts as wrong), its
    Wilson interval, the share of problems with no parsed answer, and accuracy over the others (what Du et al.'s
    script averages)."""
    by: dict[str, list[Episode]] = {label: [] for label in order or []}
    for ep in episodes:
        by.setdefault(report_label(ep), []).append(ep)
    by = {label: eps for label, eps in by.items() if eps}
    rows = []
    for label, eps in by.items():
        n = len(eps)
        correct = sum(bool(e.correct) for e in eps)
        parsed = [e for e in eps if e.correct is not None]
        lo, hi = wilson_interval(correct, n)
        cfg = eps[0].protocol_config
        rows.append(
            {
                "label": label,
                "agents": cfg["agents"],
                "generation_rounds": cfg["rounds"] + 1,
                "n": n,
                "correct": correct,
                "accuracy": correct / n,
                "lo": lo,
                "hi": hi,
                "unparsed": (n - len(parsed)) / n,
                "accuracy_parsed": sum(bool(e.correct) for e in parsed) / len(parsed) if parsed else float("nan"),
                "paper": PAPER.get(label),
            }
        )
    return rows


def change_log(episodes: list[Episode]) -> list[dict[str, Any]]:
    """For each debate (rounds > 0): every change of answer, counted by kind (wrong -> right, right -> wrong, wrong
    -> another wrong, to or from no answer), agents unanimous at the end, and answers per round that were right."""
    out = []
    by: dict[str, list[Episode]] = {}
    for ep in episodes:
        if ep.protocol_config.get("rounds", 0) > 0:
            by.setdefault(report_label(ep), []).append(ep)
    for label, eps in by.items():
        kinds: Counter[str] = Counter()
        right_by_round: Counter[int] = Counter()
        answers = 0
        for ep in eps:
            gold = ep.gold_answers[0]
            for change in ep.meta["changes"]:
                old, new = change["from"], change["to"]
                if old is None or new is None:
                    kinds["to or from no answer"] += 1
                elif new == gold:
                    kinds["wrong -> right"] += 1
                elif old == gold:
                    kinds["right -> wrong"] += 1
                else:
                    kinds["wrong -> other wrong"] += 1
            for rnd, said in enumerate(ep.meta["answers"]):
                right_by_round[rnd] += sum(a == gold for a in said)
            answers += len(ep.meta["answers"][0])
        last = [ep.meta["answers"][-1] for ep in eps]
        out.append(
            {
                "label": label,
                "changes": sum(len(ep.meta["changes"]) for ep in eps),
                **dict(kinds),
                "unanimous_at_end": sum(len(set(a)) == 1 and a[0] is not None for a in last),
                "right_answers_by_round": [right_by_round[r] for r in sorted(right_by_round)],
                "answers_per_round": answers,
            }
        )
    return out


def calls_of(episodes: list[Episode]) -> tuple[int, int]:
    """(model calls, of which answered by the call cache) over the episodes' turns."""
    turns = [t for ep in episodes for t in ep.turns if t.model]
    return len(turns), sum(t.cached for t in turns)


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a fixed-width table beside Du et al.'s gpt-3.5 figures."""
    head = (
        f"{'entry':<12} {'agents':>6} {'rounds':>6} {'n':>4}  {'accuracy':>8}  {'95% CI (Wilson)':<16}  "
        f"{'no answer':>9}  {'acc. of answered':>16}  paper (gpt-3.5)"
    )
    lines = [head]
    for r in rows:
        paper = f"{r['paper']:.1f}%" if r["paper"] is not None else ""
        lines.append(
            f"{r['label']:<12} {r['agents']:>6} {r['generation_rounds']:>6} {r['n']:>4}  {r['accuracy']:>8.3f}  "
            f"[{r['lo']:.3f}, {r['hi']:.3f}]    {r['unparsed']:>9.3f}  {r['accuracy_parsed']:>16.3f}  {paper}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100, help="problems (their script: 100)")
    parser.add_argument("--word-limit", type=int, default=None, help="words per reply (default: the spec's 20)")
    parser.add_argument("--model", default=None, help="the agents' model (default: the spec's local/smollm2-135m)")
    parser.add_argument("--output-dir", default="runs")
    parser.add_argument("--json", default=None, help="also write the rows, change log and timings here")
    args = parser.parse_args()
    start = time.perf_counter()
    load_before = os.getloadavg()
    spec = spec_with(args)
    result = run_experiment(spec, progress="bar")
    wall = time.perf_counter() - start
    cpu = sum(
        getattr(resource.getrusage(w), f)
        for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        for f in ("ru_utime", "ru_stime")
    )
    episodes = load_run(result.run_dir).episodes
    rows, log = rows_of(episodes, [p.label for p in spec.protocols]), change_log(episodes)
    calls, cached = calls_of(episodes)
    print(table(rows))
    print("answer changes:")
    for entry in log:
        print("  " + ", ".join(f"{k} {v}" for k, v in entry.items()))
    load_after = os.getloadavg()
    print(
        f"{result.status}: {result.done} episodes, {result.errors} errors, {calls} model calls of which {cached} "
        f"from the call cache; wall time {wall:.0f} s, CPU time {cpu:.0f} s; load average {load_before[0]:.1f} at "
        f"the start, {load_after[0]:.1f} at the end -> {result.run_dir}"
    )
    if args.json:
        record = {"args": vars(args), "rows": rows, "changes": log, "calls": calls, "cached": cached}
        Path(args.json).write_text(json.dumps({**record, "wall": wall, "cpu": cpu, "run": str(result.run_dir)}))


if __name__ == "__main__":
    main()
