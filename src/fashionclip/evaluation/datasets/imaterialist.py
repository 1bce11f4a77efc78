"""iMaterialist Fashion: the FGVC5 (2018) attribute challenge, or the FGVC6/FGVC7 (2019/2020) one.

Two layouts under ``path``; ``train.csv`` decides which.

**FGVC5, "iMaterialist Challenge (Fashion)" 2018** (multi-label attributes)::

    train.json            {"images": [{"imageId": "1", "url": ...}],
                           "annotations": [{"imageId": "1", "labelId": ["95", "66", ...]}]}
    validation.json       the same format (or val.json, its name on the authors' GitHub page)
    train/<imageId>.jpg   the downloaded images, one folder per file (validation/ or val/)
    iMat_fashion_2018_label_map_228.csv   optional: labelId,taskId,labelName,taskName

Each annotation is one item: ``ids`` ``train/<imageId>`` (the files number their
images independently), ``split`` ``train`` or ``val``, ``tags`` the label names
from the label map (published later by the organisers, visipedia/imat_fashion_comp)
or, without it, the label ids. With the map, ``labels`` has one column per task
(category, color, gender, material, neckline, pattern, sleeve, style) holding
the image's label of that task when it has exactly one, else None.
``test.json`` has no labels and is not read.

**FGVC6 / FGVC7, iMaterialist (Fashion) 2019 / 2020** (segmentation with attributes)::

    train.csv                 ImageId,EncodedPixels,Height,Width,ClassId[,AttributesIds]: one row per segment
    label_descriptions.json   {"categories": [{"id": 0, "name": ...}], "attributes": [{"id": 0, "name": ...}]}
    train/<ImageId>           the images (2019 ImageIds end in .jpg; 2020 ones get .jpg added)

``ClassId`` is ``<category id>`` with, in 2019, ``_<attribute id>`` parts
appended; 2020 lists attribute ids in ``AttributesIds`` (comma-separated). Each
image is one item: ``ids`` the ImageId without suffix, ``tags`` the names of its
segments' categories and attributes, in order of appearance; no split (only the
training set has labels).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fashionclip.evaluation.dataset import DatasetError, EvalDataset
from fashionclip.evaluation.datasets._common import check_limit, read_json, select_items

NAME = "imaterialist"
FGVC5_TRAIN = "train.json"
FGVC5_VAL = ("validation.json", "val.json")
LABEL_MAP = "iMat_fashion_2018_label_map_228.csv"
FGVC6_INDEX = "train.csv"
FGVC6_LABELS = "label_descriptions.json"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class _Label:
    name: str
    task: str


@dataclass
class _Items:
    ids: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    tags: list[list[str]] = field(default_factory=list)
    split: list[str] = field(default_factory=list)


def load_imaterialist(path: Path, *, split: str | None = None, limit: int | None = None) -> EvalDataset:
    """iMaterialist Fashion images with their attribute tags (and, for 2018, train/val split).

    ``split`` keeps ``train`` or ``val`` (2018 only); ``limit`` keeps the first N
    images. Raises :class:`DatasetError` for a missing file or folder and for a
    malformed annotation or row, naming the file (and line or annotation).
    """
    check_limit(limit)
    root = Path(path).expanduser().absolute()
    if not root.is_dir():
        raise DatasetError(f"iMaterialist folder {str(root)!r} does not exist")
    if (root / FGVC6_INDEX).is_file():
        dataset, where = _load_fgvc6(root), root / FGVC6_INDEX
    else:
        files = [(root / FGVC5_TRAIN, "train")]
        files += [(root / name, "val") for name in FGVC5_VAL if (root / name).is_file()][:1]
        files = [(file, name) for file, name in files if file.is_file()]
        if not files:
            raise DatasetError(
                f"{root}: no {FGVC6_INDEX} (2019/2020 layout) nor {FGVC5_TRAIN} / {FGVC5_VAL[0]} (2018 layout)"
            )
        dataset, where = _load_fgvc5(root, files), files[0][0]
    if not dataset.ids:
        raise DatasetError(f"{where}: holds no labelled images")
    return select_items(dataset, split, limit, str(where))


def _load_fgvc5(root: Path, files: list[tuple[Path, str]]) -> EvalDataset:
    label_map = _read_label_map(root / LABEL_MAP)
    items = _Items()
    label_ids: list[list[str]] = []
    for path, split_name in files:
        folder = root / path.stem
        if not folder.is_dir():
            raise DatasetError(f"{root}: no {path.stem}/ folder with the images of {path.name} (<imageId>.jpg)")
        for image_id, labels in _read_annotations(path, label_map):
            items.ids.append(f"{path.stem}/{image_id}")
            items.images.append(str(folder / f"{image_id}.jpg"))
            items.split.append(split_name)
            label_ids.append(labels)
            items.tags.append([label_map[i].name for i in labels] if label_map else list(labels))
    return EvalDataset(
        name=NAME,
        ids=items.ids,
        images=items.images,
        labels=_task_labels(label_ids, label_map),
        tags=items.tags,
        split=items.split,
    )


def _read_annotations(path: Path, label_map: dict[str, _Label]) -> list[tuple[str, list[str]]]:
    """(imageId, label ids) per annotation of a 2018 train / validation file."""
    data = read_json(path)
    annotations = data.get("annotations") if isinstance(data, dict) else None
    if not isinstance(annotations, list):
        raise DatasetError(f"{path}: no 'annotations' list (test.json has no labels; use train / validation)")
    result: list[tuple[str, list[str]]] = []
    seen: dict[str, int] = {}
    for number, annotation in enumerate(annotations, 1):
        if not isinstance(annotation, dict):
            raise DatasetError(f"{path}: annotation {number} is not a JSON object")
        image_id = str(annotation.get("imageId", annotation.get("image_id", ""))).strip()
        labels = annotation.get("labelId", annotation.get("label_id"))
        if not image_id:
            raise DatasetError(f"{path}: annotation {number} has no 'imageId'")
        if not isinstance(labels, list):
            raise DatasetError(f"{path}: annotation {number} (image {image_id!r}) has no 'labelId' list")
        if image_id in seen:
            raise DatasetError(
                f"{path}: annotation {number}: image {image_id!r} already in annotation {seen[image_id]}"
            )
        seen[image_id] = number
        labels = [str(label).strip() for label in labels]
        unknown = next((label for label in labels if label_map and label not in label_map), None)
        if unknown is not None:
            raise DatasetError(f"{path}: annotation {number}: label id {unknown!r} is not in {LABEL_MAP}")
        result.append((image_id, labels))
    return result


def _read_label_map(path: Path) -> dict[str, _Label]:
    """Label id -> (name, task) from the 2018 label map; empty when the file is absent."""
    if not path.is_file():
        return {}
    labels: dict[str, _Label] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("labelId", "labelName", "taskName") if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetError(f"{path}: no column(s) {', '.join(missing)}; expected labelId,taskId,labelName,taskName")
        for row in reader:
            label_id, name, task = (str(row.get(c) or "").strip() for c in ("labelId", "labelName", "taskName"))
            if not (label_id and name and task):
                raise DatasetError(f"{path}:{reader.line_num}: empty labelId, labelName or taskName")
            labels[label_id] = _Label(name, task)
    return labels


def _task_labels(label_ids: list[list[str]], label_map: dict[str, _Label]) -> dict[str, list[str | None]]:
    """Per task, each image's one label of that task (None for none or several)."""
    tasks = list(dict.fromkeys(label.task for label in label_map.values()))
    columns: dict[str, list[str | None]] = {}
    for task in tasks:
        column: list[str | None] = []
        for labels in label_ids:
            names = list(dict.fromkeys(label_map[i].name for i in labels if label_map[i].task == task))
            column.append(names[0] if len(names) == 1 else None)
        columns[task] = column
    return columns


