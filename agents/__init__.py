"""Agents that argue or answer: LLM debaters, consultants, multi-agent-debate agents, decomposers, solvers and
combiners (prompts in `agents/prompts/*.txt`, hashed into their identity); persuasion-optimised wrappers (best-of-N,
critique-and-refine) over generic best-of-N selection; programmatic retrieval arguers and gold decomposers/solvers
for cheap studies; the step judge of decomposition oversight. Also importable from `oversight`
(`from oversight import Debater`)."""

from agents.base import Arguer, Combiner, Decomposer, Predictor, Responder, Solver
from agents.consultant import Consultant
from agents.debater import Debater
from agents.decomposer import GoldDecomposer, LLMDecomposer, parse_decomposition
from agents.llm import LLMAgent, parse_answer_letter
from agents.mad import DuMADAgent, FreeFormMADAgent, MADAgent, last_number
from agents.persuasion import Critic, PersuasiveArguer
from agents.pixel_debater import GreedyPixelDebater, MCTSPixelDebater, RandomPixelDebater
from agents.pixel_game import PixelDebateGame, debate_correct, play_pixel_debate
from agents.retrieval import RetrievalArguer
from agents.selection import Scored, Selection, sample_and_select, select_best
from agents.solver import GoldSolver, LLMCombiner, LLMSolver
from agents.step_judge import StepJudge

__all__ = [
    "Arguer",
    "Combiner",
    "Consultant",
    "Critic",
    "Debater",
    "Decomposer",
    "DuMADAgent",
    "FreeFormMADAgent",
    "GoldDecomposer",
    "GoldSolver",
    "LLMCombiner",
    "LLMDecomposer",
    "LLMSolver",
    "LLMAgent",
    "MADAgent",
    "GreedyPixelDebater",
    "MCTSPixelDebater",
    "PersuasiveArguer",
    "PixelDebateGame",
    "RandomPixelDebater",
    "Predictor",
    "Responder",
    "RetrievalArguer",
    "Scored",
    "Selection",
    "Solver",
    "StepJudge",
    "debate_correct",
    "last_number",
    "parse_answer_letter",
    "play_pixel_debate",
    "parse_decomposition",
    "sample_and_select",
    "select_best",
]
