"""Fashion-MNIST (Zalando Research): 28x28 greyscale article images in 10 classes.

Two layouts:

* Kaggle's CSV files (``label, pixel1 ... pixel784``, one image per line):
  ``fashion-mnist_test.csv`` / ``fashion-mnist_train.csv``, or any such CSV;
* the original IDX files ``t10k-images-idx3-ubyte`` / ``t10k-labels-idx1-ubyte``
  and ``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte``, each optionally
  gzipped.

``path`` is one CSV file, one IDX images file (its labels file sits beside it),
or a folder: its IDX pairs when it has any, else its CSV files. A file whose
name holds "train" is the train split, any other the test split.
"""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fashionclip.evaluation.dataset import DatasetError, EvalDataset
from fashionclip.evaluation.datasets._common import check_limit, check_split_name

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
SIDE = 28
PIXELS = SIDE * SIDE
IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension
_IDX_IMAGES = re.compile(r"^(?P<prefix>.+)-images-idx3-ubyte(?P<gz>\.gz)?$")


@dataclass(frozen=True)
class _Part:
    """One split's source: a CSV file, or an IDX images file and its labels file."""

    split: str
    images: Path
    labels: Path | None = None


def load_fmnist(path: Path | str, *, split: str | None = None, limit: int | None = None) -> EvalDataset:
    """Fashion-MNIST at ``path``: 28x28 uint8 images, labels {"label": class name}, split "train" / "test".

    ids are ``"<split>-<index in its file>"``; test items come first. ``split``
    keeps one split, ``limit`` the first items.
    """
    check_limit(limit)
    parts = _find_parts(Path(path).expanduser())
    check_split_name(split, sorted({part.split for part in parts}), "fmnist")
    ids: list[str] = []
    images: list[np.ndarray] = []
    labels: list[int] = []
    splits: list[str] = []
    for part in sorted(parts, key=lambda p: p.split != "test"):
        if split is not None and part.split != split:
            continue
        left = None if limit is None else limit - len(ids)
        if left == 0:
            break
        if part.labels is None:
            part_images, part_labels = _read_csv(part.images, left)
        else:
            part_images, part_labels = _read_idx_pair(part.images, part.labels, left)
        ids.extend(f"{part.split}-{i}" for i in range(len(part_labels)))
        images.extend(part_images)
        labels.extend(part_labels)
        splits.extend([part.split] * len(part_labels))
    return EvalDataset(
        name="fmnist", ids=ids, images=images, labels={"label": [CLASSES[i] for i in labels]}, split=splits
    )


def _split_of(path: Path) -> str:
    return "train" if "train" in path.name.lower() else "test"


def _find_parts(path: Path) -> list[_Part]:
    if not path.exists():
        raise DatasetError(f"fmnist: {str(path)!r} does not exist")
    if path.is_file():
        if path.suffix.lower() == ".csv":
            return [_Part(_split_of(path), path)]
        match = _IDX_IMAGES.match(path.name)
        if match:
            return [_idx_part(path, match)]
        raise DatasetError(
            f"fmnist: {str(path)!r} is neither a .csv file nor an IDX images file (such as t10k-images-idx3-ubyte.gz)"
        )
    idx = _idx_images(path)
    parts = [_idx_part(*pair) for pair in idx] if idx else [_Part(_split_of(p), p) for p in _csv_files(path)]
    if not parts:
        raise DatasetError(
            f"fmnist: no Fashion-MNIST files in {str(path)!r}: expected fashion-mnist_test.csv / _train.csv "
            "or t10k-images-idx3-ubyte(.gz) / train-images-idx3-ubyte(.gz) with their labels files"
        )
    seen: dict[str, Path] = {}
    for part in parts:
        if part.split in seen:
            raise DatasetError(
                f"fmnist: {str(path)!r} holds two {part.split} sets, {seen[part.split].name} and {part.images.name}; "
                "pass one file"
            )
        seen[part.split] = part.images
    return parts


def _csv_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".csv")


def _idx_images(folder: Path) -> list[tuple[Path, re.Match[str]]]:
    found: dict[str, tuple[Path, re.Match[str]]] = {}
    for candidate in sorted(folder.iterdir()):
        match = _IDX_IMAGES.match(candidate.name)
        # the unpacked file wins over its .gz when both are there
        if match and candidate.is_file() and (match["prefix"] not in found or not match["gz"]):
            found[match["prefix"]] = (candidate, match)
    return list(found.values())


