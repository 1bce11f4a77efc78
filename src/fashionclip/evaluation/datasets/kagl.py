"""KAGL: the Kaggle "Fashion Product Images (Small)" catalogue (Myntra, 44,441 products).

Reads ``styles.csv`` (``id, gender, masterCategory, subCategory, articleType,
baseColour, season, year, usage, productDisplayName``) with images at
``images/<id>.jpg``. Both the properly quoted CSV of the shared data folder and
Kaggle's original, unquoted file are read: each line is parsed on its own, and a
line with more fields than the header had its product name split at commas, so
the surplus fields are joined back into the name.
"""

from __future__ import annotations

import csv
import os
import warnings
from pathlib import Path

from fashionclip.evaluation.dataset import DatasetError, EvalDataset
from fashionclip.evaluation.datasets._common import HOLDOUT_SPLITS, check_limit, check_split_name, holdout_split

COLUMNS = (
    "id",
    "gender",
    "masterCategory",
    "subCategory",
    "articleType",
    "baseColour",
    "season",
    "year",
    "usage",
    "productDisplayName",
)
LABEL_COLUMNS = ("gender", "masterCategory", "subCategory", "articleType", "baseColour", "season", "usage")


def load_kagl(path: Path | str, *, split: str | None = None, limit: int | None = None) -> EvalDataset:
    """The KAGL catalogue at ``path`` (its folder or its ``styles.csv``).

    captions: productDisplayName; labels: gender, masterCategory, subCategory,
    articleType, baseColour, season, usage (None where empty); split: "train" /
    "val" as held out by the bundled model's recipe (see :func:`holdout_split`).
    ``split`` keeps one side, ``limit`` the first items (in file order). Rows whose
    image is missing are skipped with a warning.
    """
    check_limit(limit)
    check_split_name(split, HOLDOUT_SPLITS, "kagl")
    path = Path(path).expanduser()
    if not path.exists():
        raise DatasetError(f"kagl: {str(path)!r} does not exist")
    styles = path if path.is_file() else path / "styles.csv"
    if not styles.is_file():
        raise DatasetError(f"kagl: no styles.csv in {str(path)!r}")
    rows = _read_styles(styles)
    sides = holdout_split([row["id"] for row in rows], "kagl")
    picked = [(row, side) for row, side in zip(rows, sides, strict=True) if split is None or side == split]
    if not picked:
        raise DatasetError(f"kagl: no row of {styles} falls in the {split!r} split")
    picked = _with_images(picked, styles.parent / "images", styles, limit)
    return EvalDataset(
        name="kagl",
        ids=[row["id"] for row, _ in picked],
        images=[str(styles.parent / "images" / f"{row['id']}.jpg") for row, _ in picked],
        captions=[row["productDisplayName"] for row, _ in picked],
        labels={column: [row[column] or None for row, _ in picked] for column in LABEL_COLUMNS},
        split=[side for _, side in picked],
    )


def _read_styles(styles: Path) -> list[dict[str, str]]:
    try:
        with styles.open(encoding="utf-8-sig") as handle:
            lines = [line.rstrip("\n") for line in handle]
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{styles}: cannot read ({exc})") from None
    if not lines:
        raise DatasetError(f"{styles}: empty file, expected a header {','.join(COLUMNS)}")
    header = [name.strip() for name in _split_line(lines[0])]
    if tuple(header) != COLUMNS:
        raise DatasetError(f"{styles}:1: bad header {','.join(header)!r}; expected {','.join(COLUMNS)}")
    rows, seen = [], {}
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        row = _parse_row(line, styles, number)
        if row["id"] in seen:
            raise DatasetError(f"{styles}:{number}: id {row['id']} already on line {seen[row['id']]}")
        seen[row["id"]] = number
        rows.append(row)
    if not rows:
        raise DatasetError(f"{styles}: no rows after the header")
    return rows


def _split_line(line: str) -> list[str]:
    # a quoted line parses as CSV; Kaggle's unquoted lines may hold a stray quote, so they split on commas
    try:
        return next(csv.reader([line], strict=True))
    except csv.Error:
        return line.split(",")


def _parse_row(line: str, styles: Path, number: int) -> dict[str, str]:
    fields = _split_line(line)
    if len(fields) < len(COLUMNS):
        raise DatasetError(f"{styles}:{number}: {len(fields)} fields, expected {len(COLUMNS)} ({','.join(COLUMNS)})")
    if len(fields) > len(COLUMNS):  # an unquoted product name with commas in it
        fields = [*fields[: len(COLUMNS) - 1], ",".join(fields[len(COLUMNS) - 1 :])]
    row = dict(zip(COLUMNS, (field.strip() for field in fields), strict=True))
    if not row["id"].isdigit():
        raise DatasetError(f"{styles}:{number}: id {row['id']!r} is not a number")
    return row


def _with_images(
    picked: list[tuple[dict[str, str], str]], images: Path, styles: Path, limit: int | None
) -> list[tuple[dict[str, str], str]]:
    if not images.is_dir():
        raise DatasetError(f"kagl: no images folder {str(images)!r} beside {styles.name}")
    present = {entry.name for entry in os.scandir(images)}  # one listing instead of a stat per row
    kept, missing = [], []
    for row, side in picked:
        if limit is not None and len(kept) == limit:
            break
        (kept if f"{row['id']}.jpg" in present else missing).append((row, side))
    if missing:
        first = ", ".join(f"{row['id']}.jpg" for row, _ in missing[:5])
        warnings.warn(
            f"kagl: skipped {len(missing)} row(s) of {styles} whose image is missing from {images} (first: {first})",
            stacklevel=3,
        )
    if not kept:
        raise DatasetError(f"kagl: none of the selected rows of {styles} has its image in {images}")
    return kept
