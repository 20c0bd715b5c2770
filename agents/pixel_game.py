"""The sparse-pixel debate game of Irving et al. 2018, as pure functions over a trained judge.

Two debaters see the whole image; one argues for the true class, the other for a class it committed to up
front. They alternately reveal one pixel each (never one already revealed, only pixels of the judge's pool),
k pixels in all, and the judge, seeing only those pixels, picks whichever of the two claimed classes has the
higher logit. With `liars="all"` (the paper's precommit setting) one game is played per wrong class and the
debate counts as correct only if the honest debater wins all of them; `liars="random"` plays one wrong class
drawn with a seed.

`PixelDebateGame` holds the rules and a per-game cache of the judge's scores of every candidate reveal from a
position, which greedy and tree-search debaters share. `play_pixel_debate` plays one game, `debate_image` all
the games of one image, `debate_correct` scores a set of images, `random_pixel_correct` is the no-debate
baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from judges.pixel_judge import SparsePixelJudge

Side = Literal["honest", "liar"]
Liars = Literal["all", "random"]
Position = tuple[int, ...]


class PixelDebater(Protocol):
    """Chooses the next pixel to reveal for `side` from position `revealed` (the pixels shown so far, in order)."""

    name: str

    def choose(self, game: PixelDebateGame, revealed: Position, side: Side) -> int: ...


class ImageScorer:
    """The judge's first layer precomputed for one image, shared by every game played on it.

    `margins(pos, a, b)` scores every pool pixel as the next reveal from position `pos` in one pass: the pool's
    first-layer rows (contiguous, float32) plus the revealed pixels' sum, a ReLU in place, one matrix-vector
    product per further layer. Float32 halves the memory traffic of this, the debaters' whole cost; the
    differences from the float64 judge are rounding (about 1e-6 of a logit), and only guide the debaters: the
    judge's verdict on a finished game is always the float64 `SparsePixelJudge.decide_between`.
    """

    def __init__(self, judge: SparsePixelJudge, image: np.ndarray) -> None:
        self.judge = judge
        self.image = np.asarray(image)
        self.contrib = judge.contributions(image)  # float64: the revealed pixels' sum is taken exactly
        self.pool = judge.pool_pixels(image)
        self.pool_contrib = self.contrib[self.pool].astype(np.float32)
        self.buffer = np.empty_like(self.pool_contrib)
        self._zero = np.zeros(self.contrib.shape[1], dtype=np.float32)
        self._hidden = [
            (w.astype(np.float32), b.astype(np.float32))
            for w, b in zip(judge.weights[1:-1], judge.biases[1:-1], strict=True)
        ]
        self._directions: dict[tuple[int, int], tuple[np.ndarray, float]] = {}

    def _direction(self, a: int, b: int) -> tuple[np.ndarray, float]:
        hit = self._directions.get((a, b))
        if hit is None:
            last, bias = self.judge.weights[-1], self.judge.biases[-1]
            hit = self._directions[(a, b)] = ((last[:, a] - last[:, b]).astype(np.float32), float(bias[a] - bias[b]))
        return hit

    def margins(self, pos: Position, a: int, b: int) -> np.ndarray:
        """logit[a] - logit[b] after revealing each pool pixel (`pool` order, float64 array) in addition to `pos`;
        the entries of already revealed pixels are meaningless (callers drop them)."""
        shift = self.judge.biases[0] + (self.contrib[list(pos)].sum(axis=0) if pos else 0.0)
        h = np.add(self.pool_contrib, shift.astype(np.float32), out=self.buffer)
        np.maximum(h, self._zero, out=h)
        for w, bias in self._hidden:
            h = np.maximum(h @ w + bias, 0.0)
        direction, offset = self._direction(a, b)
        return (h @ direction).astype(np.float64) + offset


@dataclass
class PixelDebateGame:
    """The rules of one debate: image, judge, the two claimed classes and who moves first.

    Positions are tuples of revealed pixels. `margin(pos)` is the judge's log-odds of the honest class over the
    liar's, logit[honest] - logit[liar]; the honest debater wins a finished game when it is >= 0 (the judge's
    tie rule favours the first class named, the honest one). `solo` set to a side makes that side reveal every
    pixel (a consultancy: one arguer, the other class never argued for).
    """

    judge: SparsePixelJudge
    image: np.ndarray
    honest_label: int
    liar_label: int
    first: Side = "honest"
    solo: Side | None = None
    scorer: ImageScorer | None = field(default=None, repr=False)
    _pool: np.ndarray = field(init=False, repr=False)
    _scores: dict[frozenset[int], tuple[np.ndarray, np.ndarray]] = field(init=False, repr=False)
    evaluations: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        n_classes = len(self.judge.class_names)
        if not (0 <= self.honest_label < n_classes and 0 <= self.liar_label < n_classes):
            raise ValueError(f"labels {self.honest_label}, {self.liar_label} must be class indices 0..{n_classes - 1}")
        if self.honest_label == self.liar_label:
            raise ValueError(f"the liar must claim another class than the honest debater ({self.honest_label})")
        if self.first not in ("honest", "liar"):
            raise ValueError(f"first must be 'honest' or 'liar', got {self.first!r}")
        if self.solo not in (None, "honest", "liar"):
            raise ValueError(f"solo must be None, 'honest' or 'liar', got {self.solo!r}")
        if self.scorer is None:
            self.scorer = ImageScorer(self.judge, self.image)
        elif self.scorer.judge is not self.judge or not np.array_equal(self.scorer.image, self.image):
            raise ValueError("the scorer was made for another judge or image")
        self._pool = self.scorer.pool
        if len(self._pool) < self.k:
            raise ValueError(f"the image has {len(self._pool)} revealable pixels, fewer than k={self.k}")
        self._scores = {}

    @property
    def k(self) -> int:
        """Pixels revealed in a finished game."""
        return self.judge.k

    def to_move(self, pos: Position) -> Side | None:
        """Whose turn it is at `pos`, None when the game is over."""
        if len(pos) >= self.k:
            return None
        if self.solo is not None:
            return self.solo
        other: Side = "liar" if self.first == "honest" else "honest"
        return self.first if len(pos) % 2 == 0 else other

    def _unrevealed(self, pos: Position) -> np.ndarray:
        """Boolean mask over the pool: the pixels not revealed at `pos`."""
        assert self.scorer is not None  # set in __post_init__
        keep = np.ones(len(self._pool), dtype=bool)
        if len(self._pool) == self.scorer.contrib.shape[0]:  # pool "all": a pixel is its own index
            keep[list(pos)] = False
            return keep
        at = np.searchsorted(self._pool, pos)
        inside = at < len(self._pool)
        at = at[inside][self._pool[at[inside]] == np.asarray(pos)[inside]]
        keep[at] = False
        return keep

    def legal_moves(self, pos: Position) -> np.ndarray:
        """The pool pixels not yet revealed at `pos`, ascending."""
        return self._pool[self._unrevealed(pos)] if pos else self._pool

    def move_margins(self, pos: Position) -> tuple[np.ndarray, np.ndarray]:
        """(legal moves at `pos`, the margin after each): one batched judge evaluation, cached per position."""
        key = frozenset(pos)
        hit = self._scores.get(key)
        if hit is not None:
            return hit
        assert self.scorer is not None  # set in __post_init__
        margins = self.scorer.margins(pos, self.honest_label, self.liar_label)  # every pool pixel: no gather
        if pos:
            keep = self._unrevealed(pos)
            moves, margins = self._pool[keep], margins[keep]
        else:
            moves = self._pool
        self.evaluations += 1
        self._scores[key] = (moves, margins)
        return moves, margins

    def margin(self, pos: Position) -> float:
        """logit[honest] - logit[liar] given the pixels of `pos` (any number of them)."""
        z = self.judge.logits(self.image, pos)
        return float(z[self.honest_label] - z[self.liar_label])

    def play(self, pos: Position, pixel: int) -> Position:
        """The position after revealing `pixel`; raises ValueError when the game is over, the pixel was already
        revealed, or it is not in the judge's pool for this image."""
        if len(pos) >= self.k:
            raise ValueError(f"the game is over: {self.k} pixels are revealed")
        if pixel in pos:
            raise ValueError(f"pixel {pixel} is already revealed")
        if not np.any(self._pool == pixel):
            raise ValueError(f"pixel {pixel} cannot be revealed (not in the judge's {self.judge.config.pool} pool)")
        return (*pos, int(pixel))


