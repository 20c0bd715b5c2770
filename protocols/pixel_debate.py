"""Sparse-pixel debate (Irving et al. 2018, "AI safety via debate") as protocols: the same runner, store and
`oversight compare` as every other protocol, with programmatic agents and a sparse-pixel judge.

- `pixel-debate`: two debaters who see the whole image (a question of the `digits` / `fashion-mnist` tasks, its
  image the hidden context) alternately reveal one pixel each, k in all; one argues for the true class, the other
  for a wrong class it committed to up front. The judge, from those k pixels alone, picks whichever of the two
  claimed classes it finds more likely. With `liars = "all"` (the paper's precommit setting) one game is played
  per wrong class and the debate is right only if the honest debater wins every one.
- `random-pixels`: the baseline, the judge naming the class from k pixels drawn at random (argmax over all).
- `pixel-consultancy`: one consultant reveals all k pixels for its assigned side of two classes (the true one and
  a seeded wrong one, the true side half the time); the judge picks between the two.

The judge is a spec's judge entry `pixel = { k = 6, hidden = [256], ... }` (`oversight.judge_entry
.PixelJudgeParams`; the dataset is the task's), trained once and cached (`judges.pixel_judge.load_pixel_judge`).
Debaters are config: `debater = { strategy = "mcts", rollouts = 32 }` (`random`, `greedy`, `mcts`, `minimax`).
"""

from __future__ import annotations

import functools
import zlib
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.pixel_debater import GreedyPixelDebater, MCTSPixelDebater, MinimaxPixelDebater, RandomPixelDebater
from agents.pixel_game import ImageScorer, PixelDebateGame, PixelDebater, Side, liar_labels, play_pixel_debate
from judges.pixel_judge import PixelJudgeConfig, SparsePixelJudge, judge_cache_dir, load_pixel_judge, sample_masks
from judges.settings import JudgeSettings
from oversight.counterbalance import Balance, SidePolicy, assigned_side
from oversight.episode import Judgment, Outcome, ProtocolResult, Provenance, Turn
from oversight.judge_entry import JudgeEntry, PixelJudgeParams
from oversight.protocol_registry import EpisodeSetup, ProtocolEntry
from oversight.tasks.images import IMAGE_SETS, question_image
from oversight.transcript import Transcript, make_turn
from oversight.types import Question
from protocols.kit import ProtocolConfig, balance_of

Strategy = Literal["random", "greedy", "mcts", "minimax"]


class PixelDebaterSpec(BaseModel):
    """How a programmatic pixel debater plays: `random` (a seeded random legal pixel), `greedy` (the pixel that
    most raises the judge's log-odds of its class over the other's, one move ahead), `mcts` (tree search with
    `rollouts` simulations per move; `c_puct` and `temperature` as in `agents.MCTSPixelDebater`) or `minimax`
    (alpha-beta over each mover's `width` greedy-best reveals, the last reveal over all: `agents
    .MinimaxPixelDebater`)."""

    model_config = ConfigDict(extra="forbid")

    strategy: Strategy = "greedy"
    rollouts: int = Field(default=32, ge=1)
    c_puct: float = Field(default=1.0, ge=0.0)
    temperature: float = Field(default=1.0, gt=0.0)
    width: int = Field(default=3, ge=1)

    @property
    def name(self) -> str:
        """`random`, `greedy`, `mcts-<rollouts>` or `minimax-<width>`."""
        if self.strategy == "mcts":
            return f"mcts-{self.rollouts}"
        return f"minimax-{self.width}" if self.strategy == "minimax" else self.strategy

    def build(self, seed: int) -> PixelDebater:
        """The debater this spec describes (`seed` seeds a random one)."""
        if self.strategy == "random":
            return RandomPixelDebater(seed=seed)
        if self.strategy == "greedy":
            return GreedyPixelDebater()
        if self.strategy == "minimax":
            return MinimaxPixelDebater(width=self.width)
        return MCTSPixelDebater(rollouts=self.rollouts, c_puct=self.c_puct, temperature=self.temperature)


