"""Agents that argue or answer: LLM debaters, consultants and multi-agent-debate agents (prompts in
`agents/prompts/*.txt`, hashed into their identity), and programmatic retrieval arguers for cheap studies.
Also importable from `oversight` (`from oversight import Debater`)."""

from agents.base import Arguer, Decomposer, Predictor, Responder, Solver
from agents.consultant import Consultant
from agents.debater import Debater
from agents.llm import LLMAgent, parse_answer_letter
from agents.mad import MADAgent
from agents.retrieval import RetrievalArguer

__all__ = [
    "Arguer",
    "Consultant",
    "Debater",
    "Decomposer",
    "LLMAgent",
    "MADAgent",
    "Predictor",
    "Responder",
    "RetrievalArguer",
    "Solver",
    "parse_answer_letter",
]
