"""`compare(runs) -> Comparison`: protocol x judge x task statistics, paired tests, PGR, debater ratings, plots."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oversight.comparison import plots
from oversight.comparison.population import Reference, distribution_for, load_reference
from oversight.comparison.records import Record, to_records
from oversight.comparison.tables import (
    Row,
    bias_rows,
    judge_pair_rows,
    jury_rows,
    market_rows,
    paired_rows,
    pgr_rows,
    rating_rows,
    round_rows,
    side_rows,
    summary_rows,
    supervision_rows,
)
from oversight.episode import Episode

if TYPE_CHECKING:
    import pandas

REPORT_FILE = "report.md"
FIGURES_DIR = "figures"

#: which table -> its columns as (row key, header, format)
Column = tuple[str, str, str]
COLUMNS: dict[str, list[Column]] = {
    "summary": [
        ("protocol", "protocol", "s"),
        ("judge", "judge", "s"),
        ("task", "task", "s"),
        ("n", "n", "d"),
        ("accuracy", "acc", ".3f"),
        ("acc_ci", "95% CI", "ci"),
        ("invalid_rate", "invalid", ".3f"),
        ("pending", "pending", "d"),
        ("first_shown", "first shown", ".3f"),
        ("brier", "Brier", ".3f"),
        ("log_score", "log score", ".3f"),
        ("ece", "ECE", ".3f"),
        ("mean_confidence", "mean conf", ".3f"),
        ("tokens", "tokens/ep", ".0f"),
        ("cost", "cost $", ".4f"),
        ("cost_per_correct", "$/correct", ".4f"),
        ("latency", "latency s", ".2f"),
    ],
    "paired": [
        ("judge", "judge", "s"),
        ("task", "task", "s"),
        ("a", "A", "s"),
        ("b", "B", "s"),
        ("n_items", "shared items", "d"),
        ("n_questions", "questions", "d"),
        ("acc_a", "acc A", ".3f"),
        ("acc_b", "acc B", ".3f"),
        ("diff", "A - B", "+.3f"),
        ("diff_ci", "95% CI (bootstrap)", "ci"),
        ("a_only", "only A right", "d"),
        ("b_only", "only B right", "d"),
        ("mcnemar_p", "McNemar p", ".3g"),
        ("permutation_p", "permutation p", ".3g"),
    ],
    "pgr": [
        ("protocol", "protocol", "s"),
        ("judge", "judge", "s"),
        ("task", "task", "s"),
        ("n_questions", "questions", "d"),
        ("naive", "naive", ".3f"),
        ("accuracy", "protocol acc", ".3f"),
        ("expert", "expert", ".3f"),
        ("pgr", "PGR", ".3f"),
        ("pgr_ci", "95% CI (bootstrap)", "ci"),
        ("note", "note", "s"),
    ],
    "sides": [
        ("protocol", "protocol", "s"),
        ("judge", "judge", "s"),
        ("side", "side", "s"),
        ("wins", "wins", "d"),
        ("n", "decided", "d"),
        ("win_rate", "win rate", ".3f"),
        ("ci", "95% CI", "ci"),
        ("undecided", "undecided", "d"),
        ("quote_coverage", "quote coverage", ".3f"),
    ],
    "ratings": [
        ("judge", "judge", "s"),
        ("debater", "debater", "s"),
        ("elo", "Elo", ".0f"),
        ("elo_ci", "95% CI (bootstrap)", "ci0"),
        ("games", "games", ".0f"),
        ("score", "score", ".1f"),
        ("judge_accuracy", "judge acc", ".3f"),
        ("acc_ci", "95% CI", "ci"),
        ("n_accuracy", "n", "d"),
        ("basis", "basis", "s"),
    ],
    "bias": [
        ("protocol", "protocol", "s"),
        ("judge", "judge", "s"),
        ("episodes", "episodes", "d"),
        ("picks", "verdicts", "d"),
        ("first_shown", "first shown", ".3f"),
        ("ci", "95% CI", "ci"),
        ("mean_bias", "mean bias", "+.3f"),
        ("consistent", "orders agree", ".3f"),
    ],
    "judges": [
        ("protocol", "protocol", "s"),
        ("task", "task", "s"),
        ("a", "judge A", "s"),
        ("b", "judge B", "s"),
        ("n", "transcripts", "d"),
        ("acc_a", "acc A", ".3f"),
        ("acc_b", "acc B", ".3f"),
        ("diff", "A - B", "+.3f"),
        ("a_only", "only A right", "d"),
        ("b_only", "only B right", "d"),
        ("mcnemar_p", "McNemar p", ".3g"),
        ("agreement", "same answer", ".3f"),
        ("ci", "95% CI", "ci"),
    ],
    "jury": [
        ("protocol", "protocol", "s"),
        ("judge", "jury", "s"),
        ("episodes", "episodes", "d"),
        ("jurors", "jurors", "d"),
        ("entropy", "vote entropy", ".3f"),
        ("agreement", "pairwise agreement", ".3f"),
        ("kappa", "Fleiss kappa", ".3f"),
        ("js", "JS distance", ".3f"),
        ("js_n", "questions vs reference", "d"),
    ],
    "rounds": [
        ("kind", "kind", "s"),
        ("protocol", "protocol", "s"),
        ("judge", "judge", "s"),
        ("task", "task", "s"),
        ("round", "round", "d"),
        ("n", "n", "d"),
        ("accuracy", "acc", ".3f"),
        ("acc_ci", "95% CI", "ci"),
    ],
    "supervision": [
        ("protocol", "protocol", "s"),
        ("judge", "judge", "s"),
        ("task", "task", "s"),
        ("overseer", "overseer", "s"),
        ("n", "n", "d"),
        ("accuracy", "acc", ".3f"),
        ("acc_ci", "95% CI", "ci"),
        ("accepted", "accepted", ".3f"),
        ("wrong_steps", "wrong steps", "d"),
        ("caught", "caught", "d"),
        ("catch_rate", "catch rate", ".3f"),
        ("false_alarms", "false alarms", "d"),
        ("false_alarm_rate", "false-alarm rate", ".3f"),
    ],
    "market": [
        ("protocol", "protocol", "s"),
        ("judge", "judge", "s"),
        ("task", "task", "s"),
        ("n", "n", "d"),
        ("steps", "steps", ".1f"),
        ("agree", "M = H", ".3f"),
        ("ci", "95% CI", "ci"),
        ("p_judge", "p_T(H)", ".3f"),
        ("ce", "CE to H", ".3f"),
        ("gold", "M = gold", ".3f"),
        ("measure", "shift", "s"),
        ("mean_shift", "shift/step", ".3f"),
        ("stability", "last shift", ".3f"),
        ("stopped", "stopped early", ".3f"),
        ("invalid", "invalid p", ".3f"),
    ],
}

#: interval columns: name -> (lo key, hi key)
_INTERVALS = {
    "acc_ci": ("acc_lo", "acc_hi"),
    "diff_ci": ("diff_lo", "diff_hi"),
    "pgr_ci": ("pgr_lo", "pgr_hi"),
    "ci": ("lo", "hi"),
    "first_ci": ("first_lo", "first_hi"),
    "elo_ci": ("elo_lo", "elo_hi"),
}

TITLES = {
    "summary": "Accuracy, calibration and cost per protocol x judge x task",
    "paired": "Paired comparisons on shared questions",
    "pgr": "Sandwiching: performance gap recovered",
    "sides": "Debate: win rate by side",
    "ratings": "Debaters: Bradley-Terry (Elo) ratings and judge accuracy",
    "bias": "Judges: position bias (share of verdicts for the answer shown first)",
    "judges": "Judges compared on identical transcripts",
    "jury": "Juries: disagreement and distance to a reference population",
    "rounds": "Accuracy by round",
    "supervision": "Oversight: process and outcome supervision of the protocol's answers",
    "market": "Markets: does M predict its judge? Shifts per step and stability",
}


def _cell(row: Row, key: str, fmt: str) -> str:
    if fmt in ("ci", "ci0"):
        lo, hi = (row.get(k) for k in _INTERVALS[key])
        if lo is None or hi is None or (isinstance(lo, float) and math.isnan(lo)):
            return "–"
        return f"[{lo:.0f}, {hi:.0f}]" if fmt == "ci0" else f"[{lo:.3f}, {hi:.3f}]"
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if fmt == "s":
        return str(value).replace("|", "\\|")
    return format(value, fmt)


def format_table(rows: Sequence[Row], columns: Sequence[Column], markdown: bool = False) -> str:
    """`rows` as a Markdown table, or as aligned plain text; "–" marks a missing or undefined value."""
    headers = [h for _, h, _ in columns]
    cells = [[_cell(r, k, f) for k, _, f in columns] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        lines += ["| " + " | ".join(c) + " |" for c in cells]
        return "\n".join(lines)
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in out)


class Comparison:
    """Statistics of protocols on the same questions, from the episodes of one or more runs.

    Tables are computed on first use and cached; every resampling statistic is seeded, so two comparisons of the
    same runs print the same numbers.
    """

    def __init__(
        self,
        records: Sequence[Record],
        sources: Sequence[Path] = (),
        n_resamples: int = 10_000,
        rating_resamples: int = 1000,
        confidence: float = 0.95,
        seed: int = 0,
        reference: Reference | str | Path | None = None,
    ) -> None:
        self.records = list(records)
        self.sources = list(sources)
        self.n_resamples = n_resamples
        self.rating_resamples = rating_resamples
        self.confidence = confidence
        self.seed = seed
        # a reference population's per-question answer distributions (file or loaded), for the jury table
        self.reference = load_reference(reference) if isinstance(reference, str | Path) else reference

    @classmethod
    def from_episodes(
        cls, episodes: Iterable[Episode], task: str | Callable[[Episode], str] = "all", **options: Any
    ) -> Comparison:
        """A comparison of `episodes`. `task` names the task of every episode, or is a function of the episode;
        an episode's own `meta["task"]` wins over it. `options` go to `Comparison(...)`."""
        return cls(_records(episodes, task), **options)

    @cached_property
    def summary(self) -> list[Row]:
        """One row per protocol x judge x task (see `oversight.comparison.tables.summary_row`)."""
        return summary_rows(self.records, self.confidence)

    @cached_property
    def paired(self) -> list[Row]:
        """One row per pair of protocols with a shared judge, task and items."""
        return paired_rows(self.records, self.n_resamples, self.confidence, self.seed)

    @cached_property
    def pgr(self) -> list[Row]:
        """Performance gap recovered, where both sandwiching tiers were run."""
        return pgr_rows(self.records, self.n_resamples, self.confidence, self.seed)

    @cached_property
    def sides(self) -> list[Row]:
        """Debate win rates by side."""
        return side_rows(self.records, self.confidence)

    @cached_property
    def ratings(self) -> list[Row]:
        """Debater ratings per judge, with the judge's accuracy in that debater's debates."""
        return rating_rows(self.records, self.rating_resamples, self.confidence, self.seed)

    @cached_property
    def bias(self) -> list[Row]:
        """Each judge's position bias: the share of verdicts for the answer shown first, with an interval."""
        return bias_rows(self.records, self.confidence)

    @cached_property
    def judges(self) -> list[Row]:
        """Pairs of judges on identical transcripts (a run and its re-judgings)."""
        return judge_pair_rows(self.records, self.confidence)

    @cached_property
    def jury(self) -> list[Row]:
        """Jury disagreement (entropy, pairwise agreement, Fleiss' kappa) and JS distance to the reference."""
        ref = self.reference
        lookup = None if ref is None else (lambda r: distribution_for(ref, r.question_id, r.choices))
        return jury_rows(self.records, lookup)

    @cached_property
    def rounds(self) -> list[Row]:
        """Accuracy per round of multi-round protocols."""
        return round_rows(self.records, self.confidence)

    @cached_property
    def supervision(self) -> list[Row]:
        """Accuracy of each overseer (process, outcome supervision) and the wrong steps it caught."""
        return supervision_rows(self.records, self.confidence)

    @cached_property
    def market(self) -> list[Row]:
        """How well each market predicted its judge (final prediction vs the verdict), its shifts and stability."""
        return market_rows(self.records, self.confidence)

    def rows(self, which: str = "summary") -> list[Row]:
        """The rows of one table (a key of `COLUMNS`: summary, paired, pgr, sides, ratings, bias, judges, jury,
        rounds, supervision, market); raises KeyError otherwise."""
        if which not in COLUMNS:
            raise KeyError(f"unknown table {which!r} (known: {', '.join(COLUMNS)})")
        return getattr(self, which)

    def table(self, which: str | None = None, markdown: bool = False) -> str:
        """One table (or, with `which=None`, every non-empty one under a title) as aligned text or Markdown."""
        names = [which] if which is not None else [n for n in COLUMNS if self.rows(n)]
        parts = []
        for name in names:
            body = format_table(self.rows(name), COLUMNS[name], markdown)
            parts.append(body if which is not None else f"{TITLES[name]}\n\n{body}")
        return "\n\n".join(parts)

    def to_pandas(self, which: str = "summary") -> pandas.DataFrame:
        """One table as a pandas DataFrame (all raw columns); raises ImportError without pandas."""
        import pandas as pd

        return pd.DataFrame(self.rows(which))

    def plot(self, directory: str | Path) -> dict[str, Path]:
        """Write the PNG figures that have data into `directory`; returns {figure name: path}.

        Raises ImportError without matplotlib.
        """
        out = Path(directory)
        written = {
            "accuracy": plots.plot_accuracy(self.summary, out / "accuracy.png"),
            "calibration": plots.plot_calibration(self.records, out / "calibration.png"),
            "debater_rating": plots.plot_debater_rating(self.ratings, out / "debater_rating.png"),
            "rounds": plots.plot_rounds(self.rounds, out / "rounds.png"),
            "market": plots.plot_market(self.records, out / "market.png"),
        }
        return {name: path for name, path in written.items() if path is not None}

    def report(self, path: str | Path | None = None) -> Path:
        """Write a Markdown report (tables, figures under `figures/` next to it, conventions) and return its path.

        `path` defaults to `report.md` in the first run directory; a directory gets `report.md` inside it. Raises
        ValueError when there is neither a path nor a run directory, ImportError without matplotlib.
        """
        if path is None:
            if not self.sources:
                raise ValueError("no run directory to write the report into; pass a path")
            path = self.sources[0] / REPORT_FILE
        path = Path(path)
        if path.is_dir() or not path.suffix:
            path = path / REPORT_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        figures = self.plot(path.parent / FIGURES_DIR)
        path.write_text(render_report(self, figures, path.parent))
        return path


