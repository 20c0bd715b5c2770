"""The sparse-pixel judge of Irving et al. 2018: a classifier that sees only k revealed pixels of an image.

Its input is the image masked to the revealed pixels plus the mask itself (two channels, as in the paper), so it
can tell "revealed and black" from "not revealed". It is trained on random masks of exactly k pixels, fresh masks
every epoch, drawn from all pixels (`pool="all"`, the default) or from the image's non-zero ("ink") pixels.
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

from oversight.hashing import stable_hash
from oversight.judge_entry import PixelJudgeParams
from oversight.tasks.images import ImageSet, load_image_set

Pool = Literal["nonzero", "all"]  # the values of `PixelJudgeParams.pool`
#: bump when training or the file layout changes, so old cached judges are not reused.
FORMAT_VERSION = 2


class PixelJudgeConfig(PixelJudgeParams):
    """What a sparse-pixel judge is: dataset, pixels k, capacity (hidden layer sizes), seed and training budget
    (the fields of `oversight.judge_entry.PixelJudgeParams`, which a spec's `pixel = {...}` judge entry gives,
    plus the dataset).

    `train_masks` is the number of (image, random mask) training examples: ceil(train_masks / n_train) epochs,
    each over every training image with a fresh mask. The defaults are the judges of docs/reproductions.md.
    """

    dataset: str

    @property
    def name(self) -> str:
        """A readable file-name-safe label, e.g. `digits-k6-h128-all-b4-s0`."""
        hidden = "x".join(str(h) for h in self.hidden)
        block = f"-b{self.block}" if self.block else ""
        return f"{self.dataset}-k{self.k}-h{hidden}-{self.pool}{block}-s{self.seed}"


def pool_mask(images: np.ndarray, pool: Pool) -> np.ndarray:
    """Boolean mask (same leading shape, flattened pixels) of the pixels that may be revealed."""
    flat = images.reshape(images.shape[0], -1) if images.ndim == 3 else images.reshape(1, -1)
    return flat > 0 if pool == "nonzero" else np.ones(flat.shape, dtype=bool)


class MaskSampler:
    """Draws random reveal masks for a fixed set of images: k distinct pixels per image, uniform over its pool.

    Each image's pool is listed once up front, so an epoch's masks cost O(n * k), not O(n * pixels). Raises
    ValueError (from `sample`) when an image has fewer than k pool pixels.
    """

    def __init__(self, images: np.ndarray, pool: Pool) -> None:
        allowed = pool_mask(images, pool)
        self.pool = pool
        self.counts = allowed.sum(axis=1)
        # row i lists image i's pool pixels first (stable sort keeps them ascending), then the rest; in chunks, so
        # the int64 argsort result stays small for 60,000 28x28 images
        self.pixels = np.empty(allowed.shape, dtype=np.int32)
        for start in range(0, len(allowed), 8192):
            chunk = allowed[start : start + 8192]
            self.pixels[start : start + 8192] = np.argsort(~chunk, axis=1, kind="stable")

    def sample(self, k: int, rng: np.random.Generator) -> np.ndarray:
        """Int array (n, k) of pixel indices; each row is a uniform random ordered k-subset of its pool."""
        short = np.flatnonzero(self.counts < k)
        if short.size:
            i = int(short[0])
            raise ValueError(f"image {i} has {int(self.counts[i])} {self.pool} pixels, fewer than k={k}")
        n = len(self.counts)
        ranks = np.empty((n, k), dtype=np.int64)
        todo = np.arange(n)
        for _ in range(1000):  # redraw rows with a repeated rank: what is left is uniform over distinct tuples
            ranks[todo] = (rng.random((len(todo), k)) * self.counts[todo, None]).astype(np.int64)
            sorted_ranks = np.sort(ranks[todo], axis=1)
            todo = todo[(sorted_ranks[:, 1:] == sorted_ranks[:, :-1]).any(axis=1)]
            if not todo.size:
                break
        else:
            raise RuntimeError("could not draw distinct pixels in 1000 rounds")  # needs pools barely above k
        return np.take_along_axis(self.pixels, ranks, axis=1).astype(np.int64)


def sample_masks(images: np.ndarray, k: int, pool: Pool, rng: np.random.Generator) -> np.ndarray:
    """k distinct pixel indices per image, uniform among its pool pixels and in random order: int array (n, k).

    Raises ValueError when an image has fewer than k pool pixels.
    """
    return MaskSampler(images, pool).sample(k, rng)


def _sparse_inputs(flat: np.ndarray, masks: np.ndarray, max_value: int) -> Any:
    """The CSR matrix of masked inputs: column p is pixel p's value / max_value, column D + p its mask bit."""
    import scipy.sparse as sp

    n, k = masks.shape
    d = flat.shape[1]
    values = np.take_along_axis(flat, masks, axis=1) / max_value
    cols = np.concatenate([masks, masks + d], axis=1)
    data = np.concatenate([values, np.ones_like(values)], axis=1)
    rows = np.repeat(np.arange(n)[:, None], 2 * k, axis=1)
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


