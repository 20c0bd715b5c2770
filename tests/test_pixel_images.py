"""Image tasks for the pixel-debate game: IDX and plain-PGM codecs (round trips, located errors), the digits and
Fashion-MNIST loaders on their real files, a Fashion-MNIST folder we write ourselves, and the errors a
missing package gives."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from oversight.tasks import DataUnavailableError, load_task
from oversight.tasks import images as images_mod
from oversight.tasks.image_formats import ImageFormatError, decode_pgm, encode_idx, encode_pgm, parse_idx, read_idx
from oversight.tasks.images import FASHION_CLASSES, load_image_set, parse_digits_csv, question_image


@pytest.fixture(autouse=True)
def _fresh_cache():
    images_mod._load_cached.cache_clear()
    yield
    images_mod._load_cached.cache_clear()


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 255).flatmap(
        lambda m: st.tuples(
            st.just(m),
            arrays(
                np.uint8, st.tuples(st.integers(1, 4), st.integers(1, 9), st.integers(1, 9)), elements=st.integers(0, m)
            ),
        )
    )
)
def test_pgm_round_trip(case):
    max_value, imgs = case
    texts = encode_pgm(imgs, max_value)
    assert len(texts) == len(imgs)
    for img, text in zip(imgs, texts, strict=True):
        back, m = decode_pgm(text)
        assert m == max_value and back.dtype == np.uint8
        np.testing.assert_array_equal(back, img)


def test_pgm_is_plain_netpbm_with_comments_allowed():
    text = encode_pgm(np.array([[0, 7], [16, 3]]), 16)[0]
    assert text == "P2\n2 2\n16\n  0   7\n 16   3\n"
    img, _ = decode_pgm("P2 # a comment\n2 2\n16\n0 7 # another\n16 3\n")
    assert img.tolist() == [[0, 7], [16, 3]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("P5\n1 1\n255\n0\n", "magic"),
        ("P2\n2 2\n", "width, height and maxval"),
        ("P2\n2 x\n16\n", "integers"),
        ("P2\n2 2\n300\n0 0 0 0\n", "maxval"),
        ("P2\n2 2\n16\n0 0 0\n", "needs 4 pixel values, found 3"),
        ("P2\n1 1\n16\n17\n", "0..16"),
    ],
)
def test_pgm_errors_name_the_field(text, message):
    with pytest.raises(ImageFormatError, match=message):
        decode_pgm(text)


def test_encode_pgm_rejects_values_above_max():
    with pytest.raises(ValueError, match=r"0\.\.16"):
        encode_pgm(np.array([[17]]), 16)


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple)))
def test_idx_round_trip(a):
    np.testing.assert_array_equal(parse_idx(encode_idx(a)), a)


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"\x00\x00", "too short"),
        (b"\x01\x00\x08\x01" + (1).to_bytes(4, "big") + b"\x00", "magic bytes 0-1"),
        (b"\x00\x00\x07\x01" + (1).to_bytes(4, "big") + b"\x00", "data type"),
        (b"\x00\x00\x08\x00", "dimension count"),
        (b"\x00\x00\x08\x02" + (1).to_bytes(4, "big"), "declares 2 dimensions"),
        (b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + b"\x00", "need 3 data bytes"),
    ],
)
def test_idx_errors_name_the_file_and_field(blob, message):
    with pytest.raises(ImageFormatError, match=message) as err:
        parse_idx(blob, name="bad.idx")
    assert "bad.idx" in str(err.value)


def test_read_idx_names_a_broken_gzip(tmp_path):
    path = tmp_path / "x-idx1-ubyte.gz"
    path.write_bytes(b"not gzip")
    with pytest.raises(ImageFormatError, match="x-idx1-ubyte.gz"):
        read_idx(path)


def test_digits_split_and_values():
    train, test = load_image_set("digits", "train"), load_image_set("digits", "test")
    assert (len(train), len(test)) == (1347, 450) and test.shape == (8, 8) and test.max_value == 16
    assert test.images.max() == 16 and set(test.labels.tolist()) == set(range(10))
    assert not test.images.flags.writeable  # shared by the per-process cache
    tasks = load_task("digits", n=5, seed=3)
    assert len(tasks) == 5 and tasks.provenance()["files"][0]["file"] == "sklearn/datasets/data/digits.csv.gz"
    q = load_task("digits")[0]
    assert q.id == "digits/test/0" and q.choices == [str(d) for d in range(10)] and q.source.package == "scikit-learn"
    np.testing.assert_array_equal(question_image(q), test.images[0])
    assert q.answer == test.labels[0]


def test_digits_csv_errors_name_the_line(tmp_path):
    path = tmp_path / "digits.csv.gz"
    good = ",".join(["0"] * 64 + ["3"])
    with gzip.open(path, "wt") as fh:
        fh.write(good + "\n" + ",".join(["0"] * 63 + ["17", "3"]) + "\n")
    with pytest.raises(ImageFormatError, match=r"digits.csv.gz:2: pixel values"):
        parse_digits_csv(path)
    with gzip.open(path, "wt") as fh:
        fh.write(good + "\n" + ",".join(["0"] * 10) + "\n")
    with pytest.raises(ImageFormatError, match=r":2: expected 65 fields"):
        parse_digits_csv(path)


def test_fashion_mnist_from_the_debian_package():
    test = load_image_set("fashion-mnist", "test")
    assert len(test) == 10_000 and test.shape == (28, 28) and test.class_names == FASHION_CLASSES
    assert np.bincount(test.labels).tolist() == [1000] * 10
    assert test.package == "dataset-fashion-mnist" and test.version and test.licence == "MIT"
    q = load_task("fashion-mnist", n=3, seed=0)[0]
    assert q.choices[q.answer] in FASHION_CLASSES and q.context.startswith("P2\n28 28\n255\n")
    assert q.source.sha256 == test.files[0].sha256


def _write_fashion(root, images, labels, stem="t10k"):
    root.mkdir(parents=True, exist_ok=True)
    with gzip.open(root / f"{stem}-images-idx3-ubyte.gz", "wb") as fh:
        fh.write(encode_idx(images))
    with gzip.open(root / f"{stem}-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write(encode_idx(labels))


def test_fashion_mnist_from_a_folder_we_write(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    _write_fashion(tmp_path / "fm", imgs, np.array([0, 9, 3, 3, 1], dtype=np.uint8))
    monkeypatch.setenv("OVERSIGHT_FASHION_MNIST_DIR", str(tmp_path / "fm"))
    tasks = load_task("fashion-mnist")
    assert [q.choices[q.answer] for q in tasks] == ["T-shirt/top", "Ankle boot", "Dress", "Dress", "Trouser"]
    np.testing.assert_array_equal(question_image(tasks[4]), imgs[4])
    assert tasks.package is None  # not the Debian package's folder, so no package/version is claimed


def test_fashion_mnist_mismatched_labels_are_named(tmp_path, monkeypatch):
    _write_fashion(tmp_path, np.zeros((3, 28, 28), np.uint8), np.array([0, 1], dtype=np.uint8))
    monkeypatch.setenv("OVERSIGHT_FASHION_MNIST_DIR", str(tmp_path))
    with pytest.raises(ImageFormatError, match=r"t10k-labels-idx1-ubyte.gz: expected 3 labels"):
        load_image_set("fashion-mnist", "test")
    _write_fashion(tmp_path, np.zeros((2, 28, 28), np.uint8), np.array([0, 12], dtype=np.uint8))
    with pytest.raises(ImageFormatError, match="label 12"):
        load_image_set("fashion-mnist", "test")


def test_missing_fashion_mnist_names_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setenv("OVERSIGHT_FASHION_MNIST_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataUnavailableError, match="dataset-fashion-mnist") as err:
        load_task("fashion-mnist")
    assert "t10k-images-idx3-ubyte.gz" in str(err.value) and "apt-get install" in str(err.value)


def test_missing_scikit_learn_names_it(monkeypatch):
    monkeypatch.setattr(images_mod, "find_data_package", lambda *a: None)
    with pytest.raises(DataUnavailableError, match="scikit-learn"):
        load_image_set("digits", "test")


def test_unknown_names_and_splits():
    with pytest.raises(ValueError, match="unknown image set 'mnist'"):
        load_image_set("mnist")
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        load_image_set("digits", "dev")


def test_question_image_errors_name_the_question():
    q = load_task("digits", n=1)[0]
    with pytest.raises(ValueError, match=q.id):
        question_image(q.model_copy(update={"context": None}))
    with pytest.raises(ImageFormatError, match=f"{q.id}: PGM: magic"):
        question_image(q.model_copy(update={"context": "P5 1 1 1 0"}))
