"""Two small image formats: IDX (how MNIST-style datasets ship) and plain PGM (how a question carries its image).

A question's image travels in `Question.context` as Netpbm plain PGM ("P2"): a standard, human-readable text
format that image tools open, that `TaskSet.questions_sha256` hashes with the rest of the question, and that a
judge's view never shows (views never include `context`).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

#: IDX type codes (the third magic byte) this reader accepts, and the numpy dtype of each (big-endian).
_IDX_TYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class ImageFormatError(ValueError):
    """A file or text is not a well-formed IDX array or plain PGM image; the message names where and what."""


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file (gzip-compressed when its name ends in .gz).

    Returns an array of the file's dtype and shape; raises ImageFormatError naming the file and the bad field
    (magic bytes, dimension count, data length) and OSError if it cannot be read.
    """
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    try:
        with opener(p, "rb") as fh:
            blob = fh.read()
    except (gzip.BadGzipFile, EOFError) as e:
        raise ImageFormatError(f"{p}: not a readable gzip file ({e})") from None
    return parse_idx(blob, name=str(p))


def parse_idx(blob: bytes, name: str = "<bytes>") -> np.ndarray:
    """The array in the IDX bytes `blob`; `name` labels error messages. Raises ImageFormatError when malformed."""
    if len(blob) < 4:
        raise ImageFormatError(f"{name}: {len(blob)} bytes is too short for an IDX header (need 4)")
    if blob[0] != 0 or blob[1] != 0:
        raise ImageFormatError(f"{name}: magic bytes 0-1 must be zero, got {blob[0]:#04x} {blob[1]:#04x}")
    dtype = _IDX_TYPES.get(blob[2])
    if dtype is None:
        raise ImageFormatError(f"{name}: magic byte 2 (data type) {blob[2]:#04x} is not an IDX type")
    ndim = blob[3]
    if ndim == 0:
        raise ImageFormatError(f"{name}: magic byte 3 (dimension count) is 0")
    header = 4 + 4 * ndim
    if len(blob) < header:
        raise ImageFormatError(f"{name}: header declares {ndim} dimensions but the file ends at byte {len(blob)}")
    dims = [int.from_bytes(blob[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    itemsize = np.dtype(dtype).itemsize
    expected = int(np.prod(dims, dtype=np.int64)) * itemsize
    if len(blob) - header != expected:
        raise ImageFormatError(
            f"{name}: dimensions {dims} need {expected} data bytes after the header, found {len(blob) - header}"
        )
    return np.frombuffer(blob, dtype=dtype, offset=header).reshape(dims)


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX bytes of a uint8 array (the inverse of `parse_idx` for MNIST-style files)."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    head = bytes([0, 0, 0x08, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    return head + a.tobytes()


# Fixed-width cells make encoding a table lookup done in C: "  7 " per pixel, the last of a row ending in "\n".
_CELL = np.array([f"{v:>3} ".encode() for v in range(256)], dtype="S4")
_CELL_EOL = np.array([f"{v:>3}\n".encode() for v in range(256)], dtype="S4")


def encode_pgm(images: np.ndarray, max_value: int) -> list[str]:
    """Plain PGM ("P2") text of each image in `images` (shape (n, h, w) or (h, w), values 0..max_value <= 255).

    Returns one string per image; raises ValueError on values outside 0..max_value.
    """
    a = np.asarray(images)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ValueError(f"images must have shape (n, h, w) or (h, w), got {a.shape}")
    if not 1 <= max_value <= 255:
        raise ValueError(f"max_value must be in 1..255, got {max_value}")
    if a.size and (a.min() < 0 or a.max() > max_value):
        raise ValueError(f"pixel values must be in 0..{max_value}, got {a.min()}..{a.max()}")
    n, h, w = a.shape
    a = a.astype(np.uint8)
    cells = _CELL[a]
    cells[:, :, -1] = _CELL_EOL[a[:, :, -1]]
    body = cells.tobytes()
    size = h * w * 4
    header = f"P2\n{w} {h}\n{max_value}\n"
    return [header + body[i * size : (i + 1) * size].decode("ascii") for i in range(n)]


def decode_pgm(text: str) -> tuple[np.ndarray, int]:
    """The image (uint8, shape (h, w)) and maximum value of plain PGM text; `#` comments are allowed.

    Raises ImageFormatError naming the field that is wrong (magic, width, height, maxval, pixel count or range).
    """
    tokens: list[str] = []
    for line in text.splitlines():
        tokens.extend(line.split("#", 1)[0].split())
    if not tokens or tokens[0] != "P2":
        raise ImageFormatError(f"PGM: magic must be 'P2', got {tokens[0] if tokens else 'nothing'!r}")
    if len(tokens) < 4:
        raise ImageFormatError("PGM: header needs width, height and maxval after 'P2'")
    try:
        w, h, maxval = (int(t) for t in tokens[1:4])
    except ValueError:
        raise ImageFormatError(f"PGM: width, height, maxval must be integers, got {tokens[1:4]}") from None
    if w < 1 or h < 1:
        raise ImageFormatError(f"PGM: width and height must be >= 1, got {w}x{h}")
    if not 1 <= maxval <= 255:
        raise ImageFormatError(f"PGM: maxval must be in 1..255 for 8-bit images, got {maxval}")
    if len(tokens) - 4 != w * h:
        raise ImageFormatError(f"PGM: {w}x{h} needs {w * h} pixel values, found {len(tokens) - 4}")
    try:
        values = np.array(tokens[4:], dtype=np.int64)
    except ValueError:
        raise ImageFormatError("PGM: pixel values must be integers") from None
    if values.min() < 0 or values.max() > maxval:
        raise ImageFormatError(f"PGM: pixel values must be in 0..{maxval}, got {values.min()}..{values.max()}")
    return values.astype(np.uint8).reshape(h, w), maxval