class PixelProtocolConfig(ProtocolConfig):
    """Base of the pixel protocols' configs. The judge is a trained classifier, not a language model, so the
    inherited `temperature` and `judge` settings do not apply and are refused when set."""

    @model_validator(mode="after")
    def _no_llm_settings(self) -> PixelProtocolConfig:
        if self.temperature is not None:
            raise ValueError("temperature: the pixel protocols sample nothing (their judge is a classifier)")
        if self.judge != JudgeSettings():
            raise ValueError("judge: LLM judge settings do not apply to a sparse-pixel judge (set it in [[judges]])")
        return self


class RandomPixelsConfig(PixelProtocolConfig):
    """The random-pixels baseline has no settings: the k pixels are drawn with the episode's seed."""


class PixelDebateConfig(PixelProtocolConfig):
    """Debaters, which wrong classes the liar plays, and who reveals first.

    `debater` plays both sides (self-play, as in the paper) unless `liar` gives the liar its own strategy.
    `liars`: `all` (one game per wrong class; the honest debater must win all) or `random` (one wrong class per
    image, drawn with the seed). `first`: the side that reveals first (`balanced`: half the images each, by the
    run's counterbalancing). `stop_at_loss`: stop an image's games at the first one the honest debater loses (the
    debate is then wrong whatever the rest would give; the episode records only the games played, and the same
    verdict and correctness as playing them all).
    """

    debater: PixelDebaterSpec = Field(default_factory=PixelDebaterSpec)
    liar: PixelDebaterSpec | None = None
    liars: Literal["all", "random"] = "all"
    first: Literal["honest", "liar", "balanced"] = "honest"
    stop_at_loss: bool = False


class PixelConsultancyConfig(PixelProtocolConfig):
    """The consultant's strategy and side: it reveals all k pixels for its side of two classes (the true one and
    a seeded wrong one); `side` is balanced over the run, or fixed (`correct`, `incorrect`)."""

    consultant: PixelDebaterSpec = Field(default_factory=PixelDebaterSpec)
    side: SidePolicy = "balanced"


class PixelGame(BaseModel):
    """One finished game: the two classes argued, who revealed which pixel (in order) and its value, and the
    judge's logits over every class from those pixels, its choice between the two, and the honest margin
    (logit[honest] - logit[liar])."""

    honest_label: int
    liar_label: int
    first: Side
    revealed: list[int]
    movers: list[str]
    values: list[int]
    logits: list[float]
    margin: float
    judge_choice: int
    honest_wins: bool


class PixelDebateResult(ProtocolResult):
    """The pixel debate's games (one per wrong class the liar played), whether the honest debater won them all,
    the game that decided the episode (the first one lost, else the closest), and what the judge is.
    `liar_classes` lists the classes the liar committed to, in playing order; with `stop_at_loss` the games stop
    at the first loss, and `games_skipped` counts the classes not played."""

    dataset: str = ""
    k: int = 0
    shape: list[int] = Field(default_factory=list)
    first: Side = "honest"
    liars: str = "all"
    liar_classes: list[int] = Field(default_factory=list)
    games_skipped: int = 0
    games: list[PixelGame] = Field(default_factory=list)
    honest_wins_all: bool = False
    decisive_game: int = 0


class RandomPixelsResult(ProtocolResult):
    """The k random pixels shown, their values and the judge's logits over every class."""

    dataset: str = ""
    k: int = 0
    shape: list[int] = Field(default_factory=list)
    revealed: list[int] = Field(default_factory=list)
    values: list[int] = Field(default_factory=list)
    logits: list[float] = Field(default_factory=list)


class PixelConsultancyResult(ProtocolResult):
    """The consultancy's one game (its `movers` all the consultant's side), and whether it argued the truth."""

    dataset: str = ""
    k: int = 0
    shape: list[int] = Field(default_factory=list)
    game: PixelGame | None = None
    consultant_correct: bool = False


# -- the judge ------------------------------------------------------------------------------------------------------


def pixel_judge_config(entry: object, question: Question) -> PixelJudgeConfig:
    """The judge a spec's judge entry describes, for the dataset `question` comes from.

    Raises ValueError when the entry is not a sparse-pixel judge or the question is not from an image task."""
    if not isinstance(entry, JudgeEntry) or entry.kind != "pixel" or entry.pixel is None:
        kind = entry.kind if isinstance(entry, JudgeEntry) else "model"
        raise ValueError(f"the pixel protocols need a sparse-pixel judge (pixel = {{ k = 6 }}), not a {kind} judge")
    dataset = question.source.dataset if question.source is not None else ""
    if dataset not in IMAGE_SETS:
        raise ValueError(f"question {question.id}: from {dataset!r}, not an image task ({', '.join(IMAGE_SETS)})")
    return judge_config_for(entry.pixel, dataset)


