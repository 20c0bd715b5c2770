"""The sparse-pixel debate game with real (tiny) judges: debaters alternate and never reveal a pixel twice, illegal
reveals are refused, one MCTS rollout is exactly greedy, more rollouts never do worse than greedy on a fixed set,
and search finds the win that greedy misses on a hand-wired judge (checked against brute-force minimax)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.pixel_debater import GreedyPixelDebater, MCTSPixelDebater, MinimaxPixelDebater, RandomPixelDebater
from agents.pixel_game import (
    ImageScorer,
    PixelDebateGame,
    debate_correct,
    debate_image,
    liar_labels,
    play_pixel_debate,
    random_pixel_correct,
)
from judges.pixel_judge import PixelJudgeConfig, SparsePixelJudge, load_pixel_judge, sample_masks
from oversight.tasks.images import load_image_set

K4 = PixelJudgeConfig(
    dataset="digits", k=4, hidden=(16,), train_masks=40_000, learning_rate=0.01, seed=3, pool="nonzero"
)


@pytest.fixture(scope="module")
def digits():
    return load_image_set("digits", "test")


@pytest.fixture(scope="module")
def judge(tmp_path_factory):
    return load_pixel_judge(K4, cache_dir=tmp_path_factory.mktemp("judges"))


def _games(judge, digits, n_images):
    out = []
    for i in range(n_images):
        label = int(digits.labels[i])
        out += [PixelDebateGame(judge, digits.images[i], label, lie) for lie in liar_labels(label, 10, "all")[::3]]
    return out


@pytest.mark.parametrize("first", ["honest", "liar"])
@pytest.mark.parametrize(
    "make", [GreedyPixelDebater, lambda: MCTSPixelDebater(rollouts=8), lambda: RandomPixelDebater(seed=1)]
)
def test_debaters_alternate_and_never_repeat_a_pixel(judge, digits, first, make):
    for i in range(6):
        label = int(digits.labels[i])
        game = PixelDebateGame(judge, digits.images[i], label, (label + 1) % 10, first=first)
        record = play_pixel_debate(game, make(), make())
        other = "liar" if first == "honest" else "honest"
        assert record.movers == (first, other, first, other)
        assert len(record.revealed) == 4 == len(set(record.revealed))
        assert set(record.revealed) <= set(judge.pool_pixels(digits.images[i]).tolist())
        assert record.judge_choice == judge.decide_between(digits.images[i], record.revealed, label, game.liar_label)
        assert record.honest_wins == (record.margin >= 0)


class _Repeater:
    """Cheats: always asks for the same pixel."""

    name = "repeater"

    def __init__(self, pixel):
        self.pixel = pixel

    def choose(self, game, revealed, side):
        return self.pixel


def test_illegal_reveals_are_refused(judge, digits):
    img, label = digits.images[0], int(digits.labels[0])
    game = PixelDebateGame(judge, img, label, (label + 1) % 10)
    pool = judge.pool_pixels(img)
    blank = int(np.flatnonzero(img.reshape(-1) == 0)[0])
    with pytest.raises(ValueError, match="already revealed"):
        play_pixel_debate(game, _Repeater(int(pool[0])), _Repeater(int(pool[0])))
    with pytest.raises(ValueError, match="not in the judge's nonzero pool"):
        game.play((), blank)
    full = tuple(int(p) for p in pool[:4])
    assert game.to_move(full) is None
    with pytest.raises(ValueError, match="game is over"):
        game.play(full, int(pool[5]))
    with pytest.raises(ValueError, match="another class"):
        PixelDebateGame(judge, img, label, label)
    with pytest.raises(ValueError, match="class indices"):
        PixelDebateGame(judge, img, label, 10)


def test_one_rollout_is_greedy(judge, digits):
    for game in _games(judge, digits, 8):
        greedy = play_pixel_debate(game, GreedyPixelDebater(), GreedyPixelDebater())
        mcts = play_pixel_debate(game, MCTSPixelDebater(rollouts=1), MCTSPixelDebater(rollouts=1))
        assert mcts.revealed == greedy.revealed


def test_more_rollouts_never_do_worse_than_greedy(judge, digits):
    games = _games(judge, digits, 30)
    greedy = GreedyPixelDebater()
    base = [play_pixel_debate(g, greedy, greedy).honest_wins for g in games]
    honest_wins, liar_wins = [sum(base)], [len(base) - sum(base)]
    for rollouts in (4, 16, 64):
        mcts = MCTSPixelDebater(rollouts=rollouts)
        honest_wins.append(sum(play_pixel_debate(g, mcts, greedy).honest_wins for g in games))
        liar_wins.append(sum(not play_pixel_debate(g, greedy, mcts).honest_wins for g in games))
    # each side, searching with more rollouts against a greedy opponent, wins at least as often as greedy does
    assert all(w >= honest_wins[0] for w in honest_wins[1:]), honest_wins
    assert all(w >= liar_wins[0] for w in liar_wins[1:]), liar_wins


def _trap_judge() -> SparsePixelJudge:
    """A hand-wired judge on a 1x5 image where greedy loses and search wins (honest first, k=3).

    Pixels A=0 and B=1 each cost the honest class 0.2 logits alone but are worth +5 together (one hidden unit
    fires only when both are revealed); C=2 is worth +1; L1=3 and L2=4 are worth -1.5. Greedy opens with C and
    ends at 1 - 1.5 - 0.2 < 0; opening with A forces the liar to spend its move on L1, then B completes the pair.
    """
    effects = [-0.2, -0.2, 1.0, -1.5, -1.5]
    w0 = np.zeros((10, 6))
    w0[5 + np.arange(5), np.arange(5)] = 1.0  # unit p fires when pixel p is revealed (mask channel)
    w0[[5, 6], 5] = 1.0  # unit 5: A and B both revealed
    b0 = np.array([0, 0, 0, 0, 0, -1.5])
    w1 = np.zeros((6, 2))
    w1[:5, 0] = effects
    w1[5, 0] = 10.0  # relu(2 - 1.5) * 10 = +5
    config = PixelJudgeConfig(dataset="trap", k=3, hidden=(6,), pool="all")
    return SparsePixelJudge(config, [w0, w1], [b0, np.zeros(2)], ["honest", "liar"], (1, 5), 1)


def _minimax(game, pos):
    """Brute force: the margin under optimal play from `pos` (honest maximises, liar minimises)."""
    side = game.to_move(pos)
    moves, margins = game.move_margins(pos)
    values = margins if len(pos) == game.k - 1 else np.array([_minimax(game, (*pos, int(a))) for a in moves])
    return float(values.max() if side == "honest" else values.min())


def test_search_finds_the_win_greedy_misses():
    judge = _trap_judge()
    image = np.ones((1, 5), dtype=np.uint8)
    game = PixelDebateGame(judge, image, 0, 1)
    assert _minimax(game, ()) == pytest.approx(3.1) and _minimax(game, (2,)) == pytest.approx(-0.7)
    greedy = GreedyPixelDebater()
    assert play_pixel_debate(game, greedy, greedy).revealed == (2, 3, 0)  # C, L1, A: the honest side loses
    assert not play_pixel_debate(game, MCTSPixelDebater(rollouts=1), greedy).honest_wins
    for rollouts in (8, 64):
        record = play_pixel_debate(PixelDebateGame(judge, image, 0, 1), MCTSPixelDebater(rollouts=rollouts), greedy)
        assert record.revealed[0] in (0, 1) and record.honest_wins and record.margin == pytest.approx(3.1)
    # against a searching liar too: the liar cannot stop the pair, so optimal play wins
    strong = MCTSPixelDebater(rollouts=64)
    assert play_pixel_debate(PixelDebateGame(judge, image, 0, 1), strong, strong).honest_wins


def test_liar_labels():
    assert liar_labels(3, 10, "all") == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    picks = [liar_labels(3, 10, "random", np.random.default_rng(s))[0] for s in range(40)]
    assert 3 not in picks and len(set(picks)) > 5
    assert picks == [liar_labels(3, 10, "random", np.random.default_rng(s))[0] for s in range(40)]
    with pytest.raises(ValueError, match="rng"):
        liar_labels(3, 10, "random")


def test_a_debate_is_correct_only_if_honest_beats_every_liar(judge, digits):
    greedy = GreedyPixelDebater()
    for i in range(10):
        label = int(digits.labels[i])
        records = debate_image(judge, digits.images[i], label, greedy, greedy, liar_labels(label, 10, "all"))
        assert [r.liar_label for r in records] == liar_labels(label, 10, "all")
        assert all(r.honest_label == label for r in records)


def test_random_baseline_is_the_judge_on_random_pixels(judge, digits):
    correct = random_pixel_correct(judge, digits.images[:50], digits.labels[:50], seed=7)
    masks = sample_masks(digits.images[:50], 4, "nonzero", np.random.default_rng(7))
    rows = zip(digits.images[:50], masks, digits.labels[:50], strict=True)
    expected = [judge.decide(img, m) == y for img, m, y in rows]
    assert correct.tolist() == expected


def _random_judge(hidden: tuple[int, ...], seed: int = 0) -> SparsePixelJudge:
    rng = np.random.default_rng(seed)
    sizes = [2 * 64, *hidden, 10]
    weights = [rng.normal(0, 0.3, (a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    biases = [rng.normal(0, 0.1, b) for b in sizes[1:]]
    config = PixelJudgeConfig(dataset="digits", k=4, hidden=hidden, pool="all")
    return SparsePixelJudge(config, weights, biases, [str(c) for c in range(10)], (8, 8), 16)


@pytest.mark.parametrize("hidden", [(16,), (16, 8)])
def test_candidate_scores_are_the_judges_margins(digits, hidden):
    """The float32 fast path (`move_margins`, via the image's shared `ImageScorer`) gives every legal reveal's
    margin as the float64 judge computes it, to float32 rounding, for one- and two-hidden-layer judges."""
    judge = _random_judge(hidden)
    rng = np.random.default_rng(1)
    for i in range(5):
        img = digits.images[i]
        scorer = ImageScorer(judge, img)
        for lie in (1, 7):
            game = PixelDebateGame(judge, img, 0, lie, scorer=scorer)
            for depth in range(4):
                pos = tuple(int(p) for p in rng.choice(64, depth, replace=False))
                moves, margins = game.move_margins(pos)
                assert moves.tolist() == [p for p in range(64) if p not in pos]
                exact = [game.margin((*pos, int(m))) for m in moves]
                np.testing.assert_allclose(margins, exact, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="another judge or image"):
        PixelDebateGame(judge, digits.images[1], 0, 1, scorer=ImageScorer(judge, digits.images[0]))


def test_stopping_at_the_first_loss_gives_the_same_verdicts(judge, digits):
    """`stop_at_loss` plays a prefix of the full list of games, ending at the first loss, and scores every image
    as playing all nine does."""
    greedy, mcts = GreedyPixelDebater(), MCTSPixelDebater(rollouts=4)
    imgs, labels = digits.images[:40], digits.labels[:40]
    for first in ("honest", "liar"):
        full = debate_correct(judge, imgs, labels, greedy, mcts, first=first, stop_at_loss=False)
        assert debate_correct(judge, imgs, labels, greedy, mcts, first=first).tolist() == full.tolist()
        assert 0 < full.sum() < len(full)  # both kinds of image are exercised
    for i in range(15):
        label, lies = int(labels[i]), liar_labels(int(labels[i]), 10, "all")
        every = debate_image(judge, imgs[i], label, greedy, greedy, lies)
        short = debate_image(judge, imgs[i], label, greedy, greedy, lies, stop_at_loss=True)
        assert short == every[: len(short)]
        lost = [j for j, r in enumerate(every) if not r.honest_wins]
        assert len(short) == (lost[0] + 1 if lost else len(every))


def test_minimax_width_one_is_greedy(judge, digits):
    for first in ("honest", "liar"):
        for game in _games(judge, digits, 8):
            game.first = first
            greedy = play_pixel_debate(game, GreedyPixelDebater(), GreedyPixelDebater())
            mm = play_pixel_debate(game, MinimaxPixelDebater(width=1), MinimaxPixelDebater(width=1))
            assert mm.revealed == greedy.revealed


def test_minimax_value_is_the_restricted_games_minimax(judge, digits):
    """Alpha-beta returns what plain minimax over the same candidates gives (no pruning error), and the moves
    it plays realise that value in self-play."""
    mm = MinimaxPixelDebater(width=3)

    def plain(game, pos):
        side = game.to_move(pos)
        moves, margins = game.move_margins(pos)
        if len(pos) == game.k - 1:
            return float(margins.max() if side == "honest" else margins.min())
        order = np.argsort(-(1 if side == "honest" else -1) * margins, kind="stable")[:3]
        values = [plain(game, (*pos, int(moves[i]))) for i in order]
        return max(values) if side == "honest" else min(values)

    for game in _games(judge, digits, 6):
        v = plain(game, ())
        assert mm.value(game, ()) == pytest.approx(v)
        assert play_pixel_debate(game, mm, mm).margin == pytest.approx(v, abs=1e-4)


def test_wider_minimax_never_does_worse_than_greedy(judge, digits):
    games = _games(judge, digits, 30)
    greedy = GreedyPixelDebater()
    base = sum(play_pixel_debate(g, greedy, greedy).honest_wins for g in games)
    for width in (2, 4):
        mm = MinimaxPixelDebater(width=width)
        assert sum(play_pixel_debate(g, mm, greedy).honest_wins for g in games) >= base
        assert sum(not play_pixel_debate(g, greedy, mm).honest_wins for g in games) >= len(games) - base


def test_minimax_finds_the_win_greedy_misses():
    judge = _trap_judge()
    image = np.ones((1, 5), dtype=np.uint8)
    greedy, mm = GreedyPixelDebater(), MinimaxPixelDebater(width=5)
    record = play_pixel_debate(PixelDebateGame(judge, image, 0, 1), mm, greedy)
    assert record.revealed[0] in (0, 1) and record.honest_wins and record.margin == pytest.approx(3.1)
    assert play_pixel_debate(PixelDebateGame(judge, image, 0, 1), mm, mm).margin == pytest.approx(3.1)
    with pytest.raises(ValueError, match="width"):
        MinimaxPixelDebater(width=0)
