"""The sparse-pixel judge of Irving et al. 2018: a classifier that sees only k revealed pixels of an image.

Its input is the image masked to the revealed pixels plus the mask itself (two channels, as in the paper), so it
can tell "revealed and black" from "not revealed". It is trained on random masks of exactly k pixels, fresh masks
every epoch, drawn from the image's non-zero ("ink") pixels by default (`pool="nonzero"`) or from all pixels.
The classifier is a multi-layer perceptron (scikit-learn, fitted on the sparse input); its capacity (hidden
sizes), k and the seed are the judge-strength knobs. Once trained, inference is plain numpy over the weights,
with a fast path for the debate game: each pixel's contribution to the first layer is precomputed, so scoring
every candidate reveal of a position is one gather and a small matrix product.

`load_pixel_judge(config)` trains once per configuration (and data hash) and caches the weights as an `.npz`
under `$OVERSIGHT_CACHE_DIR/pixel-judges/` (default `~/.cache/oversight/pixel-judges/`).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from oversight.hashing import stable_hash
from oversight.tasks.images import ImageSet, load_image_set

Pool = Literal["nonzero", "all"]
#: bump when training or the file layout changes, so old cached judges are not reused.
FORMAT_VERSION = 1


class PixelJudgeConfig(BaseModel):
    """What a sparse-pixel judge is: dataset, pixels k, capacity (hidden layer sizes), seed and training budget.

    `train_masks` is the number of (image, random mask) training examples: ceil(train_masks / n_train) epochs,
    each over every training image with a fresh mask.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str
    k: int = Field(ge=1)
    hidden: tuple[int, ...] = Field(default=(128,), min_length=1)
    seed: int = 0
    pool: Pool = "nonzero"
    train_masks: int = Field(default=600_000, ge=1)
    batch_size: int = Field(default=256, ge=1)
    learning_rate: float = Field(default=1e-3, gt=0)
    reveal_counts: Literal["k", "1..k"] = "k"
    weight_decay: float = Field(default=1e-4, ge=0)

    @property
    def name(self) -> str:
        """A readable file-name-safe label, e.g. `digits-k6-h128-nonzero-s0`."""
        hidden = "x".join(str(h) for h in self.hidden)
        return f"{self.dataset}-k{self.k}-h{hidden}-{self.pool}-s{self.seed}"


def pool_mask(images: np.ndarray, pool: Pool) -> np.ndarray:
    """Boolean mask (same leading shape, flattened pixels) of the pixels that may be revealed."""
    flat = images.reshape(images.shape[0], -1) if images.ndim == 3 else images.reshape(1, -1)
    return flat > 0 if pool == "nonzero" else np.ones(flat.shape, dtype=bool)


def sample_masks(images: np.ndarray, k: int, pool: Pool, rng: np.random.Generator) -> np.ndarray:
    """k distinct pixel indices per image, uniform among its pool pixels: int array of shape (n, k).

    Raises ValueError when an image has fewer than k pool pixels.
    """
    flat = images.reshape(images.shape[0], -1)
    allowed = pool_mask(images, pool)
    short = np.flatnonzero(allowed.sum(axis=1) < k)
    if short.size:
        raise ValueError(f"image {int(short[0])} has {int(allowed[short[0]].sum())} {pool} pixels, fewer than k={k}")
    out = np.empty((flat.shape[0], k), dtype=np.int64)
    for start in range(0, flat.shape[0], 4096):  # chunks keep the random keys small for 28x28 images
        keys = rng.random(flat[start : start + 4096].shape)
        keys[~allowed[start : start + 4096]] = 2.0  # never among the k smallest
        chosen = np.argpartition(keys, k - 1, axis=1)[:, :k]
        # in key order, so the first m of a row are a uniform m-subset too (training on fewer than k pixels)
        order = np.argsort(np.take_along_axis(keys, chosen, axis=1), axis=1)
        out[start : start + 4096] = np.take_along_axis(chosen, order, axis=1)
    return out


