"""oversight: scalable-oversight protocols in front of weak judges, measured against ground truth.

Public names of `protocols`, `agents` and `judges` are re-exported here lazily, so `from oversight import X`
works even where those generic top-level names clash with another installed package.
"""

from __future__ import annotations

import importlib
from typing import Any

from oversight.models import get_model
from oversight.types import ChatMessage, GenerateConfig, ModelOutput, Question, Source, Usage

__version__ = "0.1.0"

#: name -> module that defines it; filled in as layers land. Imported on first access only.
_LAZY: dict[str, str] = {}
_LAZY.update(Experiment="oversight.experiment", run_experiment="oversight.experiment", load_run="oversight.store")
_LAZY.update(load_task="oversight.tasks", TaskSet="oversight.tasks")
_LAZY.update(compare="oversight.comparison", Comparison="oversight.comparison")
_LAZY.update(
    {n: "protocols" for n in ("Debate", "Consultancy", "Direct", "MultiAgentDebate", "debate", "consultancy", "direct")}
    | {n: "protocols" for n in ("mad", "DebateConfig", "ConsultancyConfig", "DirectConfig", "MADConfig")}
    | {n: "agents" for n in ("Debater", "Consultant", "MADAgent", "RetrievalArguer", "Arguer")}
    | {n: "judges" for n in ("LLMJudge", "QuoteCountJudge", "Judge")}
    | {n: "oversight.transcript" for n in ("Transcript", "View", "Verdict")}
    | {n: "oversight.quotes" for n in ("verify_quotes", "QuoteConfig")}
)

__all__ = ["ChatMessage", "GenerateConfig", "ModelOutput", "Question", "Source", "Usage", "get_model"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'oversight' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