@dataclass(frozen=True)
class PixelDebateRecord:
    """One finished game: the pixels in reveal order, who revealed each, the final margin and the verdict."""

    honest_label: int
    liar_label: int
    revealed: tuple[int, ...]
    movers: tuple[Side, ...]
    margin: float
    judge_choice: int

    @property
    def honest_wins(self) -> bool:
        """Whether the judge picked the true class."""
        return self.judge_choice == self.honest_label


def play_pixel_debate(game: PixelDebateGame, honest: PixelDebater, liar: PixelDebater) -> PixelDebateRecord:
    """Play `game` to the end, the debaters alternating from `game.first`; returns the record.

    Raises ValueError when a debater picks an illegal pixel (repeated, outside the pool).
    """
    pos: Position = ()
    movers: list[Side] = []
    while (side := game.to_move(pos)) is not None:
        debater = honest if side == "honest" else liar
        pos = game.play(pos, debater.choose(game, pos, side))
        movers.append(side)
    choice = game.judge.decide_between(game.image, pos, game.honest_label, game.liar_label)
    return PixelDebateRecord(game.honest_label, game.liar_label, pos, tuple(movers), game.margin(pos), choice)


def liar_labels(label: int, n_classes: int, liars: Liars, rng: np.random.Generator | None = None) -> list[int]:
    """The classes the liar commits to for an image of class `label`: every other class, or one seeded draw."""
    others = [c for c in range(n_classes) if c != label]
    if liars == "all":
        return others
    if liars == "random":
        if rng is None:
            raise ValueError("liars='random' needs an rng")
        return [others[int(rng.integers(len(others)))]]
    raise ValueError(f"liars must be 'all' or 'random', got {liars!r}")


