"""CCP: Clothing Co-Parsing street photos (Yang, Luo and Lin, CVPR 2014), tagged with the garments they show.

Two layouts:

* the shared data folder: ``photos/<photo>.jpg`` and ``tags.csv`` (``photo,tags``,
  tags space-separated); ``labels.csv`` (``index,label``), when present, names
  the tags allowed;
* the original repository (github.com/bearpaw/clothing-co-parsing):
  ``photos/*.jpg``, ``label_list.mat`` (``label_list``: a cell array of the 59
  names), ``annotations/pixel-level/<photo>.mat`` (``groundtruth``: an HxW
  array of label indices, 0-based) and ``annotations/image-level/<photo>.mat``
  (``tags``: the label indices of the photo). A photo's tags are the labels of
  its pixel-level mask, else of its image-level annotation.

Tags leave out null, skin and hair (as the shared ``tags.csv`` does) and are sorted.
"""

from __future__ import annotations

import csv
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from fashionclip._extras import require
from fashionclip.evaluation.dataset import DatasetError, EvalDataset
from fashionclip.evaluation.datasets._common import HOLDOUT_SPLITS, check_limit, check_split_name, holdout_split

NOT_TAGS = frozenset({"null", "skin", "hair"})
PIXEL_LEVEL = Path("annotations") / "pixel-level"
IMAGE_LEVEL = Path("annotations") / "image-level"


def load_ccp(path: Path | str, *, split: str | None = None, limit: int | None = None) -> EvalDataset:
    """The CCP photos under ``path``, with their garment tags.

    ids are photo stems ("0001"); split: "train" / "val" as held out by the
    bundled model's recipe (ccp is its source 1, see
    :func:`~fashionclip.evaluation.datasets.kagl.holdout_split`). ``split`` keeps
    one side, ``limit`` the first photos. Reading the original layout needs scipy
    (``pip install 'fashionclip[eval]'``).
    """
    check_limit(limit)
    check_split_name(split, HOLDOUT_SPLITS, "ccp")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DatasetError(f"ccp: {str(root)!r} is not a folder" + ("" if root.exists() else " (it does not exist)"))
    photos = root / "photos"
    if not photos.is_dir():
        raise DatasetError(f"ccp: no photos/ folder in {str(root)!r}")
    if (root / "tags.csv").is_file():
        tagged = _read_tags_csv(root)
    elif (root / "annotations").is_dir() or (root / "label_list.mat").is_file():
        tagged = _read_original(root)
    else:
        raise DatasetError(
            f"ccp: {str(root)!r} has neither tags.csv (the shared layout) nor annotations/ and label_list.mat "
            "(the original repository's layout)"
        )
    _check_photos(tagged, photos)
    sides = holdout_split(list(tagged), "ccp")
    items = [(photo, tags, side) for (photo, tags), side in zip(tagged.items(), sides, strict=True)]
    items = [item for item in items if split is None or item[2] == split][:limit]
    if not items:
        raise DatasetError(f"ccp: no photo in {str(root)!r} falls in the {split!r} split")
    return EvalDataset(
        name="ccp",
        ids=[photo for photo, _, _ in items],
        images=[str(photos / f"{photo}.jpg") for photo, _, _ in items],
        tags=[tags for _, tags, _ in items],
        split=[side for _, _, side in items],
    )


def _check_photos(tagged: dict[str, list[str]], photos: Path) -> None:
    present = {entry.name for entry in os.scandir(photos)}
    missing = [photo for photo in tagged if f"{photo}.jpg" not in present]
    if missing:
        raise DatasetError(
            f"ccp: {len(missing)} annotated photo(s) missing from {photos} (first: "
            + ", ".join(f"{photo}.jpg" for photo in missing[:5])
            + ")"
        )


def _garments(names: Any) -> list[str]:
    return sorted(set(names) - NOT_TAGS)


# ---------------------------------------------------------------- the shared layout


def _read_tags_csv(root: Path) -> dict[str, list[str]]:
    path = root / "tags.csv"
    known = _read_label_csv(root / "labels.csv") if (root / "labels.csv").is_file() else None
    lines = _read_csv(path)
    if not lines or [cell.strip() for cell in lines[0]] != ["photo", "tags"]:
        raise DatasetError(f"{path}:1: bad header {','.join(lines[0]) if lines else ''!r}; expected photo,tags")
    tagged: dict[str, list[str]] = {}
    for number, fields in enumerate(lines[1:], 2):
        if not fields:
            continue
        if len(fields) != 2:
            raise DatasetError(f"{path}:{number}: {len(fields)} fields, expected 2 (photo,tags)")
        photo, tags = fields[0].strip(), fields[1].split()
        if not photo:
            raise DatasetError(f"{path}:{number}: empty photo name")
        if photo in tagged:
            raise DatasetError(f"{path}:{number}: photo {photo!r} listed twice")
        unknown = sorted(set(tags) - known) if known is not None else []
        if unknown:
            raise DatasetError(f"{path}:{number}: unknown tag(s) {', '.join(unknown)} (not in labels.csv)")
        tagged[photo] = _garments(tags)
    if not tagged:
        raise DatasetError(f"{path}: no photos after the header")
    return tagged


