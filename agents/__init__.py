"""Agents that argue or answer: LLM debaters, consultants, multi-agent-debate agents, market-making markets and
adversaries, decomposers, solvers and combiners (prompts in `agents/prompts/*.txt`, hashed into their identity);
persuasion-optimised wrappers (best-of-N, critique-and-refine) over generic best-of-N selection; programmatic
retrieval arguers and adversaries, simulated markets and gold decomposers/solvers for cheap studies; the step judge
of decomposition oversight. Also importable from `oversight` (`from oversight import Debater`)."""

from agents.adversary import LLMAdversary, RetrievalAdversary
from agents.base import Adversary, Arguer, Combiner, Decomposer, Predictor, Responder, Solver
from agents.consultant import Consultant
from agents.debater import Debater
from agents.decomposer import GoldDecomposer, LLMDecomposer, parse_decomposition
from agents.llm import LLMAgent, parse_answer_letter
from agents.mad import MADAgent
from agents.market import LLMMarket, MarketError, SimulatedMarket, format_distribution, read_distribution
from agents.persuasion import Critic, PersuasiveArguer
from agents.retrieval import RetrievalArguer
from agents.selection import Scored, Selection, sample_and_select, select_best
from agents.solver import GoldSolver, LLMCombiner, LLMSolver
from agents.step_judge import StepJudge

__all__ = [
    "Adversary",
    "Arguer",
    "Combiner",
    "Consultant",
    "Critic",
    "Debater",
    "Decomposer",
    "GoldDecomposer",
    "GoldSolver",
    "LLMCombiner",
    "LLMDecomposer",
    "LLMSolver",
    "LLMAdversary",
    "LLMAgent",
    "LLMMarket",
    "MADAgent",
    "MarketError",
    "PersuasiveArguer",
    "Predictor",
    "Responder",
    "RetrievalAdversary",
    "RetrievalArguer",
    "Scored",
    "Selection",
    "SimulatedMarket",
    "Solver",
    "StepJudge",
    "format_distribution",
    "parse_answer_letter",
    "parse_decomposition",
    "read_distribution",
    "sample_and_select",
    "select_best",
]