def _idx_part(images: Path, match: re.Match[str]) -> _Part:
    names = [f"{match['prefix']}-labels-idx1-ubyte{suffix}" for suffix in ("", ".gz")]
    labels = next((images.parent / n for n in names if (images.parent / n).is_file()), None)
    if labels is None:
        raise DatasetError(f"fmnist: {images.name} has no labels file beside it ({' or '.join(names)})")
    split = "test" if match["prefix"] == "t10k" else _split_of(images)
    return _Part(split, images, labels)


# ---------------------------------------------------------------- IDX


def _read_idx_pair(images: Path, labels_path: Path, limit: int | None) -> tuple[list[np.ndarray], list[int]]:
    pixels = _read_idx(images, IMAGES_MAGIC)
    labels = _read_idx(labels_path, LABELS_MAGIC)
    if pixels.shape[1:] != (SIDE, SIDE):
        shape = "x".join(map(str, pixels.shape[1:]))
        raise DatasetError(f"{images}: images are {shape}, expected {SIDE}x{SIDE}")
    if len(pixels) != len(labels):
        raise DatasetError(f"{images} holds {len(pixels)} images but {labels_path.name} holds {len(labels)} labels")
    bad = np.flatnonzero(labels >= len(CLASSES))
    if bad.size:
        raise DatasetError(f"{labels_path}: label {labels[bad[0]]} of item {bad[0]} out of range 0-9")
    count = len(labels) if limit is None else min(limit, len(labels))
    return list(pixels[:count]), [int(label) for label in labels[:count]]


def _read_idx(path: Path, magic: int) -> np.ndarray:
    data = _read_bytes(path)
    if len(data) < 4:
        raise DatasetError(f"{path}: truncated IDX header ({len(data)} bytes)")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DatasetError(f"{path}: bad IDX magic number {found}, expected {magic}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path}: truncated IDX header ({len(data)} bytes, expected {header})")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        shape = "x".join(map(str, dims))
        raise DatasetError(f"{path}: {what}: a {shape} IDX array needs {expected} bytes, the file has {len(data)}")
    # a writable copy: callers may hand the arrays to code that modifies images in place
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix.lower() == ".gz":
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DatasetError(f"{path}: cannot read ({exc})") from None


# ---------------------------------------------------------------- Kaggle CSV


def _read_csv(path: Path, limit: int | None) -> tuple[list[np.ndarray], list[int]]:
    images: list[np.ndarray] = []
    labels: list[int] = []
    try:
        with path.open(encoding="utf-8-sig") as handle:
            _check_header(handle.readline(), path)
            for number, line in enumerate(handle, 2):
                if limit is not None and len(labels) == limit:
                    break
                if line.strip():
                    label, image = _parse_csv_row(line, path, number)
                    labels.append(label)
                    images.append(image)
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from None
    if not labels:
        raise DatasetError(f"{path}: no images after the header")
    return images, labels


def _check_header(line: str, path: Path) -> None:
    expected = ["label", *(f"pixel{i}" for i in range(1, PIXELS + 1))]
    header = [name.strip().strip('"') for name in line.strip().split(",")]
    if header != expected:
        shown = ",".join(header[:4]) + (",..." if len(header) > 4 else "")
        raise DatasetError(f"{path}:1: bad header {shown!r} ({len(header)} columns); expected label,pixel1..pixel784")


def _parse_csv_row(line: str, path: Path, number: int) -> tuple[int, np.ndarray]:
    fields = line.split(",")
    if len(fields) != PIXELS + 1:
        raise DatasetError(f"{path}:{number}: {len(fields) - 1} pixel values, expected {PIXELS}")
    try:
        numbers = [int(field) for field in fields]
    except ValueError:
        raise DatasetError(f"{path}:{number}: {_first_non_integer(fields)!r} is not a whole number") from None
    label, pixels = numbers[0], numbers[1:]
    if not 0 <= label < len(CLASSES):
        raise DatasetError(f"{path}:{number}: label {label} out of range 0-9")
    if min(pixels) < 0 or max(pixels) > 255:
        bad = next(value for value in pixels if not 0 <= value <= 255)
        raise DatasetError(f"{path}:{number}: pixel value {bad} out of range 0-255")
    return label, np.array(pixels, dtype=np.uint8).reshape(SIDE, SIDE)


def _first_non_integer(fields: list[str]) -> str:
    for field in fields:
        try:
            int(field)
        except ValueError:
            return field.strip()
    return ""