def _read_label_csv(path: Path) -> set[str]:
    lines = _read_csv(path)
    if not lines or [cell.strip() for cell in lines[0]] != ["index", "label"]:
        raise DatasetError(f"{path}:1: bad header {','.join(lines[0]) if lines else ''!r}; expected index,label")
    names = set()
    for number, fields in enumerate(lines[1:], 2):
        if fields and (len(fields) != 2 or not fields[0].strip().isdigit() or not fields[1].strip()):
            raise DatasetError(f"{path}:{number}: expected 'index,label', found {','.join(fields)!r}")
        if fields:
            names.add(fields[1].strip())
    return names


def _read_csv(path: Path) -> list[list[str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return list(csv.reader(handle, strict=True))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: cannot read as CSV ({exc})") from None


# ---------------------------------------------------------------- the original repository's layout


def _read_original(root: Path) -> dict[str, list[str]]:
    names = _read_label_list(root / "label_list.mat")
    pixel = _mat_files(root / PIXEL_LEVEL)
    image = _mat_files(root / IMAGE_LEVEL)
    if not pixel and not image:
        raise DatasetError(f"ccp: no .mat annotations in {root / PIXEL_LEVEL} or {root / IMAGE_LEVEL}")
    tagged: dict[str, list[str]] = {}
    for photo in sorted(pixel.keys() | image.keys()):
        source = pixel.get(photo) or image[photo]
        indices = _mat_array(source, "groundtruth", ndim=2) if photo in pixel else _mat_array(source, "tags", None)
        tagged[photo] = _garments(_names(indices, names, source))
    _warn_unannotated(root / "photos", tagged)
    return tagged


def _mat_files(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in folder.glob("*.mat")} if folder.is_dir() else {}


def _load_mat(path: Path) -> dict[str, Any]:
    sio = require("scipy.io", "eval", feature="reading the original CCP layout (.mat files) needs scipy, which")
    try:
        return sio.loadmat(str(path))
    except Exception as exc:
        # loadmat fails on corrupt input with assorted types (MatReadError, IndexError, ValueError, ...),
        # and with NotImplementedError on MATLAB v7.3 files, which are HDF5
        raise DatasetError(f"{path}: not a readable MATLAB .mat file ({exc})") from None


def _read_label_list(path: Path) -> list[str]:
    if not path.is_file():
        raise DatasetError(f"ccp: {path} is missing (the cell array of label names)")
    content = _load_mat(path)
    if "label_list" not in content:
        raise DatasetError(f"{path}: no 'label_list' variable (has {', '.join(_variables(content)) or 'none'})")
    names = []
    for cell in np.asarray(content["label_list"], dtype=object).ravel():
        value = np.asarray(cell).ravel()
        if value.size != 1 or not isinstance(value[0], str) or not value[0].strip():
            raise DatasetError(f"{path}: label_list entry {len(names)} is {cell!r}, not a label name")
        names.append(value[0].strip())
    if not names:
        raise DatasetError(f"{path}: label_list is empty")
    return names


def _mat_array(path: Path, key: str, ndim: int | None) -> np.ndarray:
    content = _load_mat(path)
    if key not in content:
        raise DatasetError(f"{path}: no {key!r} variable (has {', '.join(_variables(content)) or 'none'})")
    array = np.asarray(content[key])
    if array.dtype.kind not in "iuf" or (ndim is not None and array.ndim != ndim):
        shape = "x".join(map(str, array.shape))
        raise DatasetError(f"{path}: {key!r} is a {shape} {array.dtype} array, expected label indices")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array) & (array == np.round(array))):
        raise DatasetError(f"{path}: {key!r} holds values that are not whole label indices")
    return array.astype(np.int64, copy=False).ravel()


def _names(indices: np.ndarray, names: list[str], path: Path) -> list[str]:
    if indices.size and (indices.min() < 0 or indices.max() >= len(names)):
        bad = int(indices.min() if indices.min() < 0 else indices.max())
        raise DatasetError(f"{path}: label index {bad} out of range (label_list has {len(names)} names, 0-based)")
    present = np.flatnonzero(np.bincount(indices, minlength=len(names)))  # faster than np.unique on a mask
    return [names[i] for i in present]


def _variables(content: dict[str, Any]) -> list[str]:
    return sorted(k for k in content if not k.startswith("__"))


def _warn_unannotated(photos: Path, tagged: dict[str, list[str]]) -> None:
    stems = {p.stem for p in photos.glob("*.jpg")}
    unannotated = sorted(stems - tagged.keys())
    if unannotated:
        warnings.warn(
            f"ccp: skipped {len(unannotated)} photo(s) in {photos} with no annotation (first: "
            + ", ".join(unannotated[:5])
            + ")",
            stacklevel=4,
        )