def _block_map(shape: tuple[int, int], block: int) -> Any:
    """Sparse (2D, 2D + 2C) matrix T: x @ T appends the per-cell sums of x's value and mask columns to x."""
    import scipy.sparse as sp

    h, w = shape
    d = h * w
    rows, cols = np.divmod(np.arange(d), w)
    cells_w = -(-w // block)
    n_cells = -(-h // block) * cells_w
    cell = (rows // block) * cells_w + cols // block
    src = np.concatenate([np.arange(2 * d), np.arange(d), d + np.arange(d)])
    dst = np.concatenate([np.arange(2 * d), 2 * d + cell, 2 * d + n_cells + cell])
    return sp.csr_matrix((np.ones(len(src)), (src, dst)), shape=(2 * d, 2 * d + 2 * n_cells))


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
    sampler = MaskSampler(data.images, config.pool)
    expand = _block_map(data.shape, config.block) if config.block else None
    for _ in range(epochs):
        masks = sampler.sample(config.k, rng)
        x = _sparse_inputs(flat, masks, data.max_value)
        clf.partial_fit(x @ expand if expand is not None else x, data.labels, classes=classes)
    weights = list(clf.coefs_)
    if expand is not None:  # x @ T @ W0 == x @ (T @ W0): an ordinary per-pixel first layer
        weights[0] = np.asarray(expand @ weights[0])
    info = {
        "epochs": epochs,
        "train_seconds": round(time.perf_counter() - start, 2),
        "final_loss": float(clf.loss_),
        "train_images": len(data),
        "data_files": [{"file": f.file, "sha256": f.sha256} for f in data.files],
        "sklearn": sklearn.__version__,
        "weights_sha256": _weights_sha256(weights, clf.intercepts_),
    }
    return SparsePixelJudge(config, weights, clf.intercepts_, data.class_names, data.shape, data.max_value, info)


def judge_cache_dir() -> Path:
    """`$OVERSIGHT_CACHE_DIR/pixel-judges`, else `~/.cache/oversight/pixel-judges`."""
    root = os.environ.get("OVERSIGHT_CACHE_DIR") or Path.home() / ".cache" / "oversight"
    return Path(root) / "pixel-judges"


def load_pixel_judge(
    config: PixelJudgeConfig, cache_dir: str | Path | None = None, data: ImageSet | None = None
) -> SparsePixelJudge:
    """The judge for `config`, from the on-disk cache (`judge_cache_path`) when trained before, else trained now
    and cached. Returns the judge; raises like `train_pixel_judge` and `load_image_set`.
    """
    data = data if data is not None else load_image_set(config.dataset, "train")
    path = judge_cache_path(config, cache_dir, data)
    if path.is_file():
        return SparsePixelJudge.load(path)
    judge = train_pixel_judge(config, data)
    judge.save(path)
    return judge


def judge_cache_path(
    config: PixelJudgeConfig, cache_dir: str | Path | None = None, data: ImageSet | None = None
) -> Path:
    """Where `load_pixel_judge` keeps the judge for `config`: named by the config and a hash of it, the file
    format and the training data's file hashes, so new data or settings train a new judge."""
    data = data if data is not None else load_image_set(config.dataset, "train")
    key = stable_hash(
        {
            "config": config.model_dump(mode="json"),
            "format": FORMAT_VERSION,
            "data": [f.sha256 for f in data.files],
            "n": len(data),
        }
    )
    root = Path(cache_dir) if cache_dir is not None else judge_cache_dir()
    return root / f"{config.name}-{key}.npz"
