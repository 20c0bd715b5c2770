"""Re-judging: a judge decides again from a recorded episode's judge view, rebuilt from the stored turns. No agent
speaks, so the only model calls are the judge's.

Its questions are the episodes of a run (the `recorded` task, see `oversight.tasks.recorded`), and its judge is
any judge a spec can name (LLM in any mode, swapped, simulated, human, a jury); `judge` settings apply as in
every protocol. The episode keeps the turns the judge saw (so it can itself be judged again), the source
episode's typed result (sides, honest role, order shown) and `source`, the link `oversight compare` uses to
pair judges on identical transcripts. The view is the one the original judge was given, byte for byte; with a
seed other than 0 the judge samples with the recorded seed plus it.
"""

from __future__ import annotations

from judges.base import Judge
from oversight.episode import Episode, EpisodeSource, JudgeView, Outcome, ProtocolResult, Turn
from oversight.judge_view import rebuild_transcript
from oversight.protocol_registry import EpisodeSetup, ProtocolEntry
from oversight.types import Question
from protocols.kit import ProtocolConfig, identities, judge_for


class RejudgeConfig(ProtocolConfig):
    """The judge's settings (`judge = { mode = "reason", swap = true }`) and sampling `temperature`; nothing else:
    the transcript is the recorded one."""


class RecordError(ValueError):
    """A question is not a recorded episode (not made by the `recorded` task)."""


async def rejudge_episode(question: Question, judge: Judge, seed: int = 0) -> Outcome:
    """`judge`'s decision on the recorded view in `question.meta` (see `oversight.tasks.recorded`). Returns the
    Outcome: the shown turns, then the judge's attempts; the source's result with `source` set. Raises
    `RecordError` for a question without a recorded view."""
    meta = question.meta
    try:
        record = JudgeView.model_validate(meta["view"])
        turns = [Turn.model_validate(t) for t in meta["turns"]]
        source = EpisodeSource.model_validate(meta["source"])
        result = ProtocolResult.model_validate(meta.get("result") or {})
    except (KeyError, TypeError, ValueError) as err:
        raise RecordError(f"{question.id}: not a recorded episode ({err})") from None
    if seed:
        record = record.model_copy(update={"seed": record.seed + seed})
    shown = Episode(
        id=source.episode,
        question_id=question.id,
        protocol="rejudge",
        gold=question.answer,
        choices=list(question.choices),
        turns=turns,
    )
    t, view = rebuild_transcript(shown, record)
    verdict = await judge.decide(view)
    result.source = source
    result.agents = {**result.agents, **identities(judge=judge)}
    return t.close(verdict, result=result)


async def run(setup: EpisodeSetup) -> Outcome:
    """Registry entry point: the spec's judge (any kind) on the recorded view of `setup.question`."""
    cfg = setup.config_as(RejudgeConfig)
    return await rejudge_episode(setup.question, judge_for(setup, cfg), setup.seed)


REJUDGE = ProtocolEntry(
    name="rejudge",
    config=RejudgeConfig,
    roles=("judge",),
    run=run,
    description="A judge decides again from recorded episodes' judge views (no agent calls): oversight rejudge.",
)

__all__ = ["REJUDGE", "RecordError", "RejudgeConfig", "rejudge_episode"]
