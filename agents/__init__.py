"""Agents that argue or answer: LLM debaters, consultants and multi-agent-debate agents (prompts in
`agents/prompts/*.txt`, hashed into their identity), persuasion-optimised wrappers (best-of-N, critique-and-
refine) over generic best-of-N selection, and programmatic retrieval arguers for cheap studies.
Also importable from `oversight` (`from oversight import Debater`)."""

from agents.base import Arguer, Decomposer, Predictor, Responder, Solver
from agents.consultant import Consultant
from agents.debater import Debater
from agents.llm import LLMAgent, parse_answer_letter
from agents.mad import MADAgent
from agents.persuasion import Critic, PersuasiveArguer
from agents.retrieval import RetrievalArguer
from agents.selection import Scored, Selection, sample_and_select, select_best

__all__ = [
    "Arguer",
    "Consultant",
    "Critic",
    "Debater",
    "Decomposer",
    "LLMAgent",
    "MADAgent",
    "PersuasiveArguer",
    "Predictor",
    "Responder",
    "RetrievalArguer",
    "Scored",
    "Selection",
    "Solver",
    "parse_answer_letter",
    "sample_and_select",
    "select_best",
]
