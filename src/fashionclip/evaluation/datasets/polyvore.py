"""Polyvore Outfits (Vasileva et al., ECCV 2018: "Learning Type-Aware Embeddings for Fashion Compatibility").

Expected layout under ``path`` (the unpacked ``polyvore_outfits`` folder)::

    polyvore_item_metadata.json   required: item id -> {"semantic_category", "category_id", "title", "url_name", ...}
    images/<item_id>.jpg          required folder
    categories.csv                optional: rows "<category_id>,<fine-grained name>,<semantic category>", no header
    disjoint/train.json, disjoint/valid.json, disjoint/test.json          optional
    nondisjoint/train.json, nondisjoint/valid.json, nondisjoint/test.json optional

The outfit files are JSON lists of ``{"set_id": ..., "items": [{"item_id": ...,
"index": 1}, ...]}``. ``version`` picks the split: ``"auto"`` (the default) uses
``disjoint/`` when present, else ``nondisjoint/``, else none; ``"disjoint"`` or
``"nondisjoint"`` require that folder; ``None`` ignores the outfits. With a
version, the items are those its outfits use, each in the split of its outfits
(``train``, ``val`` from ``valid.json``, ``test``); an item in several (the
non-disjoint version shares items) gets the first of test, val, train, so no test
item is also a training item. Without one, every item of the metadata is kept.

``ids`` are the item ids, ``captions`` the title (the ``url_name`` when the title
is empty, as the authors' code does), ``labels`` ``category`` the semantic
category (tops, bottoms, shoes, ...) and ``subcategory`` the fine-grained
category named in ``categories.csv`` (None without that file).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from fashionclip.evaluation.dataset import DatasetError, EvalDataset
from fashionclip.evaluation.datasets._common import check_limit, select_items

NAME = "polyvore"
METADATA = "polyvore_item_metadata.json"
VERSIONS = ("disjoint", "nondisjoint")
# outfit file -> split name, in the order an item shared between splits is assigned
SPLIT_FILES = (("test.json", "test"), ("valid.json", "val"), ("train.json", "train"))


def load_polyvore(
    path: Path, *, split: str | None = None, limit: int | None = None, version: str | None = "auto"
) -> EvalDataset:
    """Polyvore Outfits items with titles, semantic / fine-grained categories and the outfit split.

    ``split`` keeps ``train``, ``val`` or ``test``; ``limit`` keeps the first N
    items (metadata order); ``version`` is ``"auto"``, ``"disjoint"``,
    ``"nondisjoint"`` or None (see the module docstring). Raises
    :class:`DatasetError` for a missing file or folder and malformed JSON.
    """
    check_limit(limit)
    if version not in ("auto", *VERSIONS, None):
        raise DatasetError(f"unknown Polyvore version {version!r}; use auto, disjoint, nondisjoint or None")
    root = Path(path).expanduser().absolute()
    if not root.is_dir():
        raise DatasetError(f"Polyvore Outfits folder {str(root)!r} does not exist")
    metadata_file = root / METADATA
    if not metadata_file.is_file():
        raise DatasetError(f"{root}: no {METADATA}; is this the polyvore_outfits folder?")
    image_dir = root / "images"
    if not image_dir.is_dir():
        raise DatasetError(f"{root}: no images/ folder (images/<item_id>.jpg)")
    metadata = _read_metadata(metadata_file)
    fine_names = _read_categories(root / "categories.csv")
    version_dir = _version_dir(root, version)
    item_split = _read_splits(version_dir, metadata) if version_dir else None

    ids = [item for item in metadata if item_split is None or item in item_split]
    if not ids:
        raise DatasetError(f"{version_dir or metadata_file}: holds no items")
    dataset = EvalDataset(
        name=NAME,
        ids=ids,
        images=[str(image_dir / f"{item}.jpg") for item in ids],
        captions=[_caption(metadata[item]) for item in ids],
        labels={
            "category": [_text(metadata[item]["semantic_category"]) for item in ids],
            "subcategory": [fine_names.get(_text(metadata[item].get("category_id"))) for item in ids],
        },
        split=[item_split[item] for item in ids] if item_split is not None else None,
    )
    return select_items(dataset, split, limit, str(version_dir or metadata_file))


def _read_metadata(path: Path) -> dict[str, dict[str, Any]]:
    data = _read_json(path, unique_keys=True)
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected a JSON object mapping item ids to their metadata")
    for item, entry in data.items():
        if not isinstance(entry, dict):
            raise DatasetError(f"{path}: item {item!r}: expected an object, found {type(entry).__name__}")
        if not _text(entry.get("semantic_category")):
            raise DatasetError(f"{path}: item {item!r} has no 'semantic_category'")
    return {str(item): entry for item, entry in data.items()}


def _read_categories(path: Path) -> dict[str, str]:
    """Category id -> fine-grained name from ``categories.csv``; empty when the file is absent."""
    if not path.is_file():
        return {}
    names: dict[str, str] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for number, row in enumerate(csv.reader(handle), 1):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < 2 or not row[0].strip() or not row[1].strip():
                raise DatasetError(f"{path}:{number}: expected '<category_id>,<name>,<semantic category>'")
            if number == 1 and not row[0].strip().isdigit():
                continue  # a header someone added; the released file has none
            names[row[0].strip()] = row[1].strip()
    return names


def _version_dir(root: Path, version: str | None) -> Path | None:
    if version is None:
        return None
    if version == "auto":
        return next((root / v for v in VERSIONS if (root / v).is_dir()), None)
    if not (root / version).is_dir():
        raise DatasetError(f"{root}: no {version}/ folder with the outfit splits")
    return root / version


def _read_splits(folder: Path, metadata: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Item id -> split of the outfits that use it (test before val before train)."""
    item_split: dict[str, str] = {}
    for file_name, split_name in SPLIT_FILES:
        path = folder / file_name
        if not path.is_file():
            raise DatasetError(f"{folder}: no {file_name} (each version has train.json, valid.json and test.json)")
        for item in _outfit_items(path):
            if item not in metadata:
                raise DatasetError(f"{path}: item {item!r} is not in {METADATA}")
            item_split.setdefault(item, split_name)
    return item_split


def _outfit_items(path: Path) -> list[str]:
    outfits = _read_json(path)
    if not isinstance(outfits, list):
        raise DatasetError(f"{path}: expected a JSON list of outfits")
    items = []
    for number, outfit in enumerate(outfits, 1):
        entries = outfit.get("items") if isinstance(outfit, dict) else None
        if not isinstance(entries, list):
            raise DatasetError(f"{path}: outfit {number} has no 'items' list")
        for entry in entries:
            if not isinstance(entry, dict) or not _text(entry.get("item_id")):
                raise DatasetError(f"{path}: outfit {number} has an item without 'item_id'")
            items.append(_text(entry["item_id"]))
    return items


def _caption(entry: dict[str, Any]) -> str:
    return _text(entry.get("title")) or _text(entry.get("url_name"))


def _text(value: Any) -> str:
    """A JSON value as one line of text (titles hold newlines); empty for null."""
    return "" if value is None else " ".join(str(value).split())


class _DuplicateKey(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.load keeps the last of two equal keys; a repeated item id must not vanish silently
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _DuplicateKey(key)
        data[key] = value
    return data


def _read_json(path: Path, unique_keys: bool = False) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle, object_pairs_hook=_no_duplicates if unique_keys else None)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except _DuplicateKey as exc:
        raise DatasetError(f"{path}: key {exc.args[0]!r} appears more than once") from None