def _load_fgvc6(root: Path) -> EvalDataset:
    descriptions = root / FGVC6_LABELS
    if not descriptions.is_file():
        raise DatasetError(f"{root}: no {FGVC6_LABELS} (it comes with {FGVC6_INDEX})")
    categories, attributes = _read_label_descriptions(descriptions)
    image_dir = root / "train"
    if not image_dir.is_dir():
        raise DatasetError(f"{root}: no train/ folder with the images {FGVC6_INDEX} names")
    per_image = _read_segments(root / FGVC6_INDEX, categories, attributes)
    items = _Items()
    for image, tags in per_image.items():
        has_suffix = Path(image).suffix.lower() in IMAGE_SUFFIXES
        items.ids.append(Path(image).stem if has_suffix else image)
        items.images.append(str(image_dir / (image if has_suffix else f"{image}.jpg")))
        items.tags.append(tags)
    return EvalDataset(name=NAME, ids=items.ids, images=items.images, tags=items.tags)


def _read_label_descriptions(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Category id -> name and attribute id -> name (the two number from 0 independently)."""
    data = read_json(path)
    tables = []
    for key in ("categories", "attributes"):
        entries = data.get(key) if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise DatasetError(f"{path}: no '{key}' list")
        table: dict[str, str] = {}
        for number, entry in enumerate(entries, 1):
            if not isinstance(entry, dict) or entry.get("id") is None or not entry.get("name"):
                raise DatasetError(f"{path}: {key} entry {number} has no 'id' and 'name'")
            table[str(entry["id"])] = str(entry["name"]).strip()
        tables.append(table)
    return tables[0], tables[1]


def _read_segments(path: Path, categories: dict[str, str], attributes: dict[str, str]) -> dict[str, list[str]]:
    """ImageId -> the names of its segments' categories and attributes (first appearance order)."""
    per_image: dict[str, list[str]] = {}
    with _large_csv_fields(), path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("ImageId", "ClassId") if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetError(f"{path}: no column(s) {', '.join(missing)}; columns are {reader.fieldnames}")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if None in row:  # csv.DictReader files surplus fields under None
                raise DatasetError(f"{where}: more fields than the header has columns")
            image = str(row["ImageId"] or "").strip()
            if not image:
                raise DatasetError(f"{where}: empty ImageId")
            category, attribute_ids = _class_ids(row, where)
            names = [_name(categories, category, "category", where)]
            names += [_name(attributes, a, "attribute", where) for a in attribute_ids]
            tags = per_image.setdefault(image, [])
            for name in names:
                if name not in tags:
                    tags.append(name)
    return per_image


def _class_ids(row: dict[str, Any], where: str) -> tuple[str, list[str]]:
    """The category id and attribute ids of one segment: 2019 ``6_28_77``, 2020 ``6`` + ``28,77``."""
    class_id = str(row["ClassId"] or "").strip()
    parts = class_id.split("_")
    extra = str(row.get("AttributesIds") or "").strip()
    attributes = parts[1:] + ([a.strip() for a in extra.split(",")] if extra else [])
    if not all(p.isdigit() for p in [*parts[:1], *attributes]):
        raise DatasetError(f"{where}: ClassId {class_id!r} / AttributesIds {extra!r} are not numeric ids")
    return parts[0], attributes


def _name(table: dict[str, str], label_id: str, kind: str, where: str) -> str:
    if label_id not in table:
        raise DatasetError(f"{where}: {kind} id {label_id} is not in {FGVC6_LABELS}")
    return table[label_id]


@contextmanager
def _large_csv_fields() -> Iterator[None]:
    # EncodedPixels run-length masks exceed the csv module's 128 KiB field limit
    previous = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(previous)
