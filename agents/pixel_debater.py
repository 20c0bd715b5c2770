"""Debaters for the sparse-pixel game: random, greedy, and Monte-Carlo tree search with a rollout budget.

All of them know the judge (as in Irving et al. 2018, where the debaters search against the fixed judge) and the
whole image. Greedy reveals the pixel that most raises the judge's log-odds of its class over the opponent's,
one move ahead. MCTS runs `rollouts` simulations per move (PUCT selection as in Silver et al. 2017; each
simulation descends to a finished game, which the judge scores), with priors and first-visit values from the
greedy one-move scores, so a single rollout plays exactly the greedy move and more rollouts search deeper. The
rollout budget is the debater-strength axis. The last move of a game needs no search: one batched judge call
scores every reply exactly, so simulations stop one move short and back up the best reply's value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from agents.pixel_game import PixelDebateGame, Position, Side


def _sign(side: Side) -> float:
    return 1.0 if side == "honest" else -1.0


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # tanh form: no overflow for large |x|


@dataclass
class RandomPixelDebater:
    """Reveals a uniformly random legal pixel (seeded): the weakest debater."""

    seed: int = 0
    name: str = "random"
    _rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)

    def choose(self, game: PixelDebateGame, revealed: Position, side: Side) -> int:
        """A random pixel not yet revealed."""
        moves = game.legal_moves(revealed)
        return int(moves[self._rng.integers(len(moves))])


@dataclass
class GreedyPixelDebater:
    """Reveals the pixel that most raises the judge's log-odds of its own class over the opponent's, looking one
    move ahead (ties go to the lowest pixel index)."""

    name: str = "greedy"

    def choose(self, game: PixelDebateGame, revealed: Position, side: Side) -> int:
        """The best legal pixel by one-move margin for `side`."""
        moves, margins = game.move_margins(revealed)
        return int(moves[int(np.argmax(_sign(side) * margins))])


class _Node:
    """A search-tree node: a position, its legal moves with priors and first-visit values, and edge statistics."""

    __slots__ = ("children", "moves", "n", "prior", "q", "q0", "side", "visits", "w")

    def __init__(self, game: PixelDebateGame, pos: Position, temperature: float) -> None:
        side = game.to_move(pos)
        assert side is not None
        moves, margins = game.move_margins(pos)
        scores = _sign(side) * margins  # the mover's log-odds after each move
        logits = scores / temperature
        prior = np.exp(logits - logits.max())
        self.side = side
        self.moves = moves
        self.prior = prior / prior.sum()
        self.q0 = _sigmoid(scores)  # value estimate of an unvisited move: the judge's view one move ahead
        self.q = self.q0.copy()  # mean value of each move: q0 until visited, then w / n (kept up to date)
        self.n = np.zeros(len(moves))
        self.w = np.zeros(len(moves))
        self.visits = 0
        self.children: dict[int, _Node] = {}


@dataclass
class MCTSPixelDebater:
    """Monte-Carlo tree search over reveals with `rollouts` simulations per move.

    Values are the judge's two-class probability of the mover's class, sigmoid(margin), scored at finished games;
    each side maximises its own. `c_puct` weighs priors against values, `temperature` (in logits) flattens the
    greedy prior. The move played is the most visited (then the best valued). Deterministic: no random choices.
    """

    rollouts: int = 64
    c_puct: float = 1.0
    temperature: float = 1.0
    name: str = ""

    def __post_init__(self) -> None:
        if self.rollouts < 1:
            raise ValueError(f"rollouts must be >= 1, got {self.rollouts}")
        if self.temperature <= 0 or self.c_puct < 0:
            raise ValueError("temperature must be > 0 and c_puct >= 0")
        self.name = self.name or f"mcts-{self.rollouts}"

    def choose(self, game: PixelDebateGame, revealed: Position, side: Side) -> int:
        """The move the search prefers for `side` (who must be the one to move at `revealed`)."""
        if game.to_move(revealed) != side:
            raise ValueError(f"it is not {side}'s move at {revealed}")
        root = _Node(game, revealed, self.temperature)
        for _ in range(self.rollouts):
            self._simulate(game, root, revealed)
        best = np.lexsort((-root.q, -root.n))[0]  # most visits, then highest value
        return int(root.moves[best])

    def _simulate(self, game: PixelDebateGame, root: _Node, pos: Position) -> None:
        path: list[tuple[_Node, int]] = []
        node = root
        while True:
            u = node.q + self.c_puct * node.prior * math.sqrt(node.visits + 1) / (1.0 + node.n)
            a = int(np.argmax(u))
            path.append((node, a))
            pos = (*pos, int(node.moves[a]))
            if len(pos) == game.k:  # a finished game: q0 is already the judge's exact verdict there
                value_honest = float(node.q0[a]) if node.side == "honest" else 1.0 - float(node.q0[a])
                break
            if len(pos) == game.k - 1:  # one move left: its best reply is exact from one evaluation
                _, margins = game.move_margins(pos)
                last = float(margins.max() if game.to_move(pos) == "honest" else margins.min())
                value_honest = float(_sigmoid(np.asarray(last)))
                break
            child = node.children.get(a)
            if child is None:
                child = node.children[a] = _Node(game, pos, self.temperature)
            node = child
        for n, a in path:
            v = value_honest if n.side == "honest" else 1.0 - value_honest
            n.n[a] += 1
            n.w[a] += v
            n.q[a] = n.w[a] / n.n[a]
            n.visits += 1


@dataclass
class MinimaxPixelDebater:
    """Exact alpha-beta minimax over the game in which each mover considers only its `width` best reveals by
    one-move score (the greedy ranking), and the last reveal of the game over every legal pixel.

    The value of a position is the judge's final margin logit[honest] - logit[liar] under optimal play of that
    restricted game: the honest debater maximises it, the liar minimises it. Unlike the MCTS's mean backups, a
    reply is valued by the opponent's best answer, so a move is only chosen if it survives every considered
    reply. `width=1` is exactly greedy (same moves); a larger width searches a superset of greedy's line. In
    self-play both sides search the same restricted tree, so the first move's search already decides the game.
    Judge evaluations are the game's cached `move_margins` (one per position, transpositions shared): at most
    `width ** (k - 1)` per game, far fewer with the pruning. Deterministic; ties go to the greedier move.
    """

    width: int = 3
    name: str = ""

    def __post_init__(self) -> None:
        if self.width < 1:
            raise ValueError(f"width must be >= 1, got {self.width}")
        self.name = self.name or f"minimax-{self.width}"

    def _candidates(self, game: PixelDebateGame, pos: Position, side: Side) -> tuple[np.ndarray, np.ndarray]:
        """(the mover's `width` best moves, best first (ties: lowest pixel), all margins at `pos`)."""
        moves, margins = game.move_margins(pos)
        order = np.argsort(-_sign(side) * margins, kind="stable")[: self.width]
        return moves[order], margins

    def value(self, game: PixelDebateGame, pos: Position, alpha: float = -math.inf, beta: float = math.inf) -> float:
        """The honest margin at the end of the game from `pos` under optimal restricted play (alpha-beta: exact
        when it lies in (alpha, beta), else a bound on the side that cuts)."""
        side = game.to_move(pos)
        if side is None:
            return game.margin(pos)
        if len(pos) == game.k - 1:  # the last reveal: every legal pixel, one evaluation
            margins = game.move_margins(pos)[1]
            return float(margins.max() if side == "honest" else margins.min())
        moves, _ = self._candidates(game, pos, side)
        best = -math.inf if side == "honest" else math.inf
        for pixel in moves.tolist():
            v = self.value(game, (*pos, pixel), alpha, beta)
            if side == "honest":
                best = max(best, v)
                alpha = max(alpha, v)
            else:
                best = min(best, v)
                beta = min(beta, v)
            if alpha >= beta:
                break
        return best

    def choose(self, game: PixelDebateGame, revealed: Position, side: Side) -> int:
        """The candidate with the best minimax value for `side` (the first, i.e. greediest, among equals)."""
        if game.to_move(revealed) != side:
            raise ValueError(f"it is not {side}'s move at {revealed}")
        moves, margins = self._candidates(game, revealed, side)
        if len(revealed) == game.k - 1 or len(moves) == 1:
            return int(moves[0])
        sign = _sign(side)
        best, best_v = int(moves[0]), -math.inf  # best_v in the mover's terms: sign * honest margin
        alpha, beta = -math.inf, math.inf
        for pixel in moves.tolist():
            v = self.value(game, (*revealed, pixel), alpha, beta)
            if sign * v > best_v:
                best, best_v = pixel, sign * v
                if side == "honest":
                    alpha = v
                else:
                    beta = v
        return best
