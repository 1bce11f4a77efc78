"""Fashion200k (Han et al., ICCV 2017: "Automatic Spatially-aware Fashion Concept Discovery").

Expected layout under ``path`` (the unpacked dataset: ``labels`` plus ``women.tar.gz``)::

    labels/dress_train_detect_all.txt, labels/dress_test_detect_all.txt, ...
    women/dresses/casual_and_day_dresses/51727804/51727804_0.jpeg ...

Every ``labels/<category>_<train|test>_detect_all.txt`` file is read (the release
has dress, jacket, pants, skirt and top); each line is
``<image path><TAB><detection score><TAB><product description>``, the image path
relative to ``path``.

Each line is one item: ``ids`` the image path, ``captions`` the description,
``split`` ``train`` or ``test`` from the file name, ``labels`` ``category`` and
``subcategory`` from the path's second and third folders (``dresses``,
``casual and day dresses``: underscores read as spaces) and ``products`` the
product folder (``51727804``: the photos of one product).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fashionclip.evaluation.dataset import DatasetError, EvalDataset
from fashionclip.evaluation.datasets._common import check_limit, select_items

NAME = "fashion200k"
LABEL_FILE = re.compile(r"^(?P<category>.+)_(?P<split>train|test)_detect_all\.txt$")


@dataclass(frozen=True)
class _Row:
    image: str
    description: str
    split: str
    where: str  # file:line, for errors found after reading


def load_fashion200k(path: Path, *, split: str | None = None, limit: int | None = None) -> EvalDataset:
    """Fashion200k's product photos with their descriptions, path categories and train/test split.

    ``split`` keeps ``train`` or ``test``; ``limit`` keeps the first N items (label
    files in name order). Raises :class:`DatasetError` for a missing folder or
    label file and for a malformed line, naming the file and line.
    """
    check_limit(limit)
    root = Path(path).expanduser().absolute()
    if not root.is_dir():
        raise DatasetError(f"Fashion200k folder {str(root)!r} does not exist")
    labels_dir = root / "labels"
    if not labels_dir.is_dir():
        raise DatasetError(f"{root}: no labels/ folder (the Fashion200k label files)")
    files = sorted(p for p in labels_dir.iterdir() if p.is_file() and LABEL_FILE.match(p.name))
    if not files:
        raise DatasetError(f"{labels_dir}: no label files named <category>_<train|test>_detect_all.txt")
    rows = _read_rows(files)
    if not rows:
        raise DatasetError(f"{labels_dir}: the label files list no images")
    _check_image_folders(root, rows)
    dataset = EvalDataset(
        name=NAME,
        ids=[row.image for row in rows],
        images=[str(root / row.image) for row in rows],
        captions=[row.description for row in rows],
        labels={
            "category": [_level(row.image, 1) for row in rows],
            "subcategory": [_level(row.image, 2) for row in rows],
        },
        products=[_product(row.image) for row in rows],
        split=[row.split for row in rows],
    )
    return select_items(dataset, split, limit, str(labels_dir))


def _read_rows(files: list[Path]) -> list[_Row]:
    rows: list[_Row] = []
    seen: dict[str, str] = {}
    for file in files:
        file_split = LABEL_FILE.match(file.name)["split"]  # type: ignore[index]
        for row in _read_label_file(file, file_split):
            if row.image in seen:
                raise DatasetError(f"{row.where}: image {row.image!r} already listed at {seen[row.image]}")
            seen[row.image] = row.where
            rows.append(row)
    return rows


def _read_label_file(path: Path, split: str) -> list[_Row]:
    """The rows of one ``*_detect_all.txt`` file; raises DatasetError naming the bad line."""
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != 3:
                raise DatasetError(
                    f"{path}:{number}: expected 'image path<TAB>detection score<TAB>description', "
                    f"found {len(fields)} tab-separated fields"
                )
            image, score, description = (field.strip() for field in fields)
            if not image:
                raise DatasetError(f"{path}:{number}: empty image path")
            try:
                float(score)
            except ValueError:
                raise DatasetError(f"{path}:{number}: detection score {score!r} is not a number") from None
            rows.append(_Row(image, " ".join(description.split()), split, f"{path}:{number}"))
    return rows


def _check_image_folders(root: Path, rows: list[_Row]) -> None:
    """Each top folder the paths name (``women/``) must exist; the images themselves are not opened."""
    checked: set[str] = set()
    for row in rows:
        top = row.image.split("/", 1)[0]
        if top in checked:
            continue
        if not (root / top).is_dir():
            raise DatasetError(f"{row.where}: image folder {str(root / top)!r} does not exist; unpack women.tar.gz")
        checked.add(top)


def _level(image: str, level: int) -> str | None:
    parts = image.split("/")
    # women/<category>/<subcategory>/<product>/<file>: shorter paths lack the level
    if len(parts) < 5:
        return None
    return parts[level].replace("_", " ")


def _product(image: str) -> str:
    parts = image.split("/")
    # a path without the product folder is a product of its own
    return parts[3] if len(parts) >= 5 else image