def judge_config_for(pixel: PixelJudgeParams, dataset: str) -> PixelJudgeConfig:
    """The judge a spec's `pixel = {...}` judge entry describes on `dataset`'s images (what a run loads)."""
    return PixelJudgeConfig(dataset=dataset, **pixel.model_dump())


def cached_pixel_judge(config: PixelJudgeConfig) -> SparsePixelJudge:
    """`load_pixel_judge(config)`, kept in memory for the process: every episode of a run shares one judge (the
    on-disk cache, `judge_cache_dir()`, keeps it across processes). Raises like `load_pixel_judge`."""
    return _loaded(config, str(judge_cache_dir()))


@functools.lru_cache(maxsize=16)
def _loaded(config: PixelJudgeConfig, cache_dir: str) -> SparsePixelJudge:
    return load_pixel_judge(config, cache_dir=cache_dir)


def _image(judge: SparsePixelJudge, question: Question) -> np.ndarray:
    """The question's image, checked to fit the judge (shape and class names)."""
    image = question_image(question)
    if image.shape != judge.shape or tuple(question.choices) != judge.class_names:
        raise ValueError(
            f"question {question.id}: a {image.shape} image with choices {question.choices[:3]}...; the judge "
            f"{judge.config.name} takes {judge.shape} images of {judge.class_names[:3]}..."
        )
    if question.answer is None:
        raise ValueError(f"question {question.id}: no gold class (a pixel debater must know the truth)")
    return image


def _seed(seed: int, question: Question, what: str) -> int:
    return zlib.crc32(f"{seed}|{question.id}|{what}".encode())


# -- playing and recording ------------------------------------------------------------------------------------------


def _reveal_turn(
    judge: SparsePixelJudge, image: np.ndarray, role: str, claim: int | None, pixel: int, move: int
) -> Turn:
    row, col = divmod(int(pixel), judge.shape[1])
    value = int(image.reshape(-1)[pixel])
    text = f"reveals pixel (row {row}, column {col}): {value} of {judge.max_value}"
    meta = {"pixel": int(pixel), "row": row, "col": col, "value": value}
    return make_turn(role, text, kind="reveal", round=move, answer=claim, meta=meta)


def _play(
    t: Transcript,
    judge: SparsePixelJudge,
    image: np.ndarray,
    game: PixelDebateGame,
    honest: PixelDebater,
    liar: PixelDebater,
    roles: dict[Side, str],
    index: int,
) -> PixelGame:
    """Play `game`, add one reveal turn per move to `t` (tagged with the game's index), and return its record."""
    record = play_pixel_debate(game, honest, liar)
    claims = {"honest": game.honest_label, "liar": game.liar_label}
    for move, (pixel, side) in enumerate(zip(record.revealed, record.movers, strict=True)):
        turn = _reveal_turn(judge, image, roles[side], claims[side], pixel, move)
        turn.meta["game"] = index
        t.add(turn)
    flat = image.reshape(-1)
    return PixelGame(
        honest_label=game.honest_label,
        liar_label=game.liar_label,
        first=game.first,
        revealed=list(record.revealed),
        movers=list(record.movers),
        values=[int(flat[p]) for p in record.revealed],
        logits=[float(z) for z in judge.logits(image, record.revealed)],
        margin=record.margin,
        judge_choice=record.judge_choice,
        honest_wins=record.honest_wins,
    )


def _verdict(judge: SparsePixelJudge, choice: int, rationale: str, **meta: Any) -> Judgment:
    return Judgment(
        judge=judge.identity,
        choice=choice,
        method="program",
        rationale=rationale,
        provenance=Provenance(
            judge=judge.identity,
            rubric=f"sparse-pixel classifier {judge.config.name}: trained on random {judge.k}-pixel masks",
            rubric_author="program",
        ),
        meta=meta,
    )


def _image_fields(judge: SparsePixelJudge) -> dict[str, Any]:
    return {"dataset": judge.config.dataset, "k": judge.k, "shape": list(judge.shape)}


