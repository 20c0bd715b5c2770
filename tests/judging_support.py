"""Runs whose judges are humans, for the judging tests: scripted debaters (a verified and an unverified quote in
every speech, a model name no judge may see) in front of human judges, so every judgment is left pending."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oversight.experiment import Experiment, arun_experiment, run_experiment

SPEAKER = "oversight.experiment.demo_scripts:quoting_speaker"
#: the debaters' model string: stored in every turn, never shown to a judge
DEBATER_MODEL = "scripted/secret-debater-model"
#: a model judge, which a live session replaces by the person at the terminal
MODEL_JUDGE = {
    "name": "coin",
    "model": "scripted/coin",
    "options": {"fn": "oversight.experiment.demo_scripts:hash_judge"},
}


def human_spec(
    root: Path,
    judges: list[dict[str, Any]],
    *,
    n: int = 3,
    protocol: dict[str, Any] | None = None,
    name: str = "hj",
    delay: float = 0.0,
) -> Experiment:
    """A debate (or `protocol`: debate, consultancy or direct) experiment on `n` hidden-passage questions, judged
    by `judges`; each speech takes `delay` seconds (an asyncio sleep: the interface keeps running)."""
    protocol = protocol or {"name": "debate", "rounds": 2}
    speaker = {"model": DEBATER_MODEL, "options": {"fn": SPEAKER, **({"delay": delay} if delay else {})}}
    roles = {"debate": {"debater": speaker}, "consultancy": {"consultant": speaker}, "mad": {"agent": speaker}}
    roles = roles.get(protocol["name"], {})
    return Experiment.from_dict(
        {
            "name": name,
            "tasks": [{"dataset": "gen/hidden-passage", "n": n}],
            "protocols": [protocol],
            "roles": roles,
            "judges": judges,
            "cache": False,
            "output_dir": str(root),
        }
    )


def human_run(root: Path, judges: list[dict[str, Any]], **kw: Any) -> Path:
    """Run `human_spec(...)` (about a second); returns the run directory, every judgment pending."""
    return run_experiment(human_spec(root, judges, **kw), progress="off").run_dir


async def human_arun(root: Path, judges: list[dict[str, Any]], **kw: Any) -> Path:
    """`human_run` from inside an event loop (async tests)."""
    return (await arun_experiment(human_spec(root, judges, **kw), progress="off")).run_dir
