"""DeepFashion In-shop Clothes Retrieval Benchmark (Liu et al., CVPR 2016).

Expected layout under ``path`` (the unpacked benchmark folder)::

    Eval/list_eval_partition.txt        required (or list_eval_partition.txt at the top)
    Anno/list_description_inshop.json   optional (or list_description_inshop.json at the top)
    img/WOMEN/Dresses/id_00000002/02_1_front.jpg ...   (or Img/img/..., as img.zip unpacks)

``list_eval_partition.txt``: line 1 the number of images, line 2 the header
``image_name item_id evaluation_status``, then one whitespace-separated row per
image: ``img/WOMEN/Dresses/id_00000002/02_1_front.jpg id_00000002 query``, the
status being ``train``, ``query`` or ``gallery``.

``list_description_inshop.json``: a JSON list of ``{"item": "id_00000002",
"color": "Black", "description": ["line", ...]}``; when an item appears more than
once (the file lists colour variants) the first entry is used.

Each image is one item: ``ids`` the image name, ``products`` the item id (the
photos of one product: image->image retrieval), ``split`` the evaluation status,
``captions`` the item's description lines joined (only when the description file
is there), ``labels`` ``gender`` and ``category`` from the image path (underscores
read as spaces: ``Blouses_Shirts`` -> ``Blouses Shirts``) and ``color`` from the
description file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fashionclip.evaluation.dataset import DatasetError, EvalDataset
from fashionclip.evaluation.datasets._common import check_limit, read_json, select_items

NAME = "deepfashion-inshop"
PARTITION = ("Eval/list_eval_partition.txt", "list_eval_partition.txt")
DESCRIPTIONS = ("Anno/list_description_inshop.json", "list_description_inshop.json")
STATUSES = ("train", "query", "gallery")


@dataclass(frozen=True)
class _Row:
    image: str
    item: str
    status: str


@dataclass(frozen=True)
class _Description:
    text: str
    color: str | None


def load_deepfashion_inshop(path: Path, *, split: str | None = None, limit: int | None = None) -> EvalDataset:
    """The In-shop benchmark's images with item ids, splits, path categories and descriptions.

    ``split`` keeps one evaluation status (``train``, ``query`` or ``gallery``);
    ``limit`` keeps the first N images. Raises :class:`DatasetError` for a missing
    file or folder and for a malformed row, naming the file and line.
    """
    check_limit(limit)
    root = Path(path).expanduser().absolute()
    if not root.is_dir():
        raise DatasetError(f"DeepFashion In-shop folder {str(root)!r} does not exist")
    partition = _find(root, PARTITION)
    if partition is None:
        raise DatasetError(f"{root}: no {PARTITION[0]} (nor {PARTITION[1]}); is this the In-shop benchmark folder?")
    rows = _read_partition(partition)
    base = _image_base(root)
    description_file = _find(root, DESCRIPTIONS)
    descriptions = _read_descriptions(description_file) if description_file else None

    labels: dict[str, list[str | None]] = {
        "gender": [_path_level(row.image, 1) for row in rows],
        "category": [_path_level(row.image, 2) for row in rows],
    }
    captions = None
    if descriptions is not None:
        found = [descriptions.get(row.item) for row in rows]
        captions = [d.text if d else "" for d in found]
        labels["color"] = [d.color if d else None for d in found]
    dataset = EvalDataset(
        name=NAME,
        ids=[row.image for row in rows],
        images=[str(base / row.image) for row in rows],
        captions=captions,
        labels=labels,
        products=[row.item for row in rows],
        split=[row.status for row in rows],
    )
    return select_items(dataset, split, limit, str(partition))


def _read_partition(path: Path) -> list[_Row]:
    """The rows of ``list_eval_partition.txt``; raises DatasetError naming the bad line."""
    with path.open(encoding="utf-8") as handle:
        lines = [line.strip() for line in handle]
    while lines and not lines[-1]:
        lines.pop()
    if not lines or not lines[0].isdigit():
        raise DatasetError(f"{path}:1: expected the number of images, found {lines[0] if lines else ''!r}")
    if len(lines) < 2 or lines[1].split()[:1] != ["image_name"]:
        raise DatasetError(f"{path}:2: expected the header 'image_name item_id evaluation_status'")
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines[2:], 3):
        fields = line.split()
        if len(fields) != 3:
            raise DatasetError(
                f"{path}:{number}: expected 'image_name item_id evaluation_status', found {len(fields)} fields"
            )
        image, item, status = fields
        if status not in STATUSES:
            raise DatasetError(f"{path}:{number}: unknown evaluation status {status!r}; use {', '.join(STATUSES)}")
        if image in seen:
            raise DatasetError(f"{path}:{number}: image {image!r} already listed on line {seen[image]}")
        seen[image] = number
        rows.append(_Row(image, item, status))
    if not rows:
        raise DatasetError(f"{path}: lists no images")
    # a count that disagrees with the rows means a truncated or hand-edited file
    if int(lines[0]) != len(rows):
        raise DatasetError(f"{path}:1: declares {lines[0]} images but lists {len(rows)}")
    return rows


def _read_descriptions(path: Path) -> dict[str, _Description]:
    """Item id -> description from ``list_description_inshop.json`` (first entry per item)."""
    entries = read_json(path)
    if not isinstance(entries, list):
        raise DatasetError(f"{path}: expected a JSON list of {{'item', 'color', 'description'}} objects")
    descriptions: dict[str, _Description] = {}
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not entry.get("item"):
            raise DatasetError(f"{path}: entry {number} has no 'item' id")
        item = str(entry["item"])
        if item in descriptions:
            continue
        lines = entry.get("description") or []
        if isinstance(lines, str):
            lines = [lines]
        text = " ".join(" ".join(str(line).split()) for line in lines if str(line).strip())
        color = str(entry.get("color") or "").strip() or None
        descriptions[item] = _Description(text, color)
    return descriptions


def _find(root: Path, candidates: tuple[str, ...]) -> Path | None:
    return next((root / name for name in candidates if (root / name).is_file()), None)


def _image_base(root: Path) -> Path:
    """The folder the partition's ``img/...`` names are relative to: the root, or ``Img/``."""
    for base in (root, root / "Img"):
        if (base / "img").is_dir():
            return base
    raise DatasetError(f"{root}: no image folder img/ (nor Img/img/); unpack img.zip there")


def _path_level(image: str, level: int) -> str | None:
    parts = image.split("/")
    # img/<gender>/<category>/<item>/<file>: shorter paths have no such level
    if len(parts) < 5:
        return None
    return parts[level].replace("_", " ")
