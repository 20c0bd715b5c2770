"""Agents that argue or answer: LLM debaters, consultants, multi-agent-debate agents, decomposers, solvers and
combiners (prompts in `agents/prompts/*.txt`, hashed into their identity); programmatic retrieval arguers and
gold decomposers/solvers for cheap studies; the step judge of decomposition oversight. Also importable from
`oversight` (`from oversight import Debater`)."""

from agents.base import Arguer, Combiner, Decomposer, Predictor, Responder, Solver
from agents.consultant import Consultant
from agents.debater import Debater
from agents.decomposer import GoldDecomposer, LLMDecomposer, parse_decomposition
from agents.llm import LLMAgent, parse_answer_letter
from agents.mad import MADAgent
from agents.retrieval import RetrievalArguer
from agents.solver import GoldSolver, LLMCombiner, LLMSolver
from agents.step_judge import StepJudge

__all__ = [
    "Arguer",
    "Combiner",
    "Consultant",
    "Debater",
    "Decomposer",
    "GoldDecomposer",
    "GoldSolver",
    "LLMCombiner",
    "LLMDecomposer",
    "LLMSolver",
    "LLMAgent",
    "MADAgent",
    "Predictor",
    "Responder",
    "RetrievalArguer",
    "Solver",
    "StepJudge",
    "parse_answer_letter",
    "parse_decomposition",
]
