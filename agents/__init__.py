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
from agents.distill import ChatStudent, ExternalFineTune, InContextDistiller, read_chat_jsonl, write_chat_jsonl
from agents.llm import LLMAgent, parse_answer_letter
from agents.mad import DuMADAgent, FreeFormMADAgent, MADAgent, last_number
from agents.market import LLMMarket, MarketError, SimulatedMarket, format_distribution, read_distribution
from agents.persuasion import Critic, PersuasiveArguer
from agents.pixel_debater import GreedyPixelDebater, MCTSPixelDebater, RandomPixelDebater
from agents.pixel_game import PixelDebateGame, debate_correct, play_pixel_debate
from agents.retrieval import RetrievalArguer
from agents.selection import Scored, Selection, sample_and_select, select_best
from agents.solver import GoldSolver, LLMCombiner, LLMSolver
from agents.step_judge import StepJudge

__all__ = [
    "Adversary",
    "Arguer",
    "ChatStudent",
    "Combiner",
    "Consultant",
    "Critic",
    "Debater",
    "Decomposer",
    "DuMADAgent",
    "FreeFormMADAgent",
    "ExternalFineTune",
    "GoldDecomposer",
    "GoldSolver",
    "GreedyPixelDebater",
    "InContextDistiller",
    "LLMAdversary",
    "LLMAgent",
    "LLMCombiner",
    "LLMDecomposer",
    "LLMMarket",
    "LLMSolver",
    "MADAgent",
    "MCTSPixelDebater",
    "MarketError",
    "PersuasiveArguer",
    "PixelDebateGame",
    "Predictor",
    "RandomPixelDebater",
    "Responder",
    "RetrievalAdversary",
    "RetrievalArguer",
    "Scored",
    "Selection",
    "SimulatedMarket",
    "Solver",
    "StepJudge",
    "debate_correct",
    "last_number",
    "format_distribution",
    "parse_answer_letter",
    "parse_decomposition",
    "play_pixel_debate",
    "read_chat_jsonl",
    "read_distribution",
    "sample_and_select",
    "select_best",
    "write_chat_jsonl",
]
