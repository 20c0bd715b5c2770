"""The sparse-pixel judge: masks of exactly k distinct pool pixels, an input that shows exactly the revealed pixels,
verdicts only on k pixels, seeded reproducible training, the on-disk cache, and the fast paths agreeing with
the plain forward pass. Judges here are tiny (digits, 16 hidden units, 30 epochs): training takes well under a
second."""

from __future__ import annotations

import numpy as np
import pytest

from judges.pixel_judge import (
    PixelJudgeConfig,
    SparsePixelJudge,
    _block_map,
    load_pixel_judge,
    pool_mask,
    sample_masks,
    train_pixel_judge,
)
from oversight.tasks.images import load_image_set

TINY = PixelJudgeConfig(
    dataset="digits", k=4, hidden=(16,), train_masks=40_000, learning_rate=0.01, seed=3, pool="nonzero"
)


@pytest.fixture(scope="module")
def digits_test():
    return load_image_set("digits", "test")


@pytest.fixture(scope="module")
def judge(tmp_path_factory):
    return load_pixel_judge(TINY, cache_dir=tmp_path_factory.mktemp("judges"))


@pytest.mark.parametrize("pool", ["nonzero", "all"])
def test_masks_are_k_distinct_pool_pixels(digits_test, pool):
    masks = sample_masks(digits_test.images, 6, pool, np.random.default_rng(0))
    allowed = pool_mask(digits_test.images, pool)
    assert masks.shape == (len(digits_test), 6)
    for row, ok in zip(masks, allowed, strict=True):
        assert len(set(row.tolist())) == 6 and ok[row].all()


def test_masks_are_uniform_over_the_pool():
    # one image whose pool is pixels 0..9: each should be drawn in k/10 of the masks
    img = np.zeros((1, 8, 8), dtype=np.uint8)
    img[0, 0, :8] = 5
    img[0, 1, :2] = 9
    masks = sample_masks(np.repeat(img, 4000, axis=0), 3, "nonzero", np.random.default_rng(1))
    counts = np.bincount(masks.ravel(), minlength=64)
    assert counts[10:].sum() == 0
    assert np.allclose(counts[:10] / 4000, 0.3, atol=0.03)
    # rows come in random order: the first column alone is uniform over the pool too
    assert np.allclose(np.bincount(masks[:, 0], minlength=10)[:10] / 4000, 0.1, atol=0.02)


def test_too_few_pool_pixels_is_an_error():
    img = np.zeros((2, 8, 8), dtype=np.uint8)
    img[1, 0, :2] = 1
    with pytest.raises(ValueError, match="image 0 has 0 nonzero pixels, fewer than k=2"):
        sample_masks(img, 2, "nonzero", np.random.default_rng(0))


def test_the_input_masks_all_but_the_revealed_pixels(judge, digits_test):
    img = digits_test.images[7]
    revealed = judge.random_reveal(img, np.random.default_rng(5))
    assert len(revealed) == judge.k == 4 and len(set(revealed.tolist())) == 4
    x = judge.masked_input(img, revealed)
    values, mask = x[:64], x[64:]
    assert mask.sum() == 4 and set(np.flatnonzero(mask)) == set(revealed.tolist())
    assert np.count_nonzero(values) <= 4 and set(np.flatnonzero(values)) <= set(revealed.tolist())
    np.testing.assert_allclose(values[revealed], img.reshape(-1)[revealed] / 16)
    assert (img.reshape(-1)[revealed] > 0).all()  # the default pool is the image's ink


def test_verdicts_need_exactly_k_distinct_pixels(judge, digits_test):
    img = digits_test.images[0]
    with pytest.raises(ValueError, match="exactly k=4"):
        judge.decide(img, [10, 11, 12])
    with pytest.raises(ValueError, match="exactly k=4"):
        judge.decide_between(img, [10, 11, 12, 13, 14], 0, 1)
    with pytest.raises(ValueError, match="revealed twice"):
        judge.decide(img, [10, 11, 12, 10])
    with pytest.raises(ValueError, match="out of range"):
        judge.logits(img, [64])
    with pytest.raises(ValueError, match="shape"):
        judge.logits(np.zeros((28, 28)), [1])


