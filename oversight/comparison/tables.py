"""The comparison's tables as lists of plain dict rows, computed from `Record`s with `oversight.metrics`."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from itertools import combinations
from typing import Any, TypeVar

import numpy as np

from oversight.comparison.records import EXPERT, NAIVE, Record
from oversight.metrics.agreement import fleiss_kappa, jensen_shannon_distance
from oversight.metrics.binomial import wilson_interval
from oversight.metrics.calibration import (
    brier_score,
    expected_calibration_error,
    log_score,
    mean_confidence,
    top_label,
)
from oversight.metrics.divergence import cross_entropy
from oversight.metrics.paired import mcnemar_exact, paired_bootstrap_diff, paired_permutation_test
from oversight.metrics.ratings import bradley_terry_ratings, win_rate_by_side
from oversight.metrics.sandwich import performance_gap_recovered

Row = dict[str, Any]
K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


def group_by(items: Iterable[T], key: Callable[[T], K]) -> dict[K, list[T]]:
    """Items grouped by `key`, groups and members in first-appearance order."""
    groups: dict[K, list[T]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return dict(groups)


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def _probability_matrix(records: Sequence[Record]) -> tuple[np.ndarray, np.ndarray]:
    """(n, k) probabilities and gold indices of the records that carry probabilities covering their gold answer.

    Rows with fewer choices are padded with zeros: a class with p = 0 that did not happen adds nothing to the
    Brier or log score and never becomes the top label, so mixing two- and four-choice questions stays exact.
    """
    usable = [r for r in records if r.probabilities and r.gold is not None and r.gold < len(r.probabilities)]
    if not usable:
        return np.zeros((0, 2)), np.zeros(0, dtype=int)
    k = max(len(r.probabilities or ()) for r in usable)
    probs = np.zeros((len(usable), k))
    for i, r in enumerate(usable):
        row = r.probabilities or []
        probs[i, : len(row)] = np.clip(row, 0.0, 1.0)
    return probs, np.array([r.gold for r in usable], dtype=int)


def summary_row(records: Sequence[Record], confidence: float = 0.95) -> Row:
    """Accuracy (Wilson interval), invalid rate, calibration, share of first-shown picks, tokens, cost and latency
    of one group; pending judgments are counted apart."""
    scored = [r for r in records if r.scored]
    n = len(scored)
    correct = sum(r.correct for r in scored)
    lo, hi = wilson_interval(correct, n, confidence)
    probs, gold = _probability_matrix(scored)
    conf, top_correct = top_label(probs, gold)
    cost = sum(r.cost for r in scored)
    latencies = [r.latency for r in scored if r.latency is not None]
    picks = [p for r in scored for p in r.first_picks]
    first_lo, first_hi = wilson_interval(sum(picks), len(picks), confidence)
    return {
        "n": n,
        "errors": sum(r.errored for r in records),
        "pending": sum(r.pending and not r.errored for r in records),
        "first_shown": _ratio(sum(picks), len(picks)),
        "first_lo": first_lo,
        "first_hi": first_hi,
        "n_picks": len(picks),
        "correct": correct,
        "accuracy": _ratio(correct, n),
        "acc_lo": lo,
        "acc_hi": hi,
        "invalid_rate": _ratio(sum(not r.valid for r in scored), n),
        "n_prob": len(gold),
        "brier": brier_score(probs, gold),
        "log_score": log_score(probs, gold),
        "ece": expected_calibration_error(conf, top_correct, 10),
        "mean_confidence": mean_confidence(conf),
        "tokens": _ratio(sum(r.tokens for r in scored), n),
        "cost": cost,
        "cost_per_correct": cost / correct if correct else math.nan,
        "latency": float(np.mean(latencies)) if latencies else math.nan,
    }


def summary_rows(records: Sequence[Record], confidence: float = 0.95) -> list[Row]:
    """One `summary_row` per protocol label x judge x task."""
    groups = group_by(records, lambda r: (r.label, r.judge, r.task))
    return [
        {"protocol": label, "judge": judge, "task": task, **summary_row(group, confidence)}
        for (label, judge, task), group in groups.items()
    ]


def _by_item(records: Iterable[Record]) -> dict[tuple[str, str, int], Record]:
    out: dict[tuple[str, str, int], Record] = {}
    for r in records:
        if r.scored:
            out.setdefault(r.item, r)
    return out


def _question_means(by_item: dict[tuple[str, str, int], Record], items: Iterable[tuple[str, str, int]]) -> dict:
    sums: dict[tuple[str, str], list[float]] = defaultdict(list)
    for item in items:
        sums[item[:2]].append(float(by_item[item].correct))
    return {q: sum(v) / len(v) for q, v in sums.items()}


def paired_rows(
    records: Sequence[Record], n_resamples: int = 10_000, confidence: float = 0.95, seed: int = 0
) -> list[Row]:
    """Every pair of protocol labels with the same judge and task, on the items both answered.

    McNemar's exact test pairs (question, seed) items. The bootstrap interval of the accuracy difference and the
    permutation test resample questions (averaging over shared seeds first), so repeated seeds of one question
    are not counted as independent evidence.
    """
    rows = []
    for (judge, task), group in group_by(records, lambda r: (r.judge, r.task)).items():
        by_label = {label: _by_item(rs) for label, rs in group_by(group, lambda r: r.label).items()}
        for a, b in combinations(by_label, 2):
            shared = [item for item in by_label[a] if item in by_label[b]]
            if not shared:
                continue
            ca = [by_label[a][i].correct for i in shared]
            cb = [by_label[b][i].correct for i in shared]
            mc = mcnemar_exact(ca, cb)
            qa, qb = _question_means(by_label[a], shared), _question_means(by_label[b], shared)
            xa, xb = list(qa.values()), [qb[q] for q in qa]
            boot = paired_bootstrap_diff(xa, xb, n_resamples, confidence, seed)
            perm = paired_permutation_test(xa, xb, n_resamples, seed)
            rows.append(
                {
                    "judge": judge,
                    "task": task,
                    "a": a,
                    "b": b,
                    "n_items": len(shared),
                    "n_questions": len(qa),
                    "acc_a": float(np.mean(ca)),
                    "acc_b": float(np.mean(cb)),
                    "diff": float(np.mean(ca)) - float(np.mean(cb)),
                    "diff_lo": boot.lo,
                    "diff_hi": boot.hi,
                    "a_only": mc.a_only,
                    "b_only": mc.b_only,
                    "mcnemar_p": mc.p_value,
                    "permutation_p": perm.p_value,
                }
            )
    return rows


def _tier_label(group: Sequence[Record], tier: str) -> list[str]:
    labels = group_by(group, lambda r: r.label)
    return [label for label, rs in labels.items() if all(r.tier == tier for r in rs)]


def pgr_rows(
    records: Sequence[Record], n_resamples: int = 10_000, confidence: float = 0.95, seed: int = 0
) -> list[Row]:
    """Performance gap recovered of every other protocol, per judge x task where both tiers were run.

    Questions shared by the protocol and both tiers are the items; each question's score is its accuracy averaged
    over seeds. When several labels are naive (or expert) the first one is the baseline and the row says so.
    """
    rows = []
    for (judge, task), group in group_by(records, lambda r: (r.judge, r.task)).items():
        naive, expert = _tier_label(group, NAIVE), _tier_label(group, EXPERT)
        if not naive or not expert:
            continue
        by_label = group_by([r for r in group if r.scored], lambda r: r.label)
        means = {
            label: {
                q: float(np.mean([r.correct for r in rs])) for q, rs in group_by(recs, lambda r: r.question_id).items()
            }
            for label, recs in by_label.items()
        }
        base, top = naive[0], expert[0]
        for label in by_label:
            if label in naive or label in expert:
                continue
            qs = [q for q in means[label] if q in means.get(base, {}) and q in means.get(top, {})]
            res = performance_gap_recovered(
                [means[label][q] for q in qs],
                [means[base][q] for q in qs],
                [means[top][q] for q in qs],
                n_resamples,
                confidence,
                seed,
            )
            notes = [n for n in (res.reason, res.note) if n]
            if len(naive) > 1 or len(expert) > 1:
                notes.append(f"baselines: naive={base!r}, expert={top!r}")
            rows.append(
                {
                    "protocol": label,
                    "judge": judge,
                    "task": task,
                    "naive_label": base,
                    "expert_label": top,
                    "n_questions": res.n,
                    "naive": res.naive,
                    "expert": res.expert,
                    "accuracy": res.protocol,
                    "pgr": res.estimate,
                    "pgr_lo": res.lo,
                    "pgr_hi": res.hi,
                    "note": "; ".join(notes),
                }
            )
    return rows


def _winner(r: Record) -> str | None:
    if not r.valid:
        return None
    roles = [d.role for d in r.debaters if d.answer == r.choice]
    return roles[0] if len(roles) == 1 else None


def _debates(records: Sequence[Record]) -> list[Record]:
    return [r for r in records if r.scored and len(r.debaters) >= 2]


def _mean_coverage(group: Sequence[Record], role_of: Callable[[Record], str | None]) -> float | None:
    """Mean quote coverage of the debater `role_of(record)` picks in each record that recorded one."""
    values = [r.quote_coverage[role] for r in group if (role := role_of(r)) is not None and role in r.quote_coverage]
    return sum(values) / len(values) if values else None


def _arguing(r: Record, correct: bool) -> str | None:
    return next((d.role for d in r.debaters if (d.answer == r.gold) == correct), None)


def side_rows(records: Sequence[Record], confidence: float = 0.95) -> list[Row]:
    """Win rate by speaking side (debater role) and by correct/incorrect side, per protocol label x judge, with the
    side's mean quote coverage (share of its speech words inside verified quotes; None when not checked).

    A side wins when the judge chose the answer it argued; undecided debates (invalid judgments) are left out.
    """
    rows = []
    for (label, judge), group in group_by(_debates(records), lambda r: (r.label, r.judge)).items():
        roles = sorted({d.role for r in group for d in r.debaters})
        by_role, undecided = win_rate_by_side([_winner(r) for r in group], roles, confidence)
        truth = []
        for r in group:
            w = _winner(r)
            truth.append(None if w is None else ("correct" if r.choice == r.gold else "incorrect"))
        by_truth, _ = win_rate_by_side(truth, ["correct", "incorrect"], confidence)
        coverage = {role: _mean_coverage(group, lambda r, role=role: role) for role in roles}
        coverage["correct"] = _mean_coverage(group, lambda r: _arguing(r, True))
        coverage["incorrect"] = _mean_coverage(group, lambda r: _arguing(r, False))
        for wr in (*by_role, *by_truth):
            rows.append(
                {
                    "protocol": label,
                    "judge": judge,
                    "side": wr.side,
                    "wins": wr.wins,
                    "n": wr.n,
                    "win_rate": wr.rate,
                    "lo": wr.lo,
                    "hi": wr.hi,
                    "undecided": undecided,
                    "quote_coverage": coverage.get(wr.side),
                }
            )
    return rows


def matches(records: Sequence[Record]) -> dict[str, list[tuple[str, str, float]]]:
    """Bradley-Terry matches per judge: the debater model whose answer the judge chose beat each other one.

    Self-play debates (one model on every side) carry no information about relative strength and are skipped.
    """
    out: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    for r in _debates(records):
        w = _winner(r)
        if w is None:
            continue
        win_model = next(d.model for d in r.debaters if d.role == w)
        for d in r.debaters:
            if d.role != w and d.model != win_model:
                out[r.judge].append((win_model, d.model, 1.0))
    return dict(out)


def rating_rows(
    records: Sequence[Record], n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> list[Row]:
    """Debater Elo ratings per judge with bootstrap intervals, plus the judge's accuracy in that debater's debates.

    Judge accuracy uses the debater's self-play debates when there are any (the setting of Khan et al. 2024),
    otherwise every debate it took part in; `basis` says which.
    """
    rows = []
    debates = _debates(records)
    for judge, ms in matches(records).items():
        judged = [r for r in debates if r.judge == judge]
        for rating in bradley_terry_ratings(ms, n_resamples, confidence, seed):
            selfplay = [r for r in judged if all(d.model == rating.player for d in r.debaters)]
            involved = [r for r in judged if any(d.model == rating.player for d in r.debaters)]
            pool, basis = (selfplay, "self-play") if selfplay else (involved, "involved")
            correct = sum(r.correct for r in pool)
            lo, hi = wilson_interval(correct, len(pool), confidence)
            rows.append(
                {
                    "judge": judge,
                    "debater": rating.player,
                    "elo": rating.elo,
                    "elo_lo": rating.elo_lo,
                    "elo_hi": rating.elo_hi,
                    "games": rating.games,
                    "score": rating.score,
                    "judge_accuracy": _ratio(correct, len(pool)),
                    "acc_lo": lo,
                    "acc_hi": hi,
                    "n_accuracy": len(pool),
                    "basis": basis,
                }
            )
    return rows


def round_rows(records: Sequence[Record], confidence: float = 0.95) -> list[Row]:
    """Accuracy by round for multi-round protocols.

    `kind="judgment"`: protocols that record a judgment after each round; accuracy of the k-th judgment over the
    episodes that reached it (invalid counts as wrong). `kind="rounds"`: one protocol run with several values of
    `protocol_config["rounds"]`; accuracy per configured number of rounds.
    """
    rows: list[Row] = []
    scored = [r for r in records if r.scored]
    for (label, judge, task), group in group_by(scored, lambda r: (r.label, r.judge, r.task)).items():
        depth = max(len(r.interim_correct) for r in group)
        if depth < 2:
            continue
        for k in range(depth):
            reached = [bool(r.interim_correct[k]) for r in group if len(r.interim_correct) > k]
            lo, hi = wilson_interval(sum(reached), len(reached), confidence)
            rows.append(_round_row("judgment", label, judge, task, k + 1, reached, lo, hi))
    with_rounds = [r for r in scored if r.rounds is not None]
    for (protocol, judge, task), group in group_by(with_rounds, lambda r: (r.protocol, r.judge, r.task)).items():
        by_rounds = group_by(group, lambda r: r.rounds)
        if len(by_rounds) < 2:
            continue
        for rounds in sorted(by_rounds):
            outcomes = [r.correct for r in by_rounds[rounds]]
            lo, hi = wilson_interval(sum(outcomes), len(outcomes), confidence)
            rows.append(_round_row("rounds", protocol, judge, task, int(rounds), outcomes, lo, hi))
    return rows


def _round_row(
    kind: str, label: str, judge: str, task: str, rnd: int, outcomes: Sequence[bool], lo: float, hi: float
) -> Row:
    return {
        "kind": kind,
        "protocol": label,
        "judge": judge,
        "task": task,
        "round": rnd,
        "n": len(outcomes),
        "accuracy": _ratio(sum(outcomes), len(outcomes)),
        "acc_lo": lo,
        "acc_hi": hi,
    }


def supervision_rows(records: Sequence[Record], confidence: float = 0.95) -> list[Row]:
    """How well each overseer judged a protocol's answers, per protocol label x judge x task x overseer.

    `accuracy`: share of answers it rightly accepted or rejected (answers it could not check are left out);
    `accepted`: share it accepted; `catch_rate`: wrong steps (against gold step answers) it rejected, of all wrong
    steps it checked; `false_alarm_rate`: right steps it rejected, of all right steps it checked.
    """
    rows = []
    scored = [r for r in records if not r.errored and r.supervision]
    for (label, judge, task), group in group_by(scored, lambda r: (r.label, r.judge, r.task)).items():
        overseers = list(dict.fromkeys(name for r in group for name in r.supervision))
        for name in overseers:
            scores = [r.supervision[name] for r in group if name in r.supervision]
            verdicts = [s for s in scores if s.correct is not None]
            right = sum(bool(s.correct) for s in verdicts)
            lo, hi = wilson_interval(right, len(verdicts), confidence)
            gold = sum(s.gold_steps for s in scores)
            wrong = sum(s.wrong_steps for s in scores)
            rows.append(
                {
                    "protocol": label,
                    "judge": judge,
                    "task": task,
                    "overseer": name,
                    "n": len(verdicts),
                    "accuracy": _ratio(right, len(verdicts)),
                    "acc_lo": lo,
                    "acc_hi": hi,
                    "accepted": _ratio(sum(bool(s.accepted) for s in verdicts), len(verdicts)),
                    "gold_steps": gold,
                    "wrong_steps": wrong,
                    "caught": sum(s.caught for s in scores),
                    "catch_rate": _ratio(sum(s.caught for s in scores), wrong),
                    "false_alarms": sum(s.false_alarms for s in scores),
                    "false_alarm_rate": _ratio(sum(s.false_alarms for s in scores), gold - wrong),
                }
            )
    return rows


def market_top(p: Sequence[float], order: Sequence[int]) -> int:
    """The answer a prediction `p` (indexed like the choices) puts most mass on; ties go to the one shown first."""
    rank = {c: k for k, c in enumerate(order)}
    return max(range(len(p)), key=lambda i: (p[i], -rank.get(i, i)))


def market_rows(records: Sequence[Record], confidence: float = 0.95) -> list[Row]:
    """How well a market predicted its judge, per protocol label x judge x task, over the scored episodes that
    record a market trace (`ProtocolResult.market`).

    `agree`: share of episodes whose final prediction p_T puts most mass on the answer the judge chose (episodes
    with a valid p_T and a valid verdict), with a Wilson interval; `p_judge`: mean probability p_T gave that answer;
    `ce`: mean cross-entropy of p_T against the judge's distribution (nats; Hubinger's loss of the market);
    `gold`: share of p_T's top answers that are the gold one; `mean_shift`: mean shift per step (the trace's
    measure) over every valid step; `stability`: mean shift of each episode's last step; `stopped`: share that
    stopped early; `invalid`: share of trajectory points without a usable prediction.
    """
    rows = []
    traced = [r for r in records if r.scored and r.market is not None]
    for (label, judge, task), group in group_by(traced, lambda r: (r.label, r.judge, r.task)).items():
        agree: list[bool] = []
        p_judge: list[float] = []
        ce: list[float] = []
        gold: list[bool] = []
        shifts: list[float] = []
        last: list[float] = []
        points = invalid = 0
        for r in group:
            trace = r.market
            assert trace is not None  # filtered above
            points += len(trace.trajectory)
            invalid += sum(p is None for p in trace.trajectory)
            shifts += [x for x in trace.shifts if x is not None]
            if trace.shifts and trace.shifts[-1] is not None:
                last.append(trace.shifts[-1])
            final = trace.final
            if final is None:
                continue
            top = market_top(final, r.order_shown)
            if r.gold is not None:
                gold.append(top == r.gold)
            if r.valid and r.choice is not None and r.choice < len(final):
                agree.append(top == r.choice)
                p_judge.append(final[r.choice])
                if r.probabilities and len(r.probabilities) == len(final):
                    ce.append(cross_entropy(r.probabilities, final))
        lo, hi = wilson_interval(sum(agree), len(agree), confidence)
        rows.append(
            {
                "protocol": label,
                "judge": judge,
                "task": task,
                "measure": group[0].market.measure if group[0].market is not None else "",
                "n": len(group),
                "steps": float(np.mean([len(r.market.shifts) for r in group if r.market is not None])),
                "n_agree": len(agree),
                "agree": _ratio(sum(agree), len(agree)),
                "lo": lo,
                "hi": hi,
                "p_judge": float(np.mean(p_judge)) if p_judge else math.nan,
                "ce": float(np.mean(ce)) if ce else math.nan,
                "gold": _ratio(sum(gold), len(gold)),
                "mean_shift": float(np.mean(shifts)) if shifts else math.nan,
                "stability": float(np.mean(last)) if last else math.nan,
                "stopped": _ratio(sum(bool(r.market and r.market.stopped_early) for r in group), len(group)),
                "invalid": _ratio(invalid, points),
            }
        )
    return rows


def market_curves(records: Sequence[Record]) -> dict[tuple[str, str], dict[str, dict[str, list[float]]]]:
    """Per (judge, task) and protocol label, the market's trajectory summarised by step: `shift[t-1]` the mean
    shift of step t (episodes that reached it, valid shifts), `p_judge[t]` the mean probability p_t gave the answer
    the judge finally chose (episodes with a valid verdict and a valid p_t), and `n_shift` / `n_p` their counts."""
    out: dict[tuple[str, str], dict[str, dict[str, list[float]]]] = {}
    traced = [r for r in records if r.scored and r.market is not None]
    for (judge, task), group in group_by(traced, lambda r: (r.judge, r.task)).items():
        curves: dict[str, dict[str, list[float]]] = {}
        for label, rs in group_by(group, lambda r: r.label).items():
            depth = max(len(r.market.trajectory) for r in rs if r.market is not None)
            shift_cols: list[list[float]] = [[] for _ in range(depth - 1)]
            p_cols: list[list[float]] = [[] for _ in range(depth)]
            for r in rs:
                trace = r.market
                assert trace is not None  # filtered above
                for k, x in enumerate(trace.shifts):
                    if x is not None:
                        shift_cols[k].append(x)
                if not r.valid or r.choice is None:
                    continue
                for k, p in enumerate(trace.trajectory):
                    if p is not None and r.choice < len(p):
                        p_cols[k].append(p[r.choice])
            curves[label] = {
                "shift": [float(np.mean(c)) if c else math.nan for c in shift_cols],
                "n_shift": [float(len(c)) for c in shift_cols],
                "p_judge": [float(np.mean(c)) if c else math.nan for c in p_cols],
                "n_p": [float(len(c)) for c in p_cols],
            }
        out[(judge, task)] = curves
    return out


def bias_rows(records: Sequence[Record], confidence: float = 0.95) -> list[Row]:
    """Position bias per protocol label x judge: the share of verdicts that picked the answer shown first (both
    orders of a swapped judgment count), with a Wilson interval; for swapped judges also the mean bias
    (p(first shown) - 1/k) and the share of episodes whose two orders agreed.

    With answer orders counterbalanced, a judge that reads the arguments picks the first answer about half the
    time; one that backs whatever is shown first, always. The interval treats verdicts as independent (the two
    orders of one episode are not, so for swapped judges it is somewhat too narrow).
    """
    rows = []
    for (label, judge), group in group_by([r for r in records if r.scored], lambda r: (r.label, r.judge)).items():
        picks = [p for r in group for p in r.first_picks]
        if not picks:
            continue
        lo, hi = wilson_interval(sum(picks), len(picks), confidence)
        biases = [r.position_bias for r in group if r.position_bias is not None]
        consistent = [r.swap_consistent for r in group if r.swap_consistent is not None]
        rows.append(
            {
                "protocol": label,
                "judge": judge,
                "episodes": len(group),
                "picks": len(picks),
                "first_shown": sum(picks) / len(picks),
                "lo": lo,
                "hi": hi,
                "mean_bias": float(np.mean(biases)) if biases else math.nan,
                "consistent": _ratio(sum(consistent), len(consistent)) if consistent else math.nan,
            }
        )
    return rows


def judge_pair_rows(records: Sequence[Record], confidence: float = 0.95) -> list[Row]:
    """Judges compared on identical transcripts: per protocol label x task, every pair of judges that judged the
    same transcripts (an original run and its re-judgings): accuracy of each, the difference, McNemar's exact
    test, and how often they chose the same answer."""
    rows = []
    scored = [r for r in records if r.scored]
    for (label, task), group in group_by(scored, lambda r: (r.label, r.task)).items():
        by_judge: dict[str, dict[str, Record]] = {}
        for r in group:
            by_judge.setdefault(r.judge, {}).setdefault(r.transcript, r)
        for a, b in combinations(sorted(by_judge), 2):
            shared = [t for t in by_judge[a] if t in by_judge[b]]
            if not shared:
                continue
            ra, rb = [by_judge[a][t] for t in shared], [by_judge[b][t] for t in shared]
            ca, cb = [r.correct for r in ra], [r.correct for r in rb]
            same = [x.valid and y.valid and x.choice == y.choice for x, y in zip(ra, rb, strict=True)]
            lo, hi = wilson_interval(sum(same), len(same), confidence)
            mc = mcnemar_exact(ca, cb)
            rows.append(
                {
                    "protocol": label,
                    "task": task,
                    "a": a,
                    "b": b,
                    "n": len(shared),
                    "acc_a": float(np.mean(ca)),
                    "acc_b": float(np.mean(cb)),
                    "diff": float(np.mean(ca)) - float(np.mean(cb)),
                    "a_only": mc.a_only,
                    "b_only": mc.b_only,
                    "mcnemar_p": mc.p_value,
                    "agreement": sum(same) / len(same),
                    "lo": lo,
                    "hi": hi,
                }
            )
    return rows


def jury_rows(
    records: Sequence[Record], reference: Callable[[Record], list[float] | None] | None = None
) -> list[Row]:
    """Jury disagreement per protocol label x judge: mean vote entropy (bits) and pairwise agreement per episode,
    Fleiss' kappa over the episodes in which every juror gave a valid verdict, and (with `reference`, a function
    giving a record's reference-population distribution over its choices) the mean Jensen–Shannon distance
    between the jury's vote distribution and the reference's, per question."""
    rows = []
    juries = [r for r in records if r.scored and r.votes is not None]
    for (label, judge), group in group_by(juries, lambda r: (r.label, r.judge)).items():
        full = max(sum(r.votes or []) for r in group)
        table = [list(r.votes or []) for r in group if sum(r.votes or []) == full]
        width = max((len(t) for t in table), default=0)
        table = [t + [0] * (width - len(t)) for t in table]
        entropies = [r.jury_entropy for r in group if r.jury_entropy is not None]
        agreements = [r.jury_agreement for r in group if r.jury_agreement is not None]
        row: Row = {
            "protocol": label,
            "judge": judge,
            "episodes": len(group),
            "jurors": full,
            "entropy": float(np.mean(entropies)) if entropies else math.nan,
            "agreement": float(np.mean(agreements)) if agreements else math.nan,
            "kappa": _none_nan(fleiss_kappa(table)),
            "kappa_n": len(table),
            "js": math.nan,
            "js_n": 0,
        }
        if reference is not None:
            distances = []
            for _q, rs in group_by(group, lambda r: (r.task, r.question_id)).items():
                ref = reference(rs[0])
                pooled = [sum((r.votes or [])[i] for r in rs) for i in range(len(rs[0].votes or []))]
                if ref is not None and len(ref) == len(pooled) and sum(pooled) > 0 and sum(ref) > 0:
                    distances.append(jensen_shannon_distance(pooled, ref))
            if distances:
                row["js"], row["js_n"] = float(np.mean(distances)), len(distances)
        rows.append(row)
    return rows


def _none_nan(x: float | None) -> float:
    return math.nan if x is None else x