def debate_image(
    judge: SparsePixelJudge,
    image: np.ndarray,
    label: int,
    honest: PixelDebater,
    liar: PixelDebater,
    liars: Sequence[int],
    first: Side = "honest",
    stop_at_loss: bool = False,
) -> list[PixelDebateRecord]:
    """One game per liar class in `liars` on `image` (true class `label`), in that order; the debate is correct
    when the honest debater wins every one (`all(r.honest_wins for r in records)`).

    `stop_at_loss=True` stops after the first game the honest debater loses (the debate is then wrong whatever
    the rest would give): the records are the games played, a prefix of the full list (games are independent,
    so each played game is the one the full run plays)."""
    scorer = ImageScorer(judge, image)
    records = []
    for lie in liars:
        records.append(play_pixel_debate(PixelDebateGame(judge, image, label, lie, first, scorer=scorer), honest, liar))
        if stop_at_loss and not records[-1].honest_wins:
            break
    return records


def random_pixel_correct(judge: SparsePixelJudge, images: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    """The baseline without debate: per image, whether the judge names the true class (argmax over all classes)
    from k pixels drawn at random from its pool with `seed`. Returns a bool array."""
    from judges.pixel_judge import sample_masks

    masks = sample_masks(images, judge.k, judge.config.pool, np.random.default_rng(seed))
    return judge.batch_logits(images, masks).argmax(axis=1) == labels


def debate_correct(
    judge: SparsePixelJudge,
    images: np.ndarray,
    labels: np.ndarray,
    honest: PixelDebater,
    liar: PixelDebater,
    liars: Liars = "all",
    first: Side = "honest",
    seed: int = 0,
    stop_at_loss: bool = True,
) -> np.ndarray:
    """Per image, whether debate gets it right: the honest debater wins every game against the liar classes
    `liar_labels` picks (all wrong classes, or one seeded draw per image). Returns a bool array.

    `stop_at_loss` (default) skips an image's remaining games once the honest debater lost one: the same answer,
    sooner."""
    rng = np.random.default_rng(seed)
    n_classes = len(judge.class_names)
    out = np.zeros(len(labels), dtype=bool)
    for i, (image, label) in enumerate(zip(images, labels.tolist(), strict=True)):
        lies = liar_labels(int(label), n_classes, liars, rng)
        records = debate_image(judge, image, int(label), honest, liar, lies, first, stop_at_loss)
        out[i] = all(r.honest_wins for r in records)
    return out