def test_fast_paths_match_the_plain_forward_pass(judge, digits_test):
    rng = np.random.default_rng(2)
    imgs = digits_test.images[:20]
    masks = sample_masks(imgs, 4, "nonzero", rng)
    batch = judge.batch_logits(imgs, masks)
    for img, m, row in zip(imgs, masks, batch, strict=True):
        x = judge.masked_input(img, m)
        h = x
        for w, b in zip(judge.weights[:-1], judge.biases[:-1], strict=True):
            h = np.maximum(h @ w + b, 0)
        np.testing.assert_allclose(row, h @ judge.weights[-1] + judge.biases[-1], rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(judge.logits(img, m), row, rtol=1e-10, atol=1e-10)
        pre = judge.contributions(img)[m].sum(axis=0)
        assert judge.margins_from_hidden(pre, 3, 8) == pytest.approx(row[3] - row[8])
    z = judge.logits(imgs[0], masks[0])
    verdict = judge.decide_between(imgs[0], masks[0], 2, 5)
    assert verdict == (2 if z[2] >= z[5] else 5) and judge.decide(imgs[0], masks[0]) == int(np.argmax(z))


def test_training_is_seeded_and_beats_chance(judge, digits_test):
    again = train_pixel_judge(TINY)
    for a, b in zip(judge.weights, again.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    other = train_pixel_judge(TINY.model_copy(update={"seed": 4}))
    assert not np.array_equal(other.weights[0], judge.weights[0])
    masks = sample_masks(digits_test.images, 4, "nonzero", np.random.default_rng(0))
    accuracy = (judge.batch_logits(digits_test.images, masks).argmax(1) == digits_test.labels).mean()
    assert accuracy > 0.3  # 10 classes: chance is 0.1; a trained 4-pixel judge does far better


def test_cache_round_trip_and_keys(tmp_path, judge):
    first = load_pixel_judge(TINY, cache_dir=tmp_path)
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1 and files[0].name.startswith("digits-k4-h16-nonzero-s3-")
    loaded = load_pixel_judge(TINY, cache_dir=tmp_path)  # from disk: same weights, same identity
    assert loaded.identity == first.identity == judge.identity and loaded.info == first.info
    for a, b in zip(first.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    load_pixel_judge(TINY.model_copy(update={"k": 3}), cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 2


def test_a_bad_cache_file_is_named(tmp_path):
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"nope")
    with pytest.raises(ValueError, match="x.npz: not a saved sparse-pixel judge"):
        SparsePixelJudge.load(bad)


def test_config_is_validated():
    with pytest.raises(ValueError):
        PixelJudgeConfig(dataset="digits", k=0)
    with pytest.raises(ValueError):
        PixelJudgeConfig(dataset="digits", k=4, hidden=())
    with pytest.raises(ValueError):
        PixelJudgeConfig(dataset="digits", k=4, pool="some")


def test_block_map_appends_cell_sums():
    # a 3x3 image in 2x2 blocks: cells {0,1,3,4}, {2,5}, {6,7}, {8}
    x = np.arange(18, dtype=float)  # 9 values then 9 mask entries
    out = np.asarray(x @ _block_map((3, 3), 2)).ravel()
    np.testing.assert_array_equal(out[:18], x)
    assert out[18:22].tolist() == [0 + 1 + 3 + 4, 2 + 5, 6 + 7, 8]
    assert out[22:].tolist() == [9 + 10 + 12 + 13, 11 + 14, 15 + 16, 17]


def test_a_block_judge_folds_into_per_pixel_weights(digits_test):
    config = TINY.model_copy(update={"block": 2})
    judge = train_pixel_judge(config)
    assert judge.weights[0].shape == (128, 16)  # folded back to one row per pixel value and mask
    masks = sample_masks(digits_test.images, 4, "nonzero", np.random.default_rng(0))
    accuracy = (judge.batch_logits(digits_test.images, masks).argmax(1) == digits_test.labels).mean()
    assert accuracy > 0.3
    assert config.name == "digits-k4-h16-nonzero-b2-s3"


def test_the_numpy_forward_pass_is_sklearns(judge, digits_test):
    """The judge's logits (numpy over the trained weights) give scikit-learn's own predict_proba on the same
    weights and inputs, to 1e-9."""
    from sklearn.neural_network import MLPClassifier

    imgs = digits_test.images[:40]
    masks = sample_masks(imgs, 4, "nonzero", np.random.default_rng(5))
    x = np.stack([judge.masked_input(img, m) for img, m in zip(imgs, masks, strict=True)])
    clf = MLPClassifier(hidden_layer_sizes=TINY.hidden, max_iter=1, random_state=0)
    with pytest.warns(Warning):  # one iteration does not converge: only the fitted structure is wanted
        clf.fit(x, np.arange(len(x)) % 10)
    clf.coefs_ = [w.copy() for w in judge.weights]
    clf.intercepts_ = [b.copy() for b in judge.biases]
    z = judge.batch_logits(imgs, masks)
    ours = np.exp(z - z.max(axis=1, keepdims=True))
    ours /= ours.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(ours, clf.predict_proba(x), rtol=0, atol=1e-9)
