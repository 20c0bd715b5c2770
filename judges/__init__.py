"""Judges: an LLM judge (logprob or stated probabilities, bounded retries, invalid judgments recorded) and
programmatic judges for cheap studies and tests. Also importable from `oversight` (`from oversight import LLMJudge`)."""

from judges.base import Judge
from judges.llm_judge import LLMJudge, read_logprob_answer, read_stated_answer
from judges.settings import JudgeSettings, build_judge
from judges.simulated import QuoteCountJudge

__all__ = [
    "Judge",
    "JudgeSettings",
    "LLMJudge",
    "QuoteCountJudge",
    "build_judge",
    "read_logprob_answer",
    "read_stated_answer",
]
