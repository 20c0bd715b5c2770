"""Image classification tasks for the sparse-pixel debate game (Irving et al. 2018): 8x8 digits and Fashion-MNIST.

`load_image_set(name, split)` gives the arrays (what a judge is trained on); `load_digits` / `load_fashion_mnist`
give a `TaskSet` whose questions carry their image in `context` as plain PGM text (see `image_formats`), so a
protocol or debater can read it with `question_image(q)` while a judge's view, which never includes `context`,
cannot. Both read files only: scikit-learn's bundled `digits.csv.gz` (found without importing scikit-learn) and
the IDX files of Debian's `dataset-fashion-mnist` package.
"""

from __future__ import annotations

import functools
import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from oversight.tasks._packages import DataUnavailableError, find_data_package
from oversight.tasks.image_formats import ImageFormatError, decode_pgm, encode_pgm, read_idx
from oversight.tasks.taskset import FileRecord, TaskSet
from oversight.types import Question, Source

FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
DIGIT_CLASSES = tuple(str(d) for d in range(10))
#: where Debian's dataset-fashion-mnist puts its files; $OVERSIGHT_FASHION_MNIST_DIR overrides.
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_PACKAGE = "dataset-fashion-mnist"
FASHION_HINT = (
    f"install the Debian package {FASHION_PACKAGE} (apt-get install -y {FASHION_PACKAGE}, or scripts/install-data), "
    "or set OVERSIGHT_FASHION_MNIST_DIR to a folder holding its four *-idx?-ubyte.gz files"
)
DIGITS_HINT = "install scikit-learn, which ships digits.csv.gz (pip install 'oversight[pixels]')"
IMAGE_SETS = ("digits", "fashion-mnist")


@dataclass(frozen=True)
class ImageSet:
    """The images of one split of a labelled image dataset and where they came from.

    `images` is uint8 of shape (n, height, width) with values 0..max_value; `labels` are class indices.
    """

    name: str
    split: str
    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    max_value: int
    licence: str
    package: str | None = None
    version: str | None = None
    files: list[FileRecord] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of every image."""
        return (int(self.images.shape[1]), int(self.images.shape[2]))

    def to_taskset(self) -> TaskSet:
        """One `Question` per image: choices are the class names, the image is the hidden `context` (plain PGM)."""
        h, w = self.shape
        what = "handwritten digit" if self.name == "digits" else "Fashion-MNIST article of clothing"
        text = f"Which class is this {h}x{w} greyscale image of a {what}?"
        source = Source(
            dataset=self.name,
            split=self.split,
            licence=self.licence,
            package=self.package,
            version=self.version,
            file=self.files[0].file if self.files else None,
            sha256=self.files[0].sha256 if self.files else None,
        )
        texts = encode_pgm(self.images, self.max_value)
        choices = list(self.class_names)
        questions = [
            Question(
                id=f"{self.name}/{self.split}/{i}",
                text=text,
                choices=choices,
                answer=int(label),
                context=pgm,
                source=source,
                meta={"index": i, "shape": [h, w], "max_value": self.max_value},
            )
            for i, (label, pgm) in enumerate(zip(self.labels.tolist(), texts, strict=True))
        ]
        return TaskSet(
            name=self.name,
            questions=questions,
            split=self.split,
            licence=self.licence,
            package=self.package,
            version=self.version,
            files=list(self.files),
        )


def question_image(q: Question) -> np.ndarray:
    """The image (uint8, (h, w)) a pixel-task question carries in its `context`.

    Raises ValueError naming the question when it has no context, ImageFormatError when the PGM is malformed.
    """
    if not q.context:
        raise ValueError(f"question {q.id}: no image (context is empty); expected plain PGM text")
    try:
        return decode_pgm(q.context)[0]
    except ImageFormatError as e:
        raise ImageFormatError(f"question {q.id}: {e}") from None


def load_image_set(name: str, split: str = "test") -> ImageSet:
    """The arrays of `name` ("digits" or "fashion-mnist"), split "train" or "test".

    Returns a read-only `ImageSet` (cached per process). Raises ValueError for an unknown name or split,
    DataUnavailableError when the files are not installed, ImageFormatError when they are malformed.
    """
    if name not in IMAGE_SETS:
        raise ValueError(f"unknown image set {name!r}; known: {', '.join(IMAGE_SETS)}")
    if split not in ("train", "test"):
        raise ValueError(f"{name}: unknown split {split!r}; splits: test, train")
    root = os.environ.get("OVERSIGHT_FASHION_MNIST_DIR") if name == "fashion-mnist" else None
    return _load_cached(name, split, root)


@functools.lru_cache(maxsize=4)
def _load_cached(name: str, split: str, root: str | None) -> ImageSet:
    data = _read_digits(split) if name == "digits" else _read_fashion(split, Path(root) if root else FASHION_DIR)
    data.images.flags.writeable = False
    data.labels.flags.writeable = False
    return data


def load_digits(split: str = "test") -> TaskSet:
    """scikit-learn's 8x8 digits (1,797 images, values 0..16) as questions.

    The data has no official split: image i is in "test" when i % 4 == 0 (450 images), else in "train" (1,347).
    Raises ValueError for another split, DataUnavailableError without scikit-learn.
    """
    return load_image_set("digits", split).to_taskset()


def load_fashion_mnist(split: str = "test") -> TaskSet:
    """Fashion-MNIST (28x28, values 0..255; 60,000 train / 10,000 test) from Debian's dataset-fashion-mnist.

    Raises ValueError for another split, DataUnavailableError naming the package when its files are absent.
    """
    return load_image_set("fashion-mnist", split).to_taskset()


# -- readers -----------------------------------------------------------------------------------------------------


def _read_digits(split: str) -> ImageSet:
    pkg = find_data_package("sklearn", "scikit-learn")
    path = pkg.root / "datasets" / "data" / "digits.csv.gz" if pkg else None
    if path is None or not path.is_file():
        raise DataUnavailableError(f"digits: scikit-learn's digits.csv.gz is not installed; {DIGITS_HINT}")
    images, labels = parse_digits_csv(path)
    keep = (np.arange(len(labels)) % 4 == 0) == (split == "test")
    return ImageSet(
        name="digits",
        split=split,
        images=images[keep],
        labels=labels[keep],
        class_names=DIGIT_CLASSES,
        max_value=16,
        # scikit-learn ships a copy of the UCI optdigits test set, which UCI licenses CC BY 4.0.
        licence="CC-BY-4.0",
        package="scikit-learn",
        version=pkg.version,
        files=[FileRecord.of(path, relative_to=pkg.root.parent)],
    )


def parse_digits_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 8, 8) and labels from a digits CSV (64 pixel values 0..16, then the label 0..9, per line).

    Raises ImageFormatError naming the file, line and field that is wrong.
    """
    rows: list[list[int]] = []
    with gzip.open(path, "rt", encoding="ascii") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            cells = line.strip().split(",")
            if len(cells) != 65:
                raise ImageFormatError(f"{path}:{line_no}: expected 65 fields (64 pixels + label), got {len(cells)}")
            try:
                values = [int(float(c)) for c in cells]
            except ValueError:
                raise ImageFormatError(f"{path}:{line_no}: fields must be numbers") from None
            if not all(0 <= v <= 16 for v in values[:64]):
                raise ImageFormatError(f"{path}:{line_no}: pixel values must be in 0..16")
            if not 0 <= values[64] <= 9:
                raise ImageFormatError(f"{path}:{line_no}: field 65 (label) must be 0..9, got {values[64]}")
            rows.append(values)
    if not rows:
        raise ImageFormatError(f"{path}: no rows")
    data = np.array(rows, dtype=np.int64)
    return data[:, :64].astype(np.uint8).reshape(-1, 8, 8), data[:, 64]