FIGURE_CAPTIONS = {
    "accuracy": "Accuracy by protocol (bars: 95% Wilson intervals).",
    "calibration": "Calibration: top-label confidence against accuracy in 10 equal-width bins (dot size: items).",
    "debater_rating": "Judge accuracy against debater Elo (bars: 95% bootstrap / Wilson intervals).",
    "rounds": "Accuracy by round of multi-round protocols (bands: 95% Wilson intervals).",
    "market": "Markets' trajectories: mean shift per step, and the mean probability M gave the judge's final answer.",
}


def render_report(comparison: Comparison, figures: dict[str, Path], base: Path) -> str:
    """The Markdown text of a report; figure links are relative to `base` (the report's directory)."""
    c = comparison
    lines = ["# Protocol comparison", ""]
    if c.sources:
        lines += ["Runs: " + ", ".join(f"`{s}`" for s in c.sources), ""]
    scored = sum(r.scored for r in c.records)
    errored = sum(r.errored for r in c.records)
    pending = sum(r.pending and not r.errored for r in c.records)
    lines += [
        f"{len(c.records)} episodes with a gold answer ({scored} scored, {errored} errored and left out, {pending} "
        f"pending a human judgment and left out). Intervals are {c.confidence:.0%}; resampling statistics use seed "
        f"{c.seed} "
        f"({c.n_resamples} resamples; {c.rating_resamples} for ratings).",
        "",
    ]
    for name in COLUMNS:
        rows = c.rows(name)
        if not rows:
            continue
        lines += [f"## {TITLES[name]}", "", format_table(rows, COLUMNS[name], markdown=True), ""]
        figure = {"summary": "accuracy", "ratings": "debater_rating", "rounds": "rounds", "market": "market"}.get(name)
        for fig_name in [figure, "calibration" if name == "summary" else None]:
            if fig_name and fig_name in figures:
                rel = figures[fig_name].relative_to(base).as_posix()
                lines += [f"![{FIGURE_CAPTIONS[fig_name]}]({rel})", "", f"*{FIGURE_CAPTIONS[fig_name]}*", ""]
    if not c.pgr:
        lines += [
            'No PGR: it needs, for one judge and task, `direct` runs with both `tier = "naive"` and '
            '`tier = "expert"`, and at least one other protocol.',
            "",
        ]
    lines += [
        "## How these numbers are computed",
        "",
        "- Accuracy counts an invalid (unparseable) final judgment as wrong; episodes that raised, and episodes "
        "whose judgment is pending (a human has not judged yet), are left out and counted apart.",
        "- Position bias ('first shown') is the share of verdicts that picked the answer shown first; a swapped "
        "judge contributes both of its orders. With orders counterbalanced, 0.5 means the order did not move the "
        "judge, 1.0 that it always backed the first answer.",
        "- Judges on identical transcripts: a re-judged episode is paired with every other judgment of the same "
        "transcript (the original run's, other re-judgings'); McNemar's exact test on those transcripts.",
        "- Juries: vote entropy in bits; pairwise agreement is the share of juror pairs choosing alike; Fleiss' kappa "
        "uses the episodes where every juror gave a valid verdict; JS distance (base 2, in [0, 1]) compares the "
        "jury's pooled votes per question with the reference population's distribution.",
        "- Brier score is the multi-class form, sum over choices of (p - [gold])^2, averaged (0 best, 2 worst). "
        "The log score is the mean natural log of the probability given to the gold answer (0 best), with "
        "probabilities clipped to [1e-12, 1 - 1e-12]. ECE is top-label, 10 equal-width bins, weighted by bin size. "
        "Calibration uses only judgments that state probabilities.",
        "- Paired comparisons use (question, seed) items both protocols answered: McNemar's exact test on those "
        "items; the bootstrap interval of the accuracy difference and the sign-flip permutation test resample "
        "questions, each scored by its accuracy averaged over shared seeds.",
        "- PGR = (protocol - naive) / (expert - naive) on questions all three answered; the bootstrap resamples "
        "questions jointly across the three. It is undefined when expert and naive accuracy are equal.",
        "- Debater ratings: Bradley-Terry by penalised maximum likelihood (Gaussian prior, precision 0.01 on "
        "natural-log strength), Elo = 1000 + 400 / ln(10) x strength; a debater wins when the judge picks its "
        "answer. Self-play debates give no matches. Judge accuracy against rating uses self-play debates when any.",
        "- Supervision: an overseer accepts a protocol's answer when every check it made accepted its step (process: "
        "every step; outcome: the final answer only); its accuracy is the share of answers it rightly accepted or "
        "rejected. Wrong steps are steps whose answer contradicts a gold step answer; caught ones were rejected.",
        "- Markets (market making): M = H is the share of episodes whose final prediction p_T puts most mass on the "
        "answer the judge chose (ties: the answer shown first); p_T(H) the mean probability p_T gave it; CE to H the "
        "mean cross-entropy -sum p*_i ln p_T,i against the judge's distribution p* (nats; Hubinger's loss of M); "
        "M = gold the share of p_T's top answers that are correct. Shifts are the protocol's measure (total "
        "variation, KL(p_t || p_t-1), or |delta p| on the judge's final answer); last shift is each episode's last "
        "step (stability); invalid p the share of predictions that gave no distribution.",
        "",
    ]
    return "\n".join(lines)