def _sparse_inputs(flat: np.ndarray, masks: np.ndarray, max_value: int, counts: np.ndarray | None = None) -> Any:
    """The CSR matrix of masked inputs: column p is pixel p's value / max_value, column D + p its mask bit.
    With `counts`, row i reveals only its first counts[i] pixels."""
    import scipy.sparse as sp

    n, k = masks.shape
    d = flat.shape[1]
    values = np.take_along_axis(flat, masks, axis=1) / max_value
    cols = np.concatenate([masks, masks + d], axis=1)
    data = np.concatenate([values, np.ones_like(values)], axis=1)
    rows = np.repeat(np.arange(n)[:, None], 2 * k, axis=1)
    if counts is not None:
        keep = np.tile(np.arange(k)[None, :] < counts[:, None], 2)
        rows, cols, data = rows[keep], cols[keep], data[keep]
    return sp.csr_matrix((data.ravel(), (rows.ravel(), cols.ravel())), shape=(n, 2 * d))


class SparsePixelJudge:
    """A trained sparse-pixel classifier: logits over the classes from the pixels revealed so far.

    `decide` and `decide_between` are the judge's verdicts and insist on exactly k revealed pixels; `logits`
    accepts any number (debaters use it to look ahead). Layers are ReLU, the last one linear.
    """

    def __init__(
        self,
        config: PixelJudgeConfig,
        weights: Sequence[np.ndarray],
        biases: Sequence[np.ndarray],
        class_names: Sequence[str],
        shape: tuple[int, int],
        max_value: int,
        info: dict[str, Any] | None = None,
    ) -> None:
        if len(weights) != len(biases) or len(weights) != len(config.hidden) + 1:
            raise ValueError(f"{config.name}: {len(weights)} weight matrices for hidden sizes {config.hidden}")
        self.config = config
        self.weights = [np.asarray(w, dtype=np.float64) for w in weights]
        self.biases = [np.asarray(b, dtype=np.float64) for b in biases]
        self.class_names = tuple(class_names)
        self.shape = (int(shape[0]), int(shape[1]))
        self.max_value = int(max_value)
        self.info = dict(info or {})
        self.n_pixels = self.shape[0] * self.shape[1]
        if self.weights[0].shape[0] != 2 * self.n_pixels or self.weights[-1].shape[1] != len(self.class_names):
            raise ValueError(f"{config.name}: weights do not fit {self.shape} images and {len(class_names)} classes")
        self._value_w = self.weights[0][: self.n_pixels]
        self._mask_w = self.weights[0][self.n_pixels :]

    @property
    def k(self) -> int:
        """How many revealed pixels the judge decides on."""
        return self.config.k

    @property
    def identity(self) -> str:
        """The judge's name in provenance: program, configuration and a hash of its weights."""
        return f"program/sparse-pixel-judge/{self.config.name}@{self.info.get('weights_sha256', '?')[:12]}"

    # -- inputs ---------------------------------------------------------------------------------------------------

    def flat(self, image: np.ndarray) -> np.ndarray:
        """`image` flattened to pixel values in [0, 1]; raises ValueError on the wrong shape."""
        a = np.asarray(image)
        if a.shape != self.shape and a.shape != (self.n_pixels,):
            raise ValueError(f"image of shape {a.shape}; this judge takes {self.shape} images")
        return a.reshape(-1).astype(np.float64) / self.max_value

    def check_revealed(self, revealed: Sequence[int]) -> np.ndarray:
        """`revealed` as an int array; raises ValueError on a repeated or out-of-range pixel."""
        idx = np.asarray(revealed, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_pixels):
            raise ValueError(f"pixel index out of range 0..{self.n_pixels - 1}: {idx.tolist()}")
        if len(np.unique(idx)) != idx.size:
            raise ValueError(f"a pixel is revealed twice: {idx.tolist()}")
        return idx

    def masked_input(self, image: np.ndarray, revealed: Sequence[int]) -> np.ndarray:
        """The judge's exact input: pixel values where revealed (0 elsewhere), then the 0/1 reveal mask."""
        idx = self.check_revealed(revealed)
        x = np.zeros(2 * self.n_pixels)
        x[idx] = self.flat(image)[idx]
        x[self.n_pixels + idx] = 1.0
        return x

    def pool_pixels(self, image: np.ndarray) -> np.ndarray:
        """Indices of the pixels of `image` that may be revealed (its non-zero pixels, or all of them)."""
        return np.flatnonzero(pool_mask(np.asarray(image)[None], self.config.pool)[0])

    def random_reveal(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """k distinct pixels drawn uniformly from `image`'s pool (the random-pixels baseline)."""
        return sample_masks(np.asarray(image).reshape(1, *self.shape), self.k, self.config.pool, rng)[0]

    # -- forward pass ---------------------------------------------------------------------------------------------

    def contributions(self, image: np.ndarray) -> np.ndarray:
        """Per pixel, what revealing it adds to the first layer's pre-activation: array (n_pixels, hidden[0])."""
        return self.flat(image)[:, None] * self._value_w + self._mask_w

    def logits_from_hidden(self, pre: np.ndarray) -> np.ndarray:
        """Logits from first-layer pre-activations `pre` (shape (..., hidden[0]), bias not yet added)."""
        h = np.maximum(pre + self.biases[0], 0.0)
        for w, b in zip(self.weights[1:-1], self.biases[1:-1], strict=True):
            h = np.maximum(h @ w + b, 0.0)
        return h @ self.weights[-1] + self.biases[-1]

    def margins_from_hidden(self, pre: np.ndarray, a: int, b: int) -> np.ndarray:
        """logit[a] - logit[b] from first-layer pre-activations `pre` (shape (..., hidden[0])): the two-class
        log-odds a debate turns on, computed without the other classes' logits (one matrix-vector product)."""
        h = np.maximum(pre + self.biases[0], 0.0)
        for w, bias in zip(self.weights[1:-1], self.biases[1:-1], strict=True):
            h = np.maximum(h @ w + bias, 0.0)
        last, bias = self.weights[-1], self.biases[-1]
        return h @ (last[:, a] - last[:, b]) + (bias[a] - bias[b])

    def logits(self, image: np.ndarray, revealed: Sequence[int]) -> np.ndarray:
        """Logits over the classes given the revealed pixels (any number of them)."""
        idx = self.check_revealed(revealed)
        return self.logits_from_hidden(self.contributions(image)[idx].sum(axis=0))

    def probabilities(self, image: np.ndarray, revealed: Sequence[int]) -> np.ndarray:
        """Softmax of `logits`."""
        z = self.logits(image, revealed)
        e = np.exp(z - z.max())
        return e / e.sum()

    def batch_logits(self, images: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """Logits (n, classes) for n images, each with its own revealed pixels `masks` (n, m) (distinct per row)."""
        flat = images.reshape(len(images), -1).astype(np.float64) / self.max_value
        values = np.take_along_axis(flat, masks, axis=1)
        pre = np.einsum("nk,nkh->nh", values, self._value_w[masks]) + self._mask_w[masks].sum(axis=1)
        return self.logits_from_hidden(pre)

    # -- verdicts -------------------------------------------------------------------------------------------------

    def _exactly_k(self, revealed: Sequence[int]) -> None:
        if len(revealed) != self.k:
            raise ValueError(f"this judge decides on exactly k={self.k} revealed pixels, got {len(revealed)}")

    def decide(self, image: np.ndarray, revealed: Sequence[int]) -> int:
        """The class the judge picks from exactly k revealed pixels; raises ValueError on another count."""
        self._exactly_k(revealed)
        return int(np.argmax(self.logits(image, revealed)))

    def decide_between(self, image: np.ndarray, revealed: Sequence[int], a: int, b: int) -> int:
        """The debate verdict: whichever of the two claimed classes `a`, `b` has the higher logit (a on a tie)."""
        self._exactly_k(revealed)
        z = self.logits(image, revealed)
        return a if z[a] >= z[b] else b

    # -- persistence ----------------------------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the judge as an `.npz` (weights + JSON metadata, no pickles) atomically; returns the path."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT_VERSION,
            "config": self.config.model_dump(mode="json"),
            "class_names": list(self.class_names),
            "shape": list(self.shape),
            "max_value": self.max_value,
            "info": self.info,
        }
        arrays = {f"w{i}": w for i, w in enumerate(self.weights)} | {f"b{i}": b for i, b in enumerate(self.biases)}
        fd, tmp = tempfile.mkstemp(dir=p.parent, suffix=".tmp.npz")
        os.close(fd)
        try:
            np.savez(tmp, meta=np.array(json.dumps(meta)), **arrays)
            os.replace(tmp, p)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return p

    @classmethod
    def load(cls, path: str | Path) -> SparsePixelJudge:
        """A judge saved by `save`; raises ValueError naming the file when it is not one (or an older format)."""
        p = Path(path)
        try:
            with np.load(p, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                n = len(meta["config"]["hidden"]) + 1
                weights = [data[f"w{i}"] for i in range(n)]
                biases = [data[f"b{i}"] for i in range(n)]
        except (OSError, KeyError, ValueError, json.JSONDecodeError) as e:
            raise ValueError(f"{p}: not a saved sparse-pixel judge ({e})") from None
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"{p}: judge file format {meta.get('format')}, this code reads {FORMAT_VERSION}")
        config = PixelJudgeConfig.model_validate(meta["config"])
        shape = (int(meta["shape"][0]), int(meta["shape"][1]))
        return cls(config, weights, biases, meta["class_names"], shape, meta["max_value"], meta["info"])


def _weights_sha256(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> str:
    import hashlib

    h = hashlib.sha256()
    for a in [*weights, *biases]:
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()


def train_pixel_judge(config: PixelJudgeConfig, data: ImageSet | None = None) -> SparsePixelJudge:
    """Train a judge on random k-pixel masks of `data` (default: the train split of `config.dataset`).

    Seeded: the same config, data and library versions give the same weights. Returns the judge; raises
    ValueError when an image has fewer than k pool pixels, ImportError without scikit-learn.
    """
    try:
        from sklearn.neural_network import MLPClassifier
    except ImportError as e:
        raise ImportError("training a pixel judge needs scikit-learn: pip install 'oversight[pixels]'") from e
    import sklearn

    data = data if data is not None else load_image_set(config.dataset, "train")
    flat = data.images.reshape(len(data), -1)
    classes = np.arange(len(data.class_names))
    rng = np.random.default_rng(config.seed)
    clf = MLPClassifier(
        hidden_layer_sizes=config.hidden,
        random_state=config.seed,
        batch_size=min(config.batch_size, len(data)),
        learning_rate_init=config.learning_rate,
        alpha=config.weight_decay,
    )
    epochs = -(-config.train_masks // len(data))
    start = time.perf_counter()
    for _ in range(epochs):
        masks = sample_masks(data.images, config.k, config.pool, rng)
        counts = rng.integers(1, config.k + 1, size=len(data)) if config.reveal_counts == "1..k" else None
        clf.partial_fit(_sparse_inputs(flat, masks, data.max_value, counts), data.labels, classes=classes)
    info = {
        "epochs": epochs,
        "train_seconds": round(time.perf_counter() - start, 2),
        "final_loss": float(clf.loss_),
        "train_images": len(data),
        "data_files": [{"file": f.file, "sha256": f.sha256} for f in data.files],
        "sklearn": sklearn.__version__,
        "weights_sha256": _weights_sha256(clf.coefs_, clf.intercepts_),
    }
    return SparsePixelJudge(config, clf.coefs_, clf.intercepts_, data.class_names, data.shape, data.max_value, info)


def judge_cache_dir() -> Path:
    """`$OVERSIGHT_CACHE_DIR/pixel-judges`, else `~/.cache/oversight/pixel-judges`."""
    root = os.environ.get("OVERSIGHT_CACHE_DIR") or Path.home() / ".cache" / "oversight"
    return Path(root) / "pixel-judges"


def load_pixel_judge(
    config: PixelJudgeConfig, cache_dir: str | Path | None = None, data: ImageSet | None = None
) -> SparsePixelJudge:
    """The judge for `config`, from the on-disk cache when trained before, else trained now and cached.

    The cache file is named by the config and a hash of it plus the training data's file hashes, so new data or
    settings train a new judge. Returns the judge; raises like `train_pixel_judge` and `load_image_set`.
    """
    data = data if data is not None else load_image_set(config.dataset, "train")
    key = stable_hash(
        {
            "config": config.model_dump(mode="json"),
            "format": FORMAT_VERSION,
            "data": [f.sha256 for f in data.files],
            "n": len(data),
        }
    )
    path = Path(cache_dir) if cache_dir is not None else judge_cache_dir()
    path = path / f"{config.name}-{key}.npz"
    if path.is_file():
        return SparsePixelJudge.load(path)
    judge = train_pixel_judge(config, data)
    judge.save(path)
    return judge
