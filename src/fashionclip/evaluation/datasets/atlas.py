"""Atlas (Umaashankar et al., 2019: "Atlas: A Dataset and Benchmark for E-commerce Clothing Product Categorization").

``path`` is the folder holding the index file (``atlas_dataset.json``, else
``atlas_dataset.jsonl``) or the index file itself (``.json`` or ``.jsonl``). Image
paths in it are relative to the index file's folder, as the authors'
``create_dataset.py`` downloads them::

    atlas_dataset.json
    atlas_dataset/Men_Western Wear_Jeans/images/<file>.jpeg ...

``atlas_dataset.json`` is the released Karpathy-style index, ``{"images": [record,
...]}`` (a bare list of records is read too); ``.jsonl`` holds one record per
line. A record is the release's
``{"filename": "atlas_dataset/.../images/x.jpeg", "title": "...", "sentences":
[{"tokens": ["Men", "Western Wear", "Jeans"]}], "image_url": "...", "split":
"train"}`` or the crawlers' ``data.json`` entry ``{"file_path": ...,
"product_title": ..., "taxonomy": "Men/Western Wear/Jeans"}``.

Each record is one item: ``ids`` the image path as written, ``captions`` the
title, ``labels`` ``gender``, ``category`` and ``subcategory`` from the category
path's three levels (None where the path is shorter) and ``split`` the record's
split (train / val / test), when every record has one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fashionclip.evaluation.dataset import DatasetError, EvalDataset
from fashionclip.evaluation.datasets._common import check_limit, select_items

NAME = "atlas"
INDEX_FILES = ("atlas_dataset.json", "atlas_dataset.jsonl")
LEVELS = ("gender", "category", "subcategory")
_PATH_SEPARATOR = re.compile(r"\s*(?:->|>|/)\s*")


@dataclass(frozen=True)
class _Record:
    image: str
    title: str
    levels: tuple[str, ...]
    split: str | None
    where: str  # file and record / line, for errors found after reading


def load_atlas(path: Path, *, split: str | None = None, limit: int | None = None) -> EvalDataset:
    """Atlas product images with titles, the three-level category path and the released split.

    ``split`` keeps one split (``train``, ``val``, ``test``); ``limit`` keeps the
    first N records. Raises :class:`DatasetError` for a missing file or folder and
    for a malformed record, naming the file and record (or line).
    """
    check_limit(limit)
    index = _index_file(Path(path).expanduser().absolute())
    base = index.parent
    records = _read_records(index)
    if not records:
        raise DatasetError(f"{index}: holds no records")
    _check_image_folders(base, records)
    splits = [r.split for r in records]
    if any(s is None for s in splits) and any(s is not None for s in splits):
        missing = next(r for r in records if r.split is None)
        raise DatasetError(f"{missing.where}: no 'split', though other records have one")
    dataset = EvalDataset(
        name=NAME,
        ids=[r.image for r in records],
        images=[str(base / r.image) for r in records],
        captions=[r.title for r in records],
        labels={name: [r.levels[i] if i < len(r.levels) else None for r in records] for i, name in enumerate(LEVELS)},
        split=None if splits[0] is None else [str(s) for s in splits],
    )
    return select_items(dataset, split, limit, str(index))


def _index_file(path: Path) -> Path:
    if path.is_file():
        return path
    if not path.is_dir():
        raise DatasetError(f"Atlas folder or index file {str(path)!r} does not exist")
    index = next((path / name for name in INDEX_FILES if (path / name).is_file()), None)
    if index is None:
        raise DatasetError(f"{path}: no {INDEX_FILES[0]} (nor {INDEX_FILES[1]}); download the Atlas index file")
    return index


def _read_records(path: Path) -> list[_Record]:
    records: list[_Record] = []
    seen: dict[str, str] = {}
    for where, raw in _raw_records(path):
        record = _parse(raw, where)
        if record.image in seen:
            raise DatasetError(f"{where}: image {record.image!r} already listed at {seen[record.image]}")
        seen[record.image] = where
        records.append(record)
    return records


def _raw_records(path: Path) -> list[tuple[str, Any]]:
    """(where, record) pairs from a JSON index (``{"images": [...]}`` or a list) or a JSON-lines file."""
    with path.open(encoding="utf-8") as handle:
        if path.suffix.lower() == ".jsonl":
            pairs = []
            for number, line in enumerate(handle, 1):
                if line.strip():
                    pairs.append((f"{path}:{number}", _loads(line, f"{path}:{number}")))
            return pairs
        data = _loads(handle.read(), str(path))
    images = data.get("images") if isinstance(data, dict) else data
    if not isinstance(images, list):
        raise DatasetError(f"{path}: expected {{'images': [...]}} or a JSON list of records")
    return [(f"{path}: record {number}", record) for number, record in enumerate(images, 1)]


def _loads(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def _parse(raw: Any, where: str) -> _Record:
    if not isinstance(raw, dict):
        raise DatasetError(f"{where}: expected a JSON object")
    # paths are kept as written (folder names hold spaces), only trimmed
    image = str(raw.get("filename") or raw.get("file_path") or "").strip()
    if not image:
        raise DatasetError(f"{where}: no image path ('filename' or 'file_path')")
    levels = _levels(raw, where)
    split = _text(raw.get("split")) or None
    return _Record(image, _text(raw.get("title") or raw.get("product_title")), levels, split, where)


def _levels(raw: dict[str, Any], where: str) -> tuple[str, ...]:
    """The category path: ``sentences[0].tokens`` (the release) or a ``taxonomy`` string (the crawlers)."""
    sentences = raw.get("sentences")
    if isinstance(sentences, list) and sentences and isinstance(sentences[0], dict):
        tokens = sentences[0].get("tokens")
        if isinstance(tokens, list) and tokens:
            return tuple(_text(t) for t in tokens)
    taxonomy = _text(raw.get("taxonomy"))
    if taxonomy:
        return tuple(level for level in _PATH_SEPARATOR.split(taxonomy) if level)
    raise DatasetError(f"{where}: no category path ('sentences': [{{'tokens': [...]}}] or 'taxonomy')")


def _check_image_folders(base: Path, records: list[_Record]) -> None:
    """Each top folder the image paths name must exist; the images themselves are not opened."""
    checked: set[str] = set()
    for record in records:
        top = record.image.split("/", 1)[0] if "/" in record.image else ""
        if top in checked:
            continue
        if not (base / top).is_dir():
            raise DatasetError(f"{record.where}: image folder {str(base / top)!r} does not exist")
        checked.add(top)


def _text(value: Any) -> str:
    """A JSON value as one line of text (titles hold newlines); empty for null."""
    return "" if value is None else " ".join(str(value).split())
