"""IDA with a language-model student: the same overseer and loop as ida_algorithmic.py, with M_k a chat model.

    python examples/reproductions/ida_llm.py                                   # local/smollm2-135m, in-context
    python examples/reproductions/ida_llm.py --distiller external \\
        --command python examples/reproductions/replay_finetune.py {data} {workdir}/models ft-it{iteration}
    python examples/reproductions/ida_llm.py --model openai/gpt-4o-mini        # any oversight model string

`--distiller in-context` is an approximation of distillation (amplified examples in the prompt, no weights
change). `--distiller external` writes each iteration's amplified targets as chat fine-tuning JSONL, runs
`--command` on it and loads the model string it prints. Either way the run's JSONL files land in --out, ready
for a real fine-tuning job. A 135M model answers these questions barely above chance: this shows the wiring.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from agents.algorithmic import TASKS, AlgorithmicOverseer, algorithmic_task
from agents.distill import ChatStudent, ExternalFineTune, InContextDistiller, write_chat_jsonl
from oversight.ida import Distiller, Example, IterationRecord, run_ida
from oversight.models import get_model


async def main(args: argparse.Namespace) -> None:
    task = algorithmic_task(args.task, args.difficulty)
    options = {"n_ctx": 4096} if args.model.startswith("local/") else {}
    student = ChatStudent(get_model(args.model, **options), task, spec=args.model)
    distiller: Distiller
    if args.distiller == "external":
        if not args.command:
            raise SystemExit("--distiller external needs --command ARGV... (see --help)")
        distiller = ExternalFineTune(args.command, task, args.out)
    else:
        distiller = InContextDistiller(task, shots=args.shots)
    overseer = AlgorithmicOverseer(task)

    def train_queries(k: int) -> list:
        return task.train_queries(args.train, k, max_level=k)

    def show(rec: IterationRecord) -> None:
        print(
            f"it {rec.iteration}: held-out accuracy {rec.ida_accuracy:.3f}  targets {rec.target_accuracy}  "
            f"student calls {rec.overseer.get('student_calls', 0)}  {sum(rec.seconds.values()):.1f} s",
            flush=True,
        )

    res = await run_ida(
        overseer,
        distiller,
        student,
        train_queries=train_queries,
        eval_queries=task.eval_queries(args.eval, 10**6),
        truth=task.ground_truth(),
        iterations=args.iterations,
        on_iteration=show,
        task=task.name,
    )
    # one more amplification by the final student: its targets as a fine-tuning file for a real training job
    queries = train_queries(args.iterations + 1)
    targets = await overseer.amplify(queries, res.students["ida"])
    done = [Example(q, y, "amplified") for q, y in zip(queries, targets, strict=True) if y is not None]
    path = write_chat_jsonl(done, args.out / "amplified.jsonl", task)
    print(
        f"final student {res.student}; ground-truth labels trained on: {res.labels['ida_train']}; "
        f"overseer {res.overseer}; {len(done)} amplified examples in {path}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="local/smollm2-135m")
    parser.add_argument("--task", default="permutation-power", choices=list(TASKS))
    parser.add_argument("--difficulty", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--train", type=int, default=8, help="training queries per iteration")
    parser.add_argument("--eval", type=int, default=8)
    parser.add_argument("--shots", type=int, default=3)
    parser.add_argument("--distiller", choices=["in-context", "external"], default="in-context")
    parser.add_argument(
        "--command", nargs=argparse.REMAINDER, help="fine-tuning argv ({data} {base} {iteration} {workdir})"
    )
    parser.add_argument("--out", type=Path, default=Path("runs/ida-llm"))
    asyncio.run(main(parser.parse_args()))
