"""A jury: several judges (LLM, persona, simulated or human) decide from the same view; a named rule
(`oversight.metrics.jury.JuryRule`: majority, mean probability, α-fair welfare, thresholded welfare) makes one
judgment of their verdicts. Every juror's verdict is kept in the jury's `Judgment.parts`; `Judgment.jury`
records the votes and how much the jurors disagreed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from judges.base import Judge
from oversight.episode import Judgment, Turn
from oversight.hashing import stable_hash
from oversight.metrics.jury import JuryRule, jury_judgment
from oversight.transcript import Verdict, View


@dataclass(frozen=True)
class Juror:
    """One member of a jury: its judge and the attributes provenance records (`population`: the population it
    stands for; `persona`: the persona prompt of a persona juror; `name`: the spec's name for it)."""

    judge: Judge
    population: str | None = None
    persona: str | None = None
    name: str = ""


class Jury:
    """Jurors deciding from the same view, combined by `rule` (default: mean probability).

    A juror whose verdict is invalid is left out of the rule (counted in `jury.valid`); with no valid juror the
    jury's judgment is invalid. When any juror is a human whose judgment is pending, the jury's judgment is
    pending too, and is decided when the last juror's verdict arrives (`oversight.pending`). Questions between
    rounds are asked by the first juror. Raises ValueError for a jury with no jurors.
    """

    def __init__(self, jurors: Sequence[Judge | Juror], rule: JuryRule | None = None, *, name: str = "jury") -> None:
        if not jurors:
            raise ValueError("jurors: a jury needs at least one juror")
        self.jurors = [j if isinstance(j, Juror) else Juror(j) for j in jurors]
        self.rule = rule or JuryRule()
        members = [j.judge.identity for j in self.jurors]
        self.identity = f"jury/{name}#{stable_hash([members, self.rule.model_dump(mode='json')], length=12)}"
        self.name = self.identity

    async def decide(self, view: View) -> Verdict:
        """The jury's judgment; `parts` holds each juror's, in jury order."""
        verdicts = await asyncio.gather(*(j.judge.decide(view) for j in self.jurors))
        parts: list[Judgment] = []
        turns: list[Turn] = []
        for k, (juror, verdict) in enumerate(zip(self.jurors, verdicts, strict=True)):
            part = verdict.judgment
            part.provenance.population = juror.population
            part.provenance.persona = juror.persona or part.provenance.persona
            if juror.name:
                part.meta.setdefault("juror", juror.name)
            parts.append(part)
            for t in verdict.turns:
                t.meta["juror"] = k
                turns.append(t)
        return Verdict(decide_jury(self.identity, self.rule, parts, view), turns)

    async def ask(self, view: View) -> Turn:
        """The first juror's question."""
        return await self.jurors[0].judge.ask(view)


def decide_jury(identity: str, rule: JuryRule, parts: list[Judgment], view: View) -> Judgment:
    """The jury's judgment of `parts` under `rule` for `view` (pending while any part is)."""
    seed = f"{view.seed}|{stable_hash(view.raw_question or view.question)}"
    return jury_judgment(identity, rule, parts, view.order, seed)


__all__ = ["Juror", "Jury", "JuryRule", "decide_jury"]