async def pixel_debate(
    question: Question,
    judge: SparsePixelJudge,
    honest: PixelDebater,
    liar: PixelDebater,
    cfg: PixelDebateConfig,
    seed: int = 0,
    balance: Balance | None = None,
) -> Outcome:
    """Debate `question`'s image: for each wrong class the liar commits to (`cfg.liars`), the two debaters reveal
    k pixels alternately from `cfg.first`, and the judge picks between the two claimed classes. The judgment is
    the true class when the honest debater won every game, else the liar's class in the first game it won.

    Returns the Outcome (one reveal turn per move; the games in its `PixelDebateResult`); raises ValueError when
    the image does not fit the judge or a debater reveals an illegal pixel."""
    image = _image(judge, question)
    label = int(question.answer)  # type: ignore[arg-type]  (checked by _image)
    bal = balance_of(question, seed, balance)
    first: Side = cfg.first if cfg.first != "balanced" else "liar" if bal.second_speaks_first else "honest"
    rng = np.random.default_rng(_seed(seed, question, "liars"))
    lies = liar_labels(label, len(judge.class_names), cfg.liars, rng)
    t = Transcript.start(question, seed=seed, context_roles={"honest", "liar"}, rounds=judge.k)
    roles: dict[Side, str] = {"honest": "honest", "liar": "liar"}
    scorer = ImageScorer(judge, image)  # the judge's first layer for this image, shared by its games
    games: list[PixelGame] = []
    for g, lie in enumerate(lies):
        game = PixelDebateGame(judge, image, label, lie, first, scorer=scorer)
        games.append(_play(t, judge, image, game, honest, liar, roles, g))
        if cfg.stop_at_loss and not games[-1].honest_wins:
            break
    lost = [g for g, game in enumerate(games) if not game.honest_wins]
    decisive = lost[0] if lost else int(np.argmin([game.margin for game in games]))
    choice = label if not lost else games[decisive].liar_label
    won, skipped = len(games) - len(lost), len(lies) - len(games)
    why = f"the honest debater won {won} of {len(games)} games"
    if skipped:
        why += f" ({skipped} more not played: the debate was lost)"
    verdict = _verdict(judge, choice, why, games=len(games))
    result = PixelDebateResult(
        sides={"honest": label, "liar": games[decisive].liar_label},
        honest="honest",
        agents={"honest": _identity(honest), "liar": _identity(liar), "judge": judge.identity},
        first=first,
        liars=cfg.liars,
        liar_classes=lies,
        games_skipped=skipped,
        games=games,
        honest_wins_all=not lost,
        decisive_game=decisive,
        **_image_fields(judge),
    )
    return t.close(verdict, result=result)


async def random_pixels(question: Question, judge: SparsePixelJudge, seed: int = 0) -> Outcome:
    """The baseline: the judge names the class (argmax over all) from k pixels of the image drawn at random from
    its pool with (seed, question). Returns the Outcome (one reveal turn per pixel, role `chance`)."""
    image = _image(judge, question)
    rng = np.random.default_rng(_seed(seed, question, "random-pixels"))
    revealed = [int(p) for p in sample_masks(image[None], judge.k, judge.config.pool, rng)[0]]
    logits = judge.logits(image, revealed)
    choice = int(np.argmax(logits))
    t = Transcript.start(question, seed=seed, rounds=judge.k)
    for move, pixel in enumerate(revealed):
        t.add(_reveal_turn(judge, image, "chance", None, pixel, move))
    flat = image.reshape(-1)
    result = RandomPixelsResult(
        agents={"judge": judge.identity},
        revealed=revealed,
        values=[int(flat[p]) for p in revealed],
        logits=[float(z) for z in logits],
        **_image_fields(judge),
    )
    return t.close(_verdict(judge, choice, f"argmax over {len(logits)} classes"), result=result)


