"""Scripted runs for the viewer's tests and benchmark (imported by tests and by `bench/bench_viewer.py`).

`base_run` runs a small real experiment through the runner: debate, interactive consultancy and a direct judge
on hidden-passage and PrOntoQA questions, under a coin judge and a "picky" judge whose replies are sometimes
unparseable (invalid episodes) and whose backend sometimes fails (errored episodes); debaters quote the hidden
passage once verbatim (a verified quote) and once wrongly (unverified). `scale_run` copies such a run to `n`
episodes: the same episode lines under new seeds and ids, written through `EpisodeWriter` (prompts pooled).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from oversight.episode import episode_id
from oversight.experiment import Experiment, run_experiment
from oversight.store import SPEC_FILE, EpisodeWriter, iter_episodes, read_json, write_json
from oversight.types import ChatMessage, GenerateConfig

SPEAKER = "oversight.experiment.demo_scripts:quoting_speaker"
COIN = "oversight.experiment.demo_scripts:hash_judge"


def picky_judge(messages: list[ChatMessage], config: GenerateConfig) -> str:
    """A judge that answers by a hash of the prompt, but cannot parse 1 prompt in 8 (every retry of it alike, so
    the episode is invalid) and whose backend fails on 1 prompt in 16 (the episode errors)."""
    prompt = "\n".join(m.content for m in messages)
    digest = hashlib.sha256(prompt.encode()).digest()
    if "You may ask" in prompt:
        return "What does the text say about it?"
    if digest[2] % 16 == 0:
        raise ConnectionError("picky judge backend unavailable")
    if digest[1] % 8 == 0:
        return "I cannot decide."
    letter = "AB"[digest[0] % 2]
    return f"Answer: {letter}\nConfidence: {60 + digest[3] % 35}%\nThe quotes decide it."


def base_run(root: Path, *, questions: int = 10, name: str = "viewer") -> Path:
    """Run the scripted experiment (6 x `questions` x 2 judges episodes, in about a second); returns the run dir."""
    fn = "viewer_runs:"
    spec = Experiment.from_dict(
        {
            "name": name,
            "tasks": [{"dataset": "gen/hidden-passage", "n": questions}, {"dataset": "gen/prontoqa", "n": questions}],
            "protocols": [
                {"name": "debate", "label": "debate-2r", "rounds": 2},
                {"name": "consultancy", "interactive": True, "rounds": 2},
                {"name": "direct"},
            ],
            "roles": {
                "debater": {"model": "scripted/debater", "options": {"fn": SPEAKER}},
                "consultant": {"model": "scripted/consultant", "options": {"fn": SPEAKER}},
            },
            "judges": [
                {"name": "coin", "model": "scripted/coin", "options": {"fn": COIN}},
                {"name": "picky", "model": "scripted/picky", "options": {"fn": fn + "picky_judge"}},
            ],
            "cache": False,
            "concurrency": 8,
        }
    )
    return run_experiment(spec, output_dir=root, progress="off").run_dir


def scale_run(source: Path, target: Path, n: int) -> Path:
    """Write `n` episodes to the run dir `target`: `source`'s episodes over and over, each copy under a new seed
    (and so a new id), through `EpisodeWriter`; `spec.json` is copied with the new total. Returns `target`."""
    episodes = list(iter_episodes(source))
    if not episodes:
        raise ValueError(f"{source}: no episodes to copy")
    target.mkdir(parents=True, exist_ok=True)
    spec = read_json(source / SPEC_FILE)
    spec["episodes"] = {"total": n, "ids_digest": ""}
    spec["run_id"] = target.name
    write_json(target / SPEC_FILE, spec)
    with EpisodeWriter(target) as writer:
        for i in range(n):
            ep = episodes[i % len(episodes)]
            seed = i // len(episodes)
            ep.seed = seed
            config = {"label": ep.meta.get("label", ep.protocol), **ep.protocol_config}
            ep.id = episode_id(ep.experiment, ep.question_id, config, ep.roles, seed)
            writer.write(ep)
    return target
