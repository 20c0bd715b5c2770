"""Judges: LLM judges (logprob, stated or reason-then-answer; position-swapped), simulated judges (seeded, no
model), human judges (live through an asyncio queue, or pending in the store), juries with named aggregation
rules, and programmatic judges for cheap studies. Also importable from `oversight` (`from oversight import
LLMJudge`)."""

from judges.base import Judge
from judges.human import HumanChannel, HumanDecision, HumanJudge, HumanRequest, HumanUnavailableError, use_channels
from judges.jury import Juror, Jury, JuryRule
from judges.llm_judge import LLMJudge, read_logprob_answer, read_stated_answer
from judges.pixel_judge import PixelJudgeConfig, SparsePixelJudge, load_pixel_judge
from judges.settings import JudgeSettings, build_entry_judge, build_judge
from judges.simulated import QuoteCountJudge, SimulatedJudge
from judges.swap import SwapJudge
from oversight.judge_entry import JudgeEntry, PixelJudgeParams, SimulatedJudgeParams

__all__ = [
    "HumanChannel",
    "HumanDecision",
    "HumanJudge",
    "HumanRequest",
    "HumanUnavailableError",
    "Judge",
    "JudgeEntry",
    "JudgeSettings",
    "Juror",
    "Jury",
    "JuryRule",
    "LLMJudge",
    "PixelJudgeConfig",
    "PixelJudgeParams",
    "QuoteCountJudge",
    "SimulatedJudge",
    "SimulatedJudgeParams",
    "SparsePixelJudge",
    "SwapJudge",
    "build_entry_judge",
    "build_judge",
    "load_pixel_judge",
    "read_logprob_answer",
    "read_stated_answer",
    "use_channels",
]
