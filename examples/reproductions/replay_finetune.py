"""A stand-in fine-tuning command for `agents.distill.ExternalFineTune`: it "trains" by memorising. It reads the
chat JSONL it is given, writes a replay file that the `scripted/...` provider answers from (each prompt gets its
target; any other prompt gets "I do not know"), and prints the model to load as its last stdout line.

    python examples/reproductions/replay_finetune.py DATA.jsonl OUT_DIR NAME
    -> {"model": "scripted/NAME", "options": {"replay": "OUT_DIR/NAME.replay.jsonl", "cycle": true}}

A real command (e.g. a LoRA script) keeps the same contract: a JSONL file in, a model string (or this JSON) out.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: replay_finetune.py DATA.jsonl OUT_DIR NAME", file=sys.stderr)
        return 2
    data, out_dir, name = Path(argv[0]), Path(argv[1]), argv[2]
    out_dir.mkdir(parents=True, exist_ok=True)
    replay = out_dir / f"{name}.replay.jsonl"
    with replay.open("w", encoding="utf-8") as fh:
        for lineno, line in enumerate(data.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            messages = json.loads(line)["messages"]
            if messages[-1]["role"] != "assistant":
                print(f"{data}:{lineno}: the last message must be the assistant's target", file=sys.stderr)
                return 1
            fh.write(json.dumps({"messages": messages[:-1], "output": messages[-1]["content"]}) + "\n")
        fh.write(json.dumps({"text": "I do not know"}) + "\n")  # every prompt it was not trained on
    print(f"memorised {data}", file=sys.stderr)
    print(json.dumps({"model": f"scripted/{name}", "options": {"replay": str(replay), "cycle": True}}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
