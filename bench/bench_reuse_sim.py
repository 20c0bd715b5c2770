"""How much prompt decoding KV reuse would save on a real run's calls: replays the prompts a run recorded (every
turn's `seen` messages, in episode order), tokenized by the model's own tokenizer, through the reuse rule.

    PYTHONPATH=. .venv/bin/python bench/bench_reuse_sim.py runs/demo/<run-id>

Prints, per chunk size and saved-state budget, the share of prompt tokens left to decode (chunk 1 = reuse at
any token, which is not exact; the provider reuses whole 64-token chunks).
"""

from __future__ import annotations

import sys
from pathlib import Path

from oversight.models.llamacpp import resolve_gguf
from oversight.store import iter_episodes

KV_BYTES_PER_TOKEN = 30 * 2 * 192 * 2  # SmolLM2-135M: 30 layers x (K + V) x 192 dims x f16


def load_prompts(path: str) -> list[list[int]]:
    import llama_cpp
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    llm = llama_cpp.Llama(model_path=str(resolve_gguf("smollm2-135m")), vocab_only=True, verbose=False)
    eos = llm.detokenize([llm.token_eos()], special=True).decode()
    bos = llm.detokenize([llm.token_bos()], special=True).decode()
    fmt = Jinja2ChatFormatter(template=llm.metadata["tokenizer.chat_template"], eos_token=eos, bos_token=bos)
    prompts = []
    run_dir = Path(path).parent if Path(path).is_file() else Path(path)
    for episode in iter_episodes(run_dir):  # resolves pooled `seen` messages (pool.jsonl)
        for turn in episode.turns:
            if turn.seen:
                rendered = fmt(messages=[m.model_dump() for m in turn.seen])
                prompts.append(llm.tokenize(rendered.prompt.encode(), add_bos=not rendered.added_special, special=True))
    return prompts


def common(a: list[int], b: list[int]) -> int:
    n, i = min(len(a), len(b)), 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def reusable(prompt: list[int], have: list[int], chunk: int) -> int:
    n = min(common(prompt, have), len(prompt) - 1)
    return n - n % chunk


def decoded(prompts: list[list[int]], chunk: int, budget_mb: int) -> int:
    """Prompt tokens decoded under the provider's rule: the live context plus an LRU of saved exact prefixes."""
    live: list[int] = []
    saved: list[list[int]] = []
    total = 0
    for p in prompts:
        best, source = reusable(p, live, chunk), None
        for s in saved:
            if reusable(p, s, chunk) > best:
                best, source = reusable(p, s, chunk), s
        if source is not None:
            saved.remove(source)
            saved.append(source)
        total += len(p) - best
        exact = len(p) - len(p) % chunk
        live = p[:exact]
        if budget_mb and exact > best:
            saved = [s for s in saved if p[: len(s)] != s] + [p[:exact]]
            while sum(map(len, saved)) * KV_BYTES_PER_TOKEN > budget_mb * 2**20:
                saved.pop(0)
    return total


def main() -> None:
    prompts = load_prompts(sys.argv[1])
    total = sum(map(len, prompts))
    print(
        f"{len(prompts)} calls, {total} prompt tokens (mean {total / len(prompts):.0f}, max {max(map(len, prompts))})"
    )
    for chunk in (1, 32, 64, 128, 512):
        row = "  ".join(f"{mb:4d} MB: {decoded(prompts, chunk, mb) / total:5.1%}" for mb in (0, 64, 256))
        print(f"chunk {chunk:3d}: left to decode  {row}")


if __name__ == "__main__":
    main()