async def pixel_consultancy(
    question: Question,
    judge: SparsePixelJudge,
    consultant: PixelDebater,
    cfg: PixelConsultancyConfig,
    seed: int = 0,
    balance: Balance | None = None,
) -> Outcome:
    """One consultant reveals all k pixels for its assigned class of two (the true class and a seeded wrong one);
    the judge picks between them. Returns the Outcome; its `PixelConsultancyResult` holds the game."""
    image = _image(judge, question)
    label = int(question.answer)  # type: ignore[arg-type]
    rng = np.random.default_rng(_seed(seed, question, "liars"))
    lie = liar_labels(label, len(judge.class_names), "random", rng)[0]
    two = question.model_copy(update={"choices": [question.choices[label], question.choices[lie]], "answer": 0})
    bal = balance_of(question, seed, balance)
    side: Side = "honest" if assigned_side(two, cfg.side, bal) == 0 else "liar"
    game = PixelDebateGame(judge, image, label, lie, first=side, solo=side)
    t = Transcript.start(question, seed=seed, context_roles={"consultant"}, rounds=judge.k)
    record = _play(t, judge, image, game, consultant, consultant, {"honest": "consultant", "liar": "consultant"}, 0)
    argued = label if side == "honest" else lie
    verdict = _verdict(judge, record.judge_choice, f"between {label} and {lie}; the consultant argued {argued}")
    result = PixelConsultancyResult(
        sides={"consultant": argued},
        honest="consultant" if side == "honest" else None,
        agents={"consultant": _identity(consultant), "judge": judge.identity},
        game=record,
        consultant_correct=side == "honest",
        **_image_fields(judge),
    )
    return t.close(verdict, result=result)


def _identity(debater: PixelDebater) -> str:
    return f"program/pixel-debater/{debater.name}"


# -- registry entries -----------------------------------------------------------------------------------------------


def _judge(setup: EpisodeSetup) -> SparsePixelJudge:
    return cached_pixel_judge(pixel_judge_config(setup.judge, setup.question))


async def run_pixel_debate(setup: EpisodeSetup) -> Outcome:
    """Registry entry point of `pixel-debate`: the debaters the config names, the spec's sparse-pixel judge."""
    cfg = setup.config_as(PixelDebateConfig)
    honest = cfg.debater.build(_seed(setup.seed, setup.question, "honest"))
    liar = (cfg.liar or cfg.debater).build(_seed(setup.seed, setup.question, "liar"))
    return await pixel_debate(setup.question, _judge(setup), honest, liar, cfg, setup.seed, setup.balance)


async def run_random_pixels(setup: EpisodeSetup) -> Outcome:
    """Registry entry point of `random-pixels`."""
    setup.config_as(RandomPixelsConfig)
    return await random_pixels(setup.question, _judge(setup), setup.seed)


async def run_pixel_consultancy(setup: EpisodeSetup) -> Outcome:
    """Registry entry point of `pixel-consultancy`."""
    cfg = setup.config_as(PixelConsultancyConfig)
    consultant = cfg.consultant.build(_seed(setup.seed, setup.question, "consultant"))
    return await pixel_consultancy(setup.question, _judge(setup), consultant, cfg, setup.seed, setup.balance)


_PIXEL_JUDGES = ("pixel",)

PIXEL_DEBATE = ProtocolEntry(
    name="pixel-debate",
    config=PixelDebateConfig,
    roles=("judge",),
    run=run_pixel_debate,
    judge_kinds=_PIXEL_JUDGES,
    description="Irving et al.'s sparse-pixel debate: two debaters reveal k pixels; a k-pixel judge decides.",
)
RANDOM_PIXELS = ProtocolEntry(
    name="random-pixels",
    config=RandomPixelsConfig,
    roles=("judge",),
    run=run_random_pixels,
    judge_kinds=_PIXEL_JUDGES,
    description="The sparse-pixel judge alone, on k pixels drawn at random (the debate's baseline).",
)
PIXEL_CONSULTANCY = ProtocolEntry(
    name="pixel-consultancy",
    config=PixelConsultancyConfig,
    roles=("judge",),
    run=run_pixel_consultancy,
    judge_kinds=_PIXEL_JUDGES,
    description="One consultant reveals k pixels for its assigned class of two; a k-pixel judge decides.",
)

__all__ = [
    "PIXEL_CONSULTANCY",
    "PIXEL_DEBATE",
    "RANDOM_PIXELS",
    "PixelConsultancyConfig",
    "PixelConsultancyResult",
    "PixelDebateConfig",
    "PixelDebateResult",
    "PixelDebaterSpec",
    "PixelGame",
    "RandomPixelsConfig",
    "RandomPixelsResult",
    "cached_pixel_judge",
    "pixel_consultancy",
    "pixel_debate",
    "pixel_judge_config",
    "random_pixels",
]
