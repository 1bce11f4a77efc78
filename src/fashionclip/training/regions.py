"""Training pairs from segmentation masks: one close-up per labelled region of a photo.

A street photo with a pixel mask (each pixel holds a label index) yields a
crop of each garment it shows, captioned from the label ("a photo of a
coat"), so the model sees garments in street light and poses, not only on
catalogue white. Boxes are kept as fractions of the image size: a JPEG decoded
at a reduced scale crops the same region.
"""

from __future__ import annotations

import csv
from collections.abc import Collection
from pathlib import Path

import numpy as np
from PIL import Image

from fashionclip.training.config import TrainConfigError

Box = tuple[float, float, float, float]  # left, top, right, bottom, as fractions of width and height

# label masks are read at half resolution: boxes stay within a pixel or two, at a quarter of the work
_STRIDE = 2


def read_label_names(path: Path) -> dict[int, str]:
    """``index,label`` rows of a labels CSV as ``{index: label}``."""
    if not path.is_file():
        raise TrainConfigError(f"mask labels file {str(path)!r} does not exist")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"index", "label"} <= set(reader.fieldnames):
            raise TrainConfigError(f"mask labels file {str(path)!r} needs 'index' and 'label' columns")
        names: dict[int, str] = {}
        for number, row in enumerate(reader, 2):
            try:
                index = int(row["index"])
            except (TypeError, ValueError):
                raise TrainConfigError(f"{path}:{number}: index {row['index']!r} is not an integer") from None
            label = (row["label"] or "").strip()
            if not label:
                raise TrainConfigError(f"{path}:{number}: empty label for index {index}")
            names[index] = label
    if not names:
        raise TrainConfigError(f"mask labels file {str(path)!r} has no labels")
    return names


def mask_regions(
    mask_path: Path,
    names: dict[int, str],
    *,
    ignore: Collection[str] = (),
    min_fraction: float = 0.01,
    margin: float = 0.1,
) -> list[tuple[str, Box]]:
    """The labelled regions of one mask: ``(label, box)`` for each label covering at least
    ``min_fraction`` of the image, its bounding box widened by ``margin`` of its size on each side."""
    try:
        with Image.open(mask_path) as mask:
            if mask.mode not in ("L", "P", "I", "I;16"):
                raise TrainConfigError(
                    f"mask {str(mask_path)!r}: expected a single-channel label image, got {mask.mode}"
                )
            labels = np.asarray(mask)[::_STRIDE, ::_STRIDE]
    except FileNotFoundError:
        raise TrainConfigError(f"mask {str(mask_path)!r} does not exist") from None
    except OSError as exc:
        raise TrainConfigError(f"mask {str(mask_path)!r} cannot be read: {exc}") from None
    height, width = labels.shape
    regions = []
    values, counts = np.unique(labels, return_counts=True)
    for value, count in zip(values.tolist(), counts.tolist(), strict=True):
        name = names.get(int(value))
        if name is None:
            raise TrainConfigError(f"mask {str(mask_path)!r}: pixel value {value} is not in the labels file")
        if name in ignore or count < min_fraction * labels.size:
            continue
        ys, xs = np.nonzero(labels == value)
        left, right = xs.min() / width, (xs.max() + 1) / width
        top, bottom = ys.min() / height, (ys.max() + 1) / height
        dx, dy = margin * (right - left), margin * (bottom - top)
        box = (max(0.0, left - dx), max(0.0, top - dy), min(1.0, right + dx), min(1.0, bottom + dy))
        regions.append((name, box))
    return regions


def crop_box(image: Image.Image, box: Box) -> Image.Image:
    """The part of ``image`` inside ``box`` (fractions of its size), at least one pixel."""
    width, height = image.size
    left, top = min(int(box[0] * width), width - 1), min(int(box[1] * height), height - 1)
    right, bottom = max(round(box[2] * width), left + 1), max(round(box[3] * height), top + 1)
    return image.crop((left, top, right, bottom))