def _read_fashion(split: str, root: Path) -> ImageSet:
    stem = "train" if split == "train" else "t10k"
    image_path = root / f"{stem}-images-idx3-ubyte.gz"
    label_path = root / f"{stem}-labels-idx1-ubyte.gz"
    missing = [p.name for p in (image_path, label_path) if not p.is_file()]
    if missing:
        raise DataUnavailableError(f"fashion-mnist: {', '.join(missing)} not found in {root}; {FASHION_HINT}")
    images = read_idx(image_path)
    labels = read_idx(label_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ImageFormatError(f"{image_path}: expected uint8 images (n, h, w), got {images.dtype} {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ImageFormatError(f"{label_path}: expected {len(images)} labels, got shape {labels.shape}")
    if labels.size and labels.max() >= len(FASHION_CLASSES):
        raise ImageFormatError(f"{label_path}: label {labels.max()} is not a class index 0..9")
    return ImageSet(
        name="fashion-mnist",
        split=split,
        images=images,
        labels=labels.astype(np.int64),
        class_names=FASHION_CLASSES,
        max_value=255,
        licence="MIT",
        package=FASHION_PACKAGE if root == FASHION_DIR else None,
        version=_debian_version(FASHION_PACKAGE) if root == FASHION_DIR else None,
        files=[FileRecord.of(image_path), FileRecord.of(label_path)],
    )


def _debian_version(package: str) -> str | None:
    """An installed Debian package's version, read from the first line of its changelog (no dpkg call)."""
    changelog = Path("/usr/share/doc") / package / "changelog.Debian.gz"
    try:
        with gzip.open(changelog, "rt", encoding="utf-8") as fh:
            first = fh.readline()
    except OSError:
        return None
    start, end = first.find("("), first.find(")")
    return first[start + 1 : end] if 0 <= start < end else None
