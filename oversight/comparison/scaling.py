"""The oversight scaling curve from recorded runs (Engels et al. 2025): every scored episode is a game between its
judge (the guard: the judge entry) and the agent it oversaw (the houdini: the dishonest arguer when one argued
the wrong answer, else the arguer), rated per group of episodes (e.g. per protocol) on one Elo scale."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from oversight.episode import Episode, ProtocolResult, report_judge
from oversight.metrics.oversight_scaling import OversightOutcome, oversight_ratings, pair_rows, strength_slope


def houdini_of(ep: Episode) -> str | None:
    """The identity of the agent `ep`'s judge oversaw: among the roles that argued a side (`sides`), one that was
    not honest, else the honest one; None when nobody argued a side."""
    result = ProtocolResult.read(ep.meta)
    arguers = [role for role in result.sides if role in result.agents]
    if not arguers:
        return None
    dishonest = [role for role in arguers if role != result.honest]
    return result.agents[(dishonest or arguers)[0]]


def oversight_outcomes(
    episodes: Iterable[Episode], group: Callable[[Episode], str] = lambda ep: ep.protocol
) -> dict[str, list[OversightOutcome]]:
    """group -> the games of its scored episodes (`correct` not None, a houdini found), in order."""
    out: dict[str, list[OversightOutcome]] = {}
    for ep in episodes:
        houdini = houdini_of(ep)
        if ep.correct is None or ep.error is not None or houdini is None:
            continue
        out.setdefault(group(ep), []).append(OversightOutcome(report_judge(ep), houdini, bool(ep.correct)))
    return out


def scaling_tables(
    outcomes: Mapping[str, list[OversightOutcome]],
    strength: Mapping[str, float] | None = None,
    n_resamples: int = 200,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(pair rows, rating rows) of every group: `pair_rows` with the group's name, and one row per guard and
    houdini (Elo with its bootstrap interval, games, the strength given for it, and the group's Elo slope per
    unit of strength for that role)."""
    pairs: list[dict[str, Any]] = []
    ratings: list[dict[str, Any]] = []
    strength = strength or {}
    for name, games in outcomes.items():
        fit = oversight_ratings(games, n_resamples=n_resamples, seed=seed)
        pairs += [{"group": name, **row} for row in pair_rows(games, fit)]
        for role, table in (("guard", fit.guards), ("houdini", fit.houdinis)):
            slope = strength_slope(table, strength)
            for player, r in table.items():
                ratings.append(
                    {
                        "group": name,
                        "role": role,
                        "player": player,
                        "strength": strength.get(player),
                        "elo": r.elo,
                        "elo_lo": r.elo_lo,
                        "elo_hi": r.elo_hi,
                        "games": int(r.games),
                        "slope": slope,
                    }
                )
    return pairs, ratings


__all__ = ["houdini_of", "oversight_outcomes", "scaling_tables"]