def compare(
    runs: str | Path | Sequence[Any], task: str | Callable[[Episode], str] | None = None, **options: Any
) -> Comparison:
    """Compare the protocols in one or more runs.

    `runs` holds run directories (or experiment directories: their newest run), loaded runs (objects with
    `.episodes` and `.path`), or `Episode`s. An episode's task is its `meta["task"]`, else `task` (a name or a
    function of the episode), else the run's only task entry, else "all". `options` go to `Comparison(...)`.
    Returns the `Comparison`; raises `oversight.store.StoreError` for a directory that is not a run.
    """
    if isinstance(runs, str | Path):
        runs = [runs]
    records: list[Record] = []
    sources: list[Path] = []
    loose: list[Episode] = []
    for item in runs:
        if isinstance(item, Episode):
            loose.append(item)
            continue
        if isinstance(item, str | Path):
            from oversight.store import load_run

            item = load_run(item)
        sources.append(Path(item.path))
        default = task if task is not None else _single_task(getattr(item, "spec", None) or {})
        records += _records(item.episodes, default)
    if loose:
        records += _records(loose, task if task is not None else "all")
    return Comparison(records, sources, **options)


def _records(episodes: Iterable[Episode], task: str | Callable[[Episode], str]) -> list[Record]:
    name_of = task if callable(task) else (lambda _ep, _t=task: _t)
    return to_records(episodes, lambda ep: str(ep.meta.get("task") or name_of(ep)))


def _single_task(spec: dict[str, Any]) -> str:
    """The dataset of a run's only task entry in `spec.json` (a file's stem, or the task name), else "all"."""
    tasks = (spec.get("spec") or {}).get("tasks") or []
    if len(tasks) != 1 or not isinstance(tasks[0], dict) or not tasks[0].get("dataset"):
        return "all"
    dataset = str(tasks[0]["dataset"])
    return Path(dataset).stem if Path(dataset).suffix in (".jsonl", ".json", ".csv") else dataset
