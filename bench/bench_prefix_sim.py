"""Which episode order a server's prefix cache rewards, without a server: `bench/bench_vllm_schedule.py`'s debate
workload replayed through a simulated block prefix cache under three orders.

The prompts come from the real runner with scripted models (`bench_prefix_bound`'s workload). The simulated server
keeps `--window` episodes in flight and takes one call of each per step; a prompt reuses its longest run of cached
whole blocks (`--block` characters, about 16 tokens) from the start, and the cache evicts least recently used
blocks beyond `--capacity` characters. Two rules for calls of the same step: "in-step sharing" (a block one call
of the step computes is reused by the next, as vLLM's scheduler registers a request's blocks when it allocates
them) and "none" (each call sees only blocks from earlier steps). Orders: "arrival" (spec order: seed 0 of every
question, then seed 1), "together" (a question's seeds one after another: `schedule = "prefix"`) and "stagger" (a
question's seeds a window apart, so its second seed starts once its first has been computed).

    PYTHONPATH=.:bench .venv/bin/python bench/bench_prefix_sim.py [--questions 48] [--seeds 2]

Prints the share of prompt characters answered from the cache for each order and rule.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
from collections import OrderedDict

from oversight.experiment import Experiment, run_experiment
from oversight.store import iter_episodes

Key = tuple[str, int]  # (question id, seed)


def episode_prompts(questions: int, seeds: int) -> dict[Key, list[str]]:
    """Each episode's prompts (messages joined) from a scripted run of the schedule benchmark's workload."""
    spec = Experiment.from_dict(
        {
            "name": "prefix-sim",
            "seeds": list(range(seeds)),
            "cache": False,
            "tasks": [{"dataset": "gen/hidden-passage", "n": questions, "seed": 0}],
            "protocols": [{"name": "debate", "rounds": 2, "word_limit": 30}],
            "roles": {"debater": {"model": "scripted/d", "options": {"fn": "bench_runner:speech"}}},
            "judges": [{"name": "j", "model": "scripted/j", "options": {"fn": "bench_runner:verdict"}}],
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        run = run_experiment(spec, output_dir=tmp, progress="off")
        return {
            (ep.question_id, ep.seed): [
                "\x00".join(f"{m.role}\x01{m.content}" for m in turn.seen) for turn in ep.turns if turn.seen
            ]
            for ep in iter_episodes(run.run_dir)
        }


def block_keys(prompt: str, block: int) -> list[bytes]:
    """One key per whole block: the hash of the prompt up to and including that block (as a prefix cache keys)."""
    h = hashlib.sha1()
    keys = []
    for start in range(0, len(prompt) - len(prompt) % block, block):
        h.update(prompt[start : start + block].encode())
        keys.append(h.copy().digest())
    return keys


def hit_share(order: list[Key], prompts: dict[Key, list[str]], window: int, capacity: int, block: int,
              in_step: bool) -> float:  # fmt: skip
    """The share of prompt characters answered from the simulated cache when episodes start in `order`."""
    cache: OrderedDict[bytes, None] = OrderedDict()
    limit = capacity // block
    waiting, active = list(reversed(order)), []
    total = hit = 0

    def insert(keys: list[bytes]) -> None:
        for key in keys:
            cache[key] = None
            cache.move_to_end(key)
        while len(cache) > limit:
            cache.popitem(last=False)

    while waiting or active:
        while len(active) < window and waiting:
            active.append([waiting.pop(), 0])
        later = []
        for episode in active:
            prompt = prompts[episode[0]][episode[1]]
            keys = block_keys(prompt, block)
            total += len(prompt)
            for key in keys:
                if key not in cache:
                    break
                cache.move_to_end(key)
                hit += block
            if in_step:
                insert(keys)
            else:
                later.append(keys)
        for keys in later:
            insert(keys)
        for episode in active:
            episode[1] += 1
        active = [e for e in active if e[1] < len(prompts[e[0]])]
    return hit / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=48)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--window", type=int, default=8, help="episodes in flight")
    parser.add_argument("--capacity", type=int, default=160_000, help="cache size in characters (~46k tokens)")
    parser.add_argument("--block", type=int, default=56, help="block size in characters (~16 tokens)")
    args = parser.parse_args()
    prompts = episode_prompts(args.questions, args.seeds)
    questions = list(dict.fromkeys(q for q, _ in prompts))
    seeds = range(args.seeds)
    w = args.window
    orders = {
        "arrival": [(q, s) for s in seeds for q in questions],
        "together": [(q, s) for q in questions for s in seeds],
        "stagger": [(q, s) for i in range(0, len(questions), w) for s in seeds for q in questions[i : i + w]],
    }
    print(f"{len(prompts)} episodes, {args.window} in flight, cache {args.capacity:,} characters")
    for in_step in (True, False):
        shares = {n: hit_share(o, prompts, w, args.capacity, args.block, in_step) for n, o in orders.items()}
        rule = "in-step sharing" if in_step else "none           "
        print(f"{rule}  " + "  ".join(f"{name} {share:.1%}" for name, share in shares.items()))


if __name__ == "__main__":
    main()
