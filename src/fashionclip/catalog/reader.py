"""Read a product catalogue (CSV, JSONL, Parquet or an image folder) into validated items.

Columns are mapped by name. Row-level problems (an empty or duplicate id, a
non-numeric value in a numeric column, a row with neither image nor text) are
collected as :class:`Problem` entries and the row is skipped, so one bad row
never stops a million-row run; ``strict=True`` raises on the first instead.
"""

from __future__ import annotations

import csv
import json
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fashionclip._extras import require
from fashionclip.errors import CatalogError, TemplateError
from fashionclip.io import is_remote, list_image_files
from fashionclip.reserved_columns import RESERVED_COLUMNS
from fashionclip.templating import check_named_template

Value = str | int | float | None

ID_COLUMNS = ("id", "product_id", "sku", "item_id")
IMAGE_COLUMNS = ("image", "image_path", "image_url", "path", "url", "file", "filepath")
TEXT_COLUMNS = ("title", "caption", "text", "name", "productDisplayName", "description")
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class CatalogItem:
    """One product: its id, image reference (path or URL, or None), text and metadata."""

    id: str
    image: str | None
    text: str
    metadata: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """A row that was skipped, or an image that could not be embedded, and why."""

    item: str
    reason: str
    id: str | None = None  # the item's id when the row had one

    def __str__(self) -> str:
        return f"{self.item}: {self.reason}"


@dataclass
class CatalogData:
    """The readable items of a catalogue file, the skipped rows, the column types, and warnings
    about the file as a whole (a missing image column, a column kept as text by a few values)."""

    items: list[CatalogItem]
    problems: list[Problem]
    numeric_columns: list[str]
    source: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, init=False)
class ColumnMap:
    """Which columns hold the id, the image and the text; ``None`` picks a usual name.

    Named as the CLI (``--id-column``, ``--image-column``, ``--text-column``) and training data
    sources (``id_column``, ``image_column``) name them. ``image_template`` builds the image
    path from the row (``"images/{id}.jpg"``); ``numeric`` columns must hold numbers (others are
    numeric when every value is); ``metadata`` limits the metadata columns kept (default: every
    other column).
    """

    id_column: str | None
    image_column: str | None
    text_columns: Sequence[str] | str | None
    image_template: str | None
    numeric: Sequence[str]
    metadata: Sequence[str] | None

    def __init__(
        self,
        id_column: str | None = None,
        image_column: str | None = None,
        text_columns: Sequence[str] | str | None = None,
        image_template: str | None = None,
        numeric: Sequence[str] = (),
        metadata: Sequence[str] | None = None,
        **old: Any,
    ) -> None:
        renamed = {"id": "id_column", "image": "image_column", "text": "text_columns"}
        unknown = sorted(set(old) - set(renamed))
        if unknown:
            raise TypeError(f"ColumnMap() got unexpected keyword argument(s) {unknown}")
        values = {"id_column": id_column, "image_column": image_column, "text_columns": text_columns}
        for name, value in old.items():
            warnings.warn(
                f"ColumnMap({name}=...) is deprecated; use {renamed[name]}=", DeprecationWarning, stacklevel=2
            )
            if values[renamed[name]] is not None:
                raise TypeError(f"ColumnMap() got both {name}= and {renamed[name]}=")
            values[renamed[name]] = value
        for name, value in {
            **values,
            "image_template": image_template,
            "numeric": numeric,
            "metadata": metadata,
        }.items():
            object.__setattr__(self, name, value)


def read_catalog(
    path: str | Path,
    columns: ColumnMap = ColumnMap(),
    *,
    root: str | Path | None = None,
    strict: bool = False,
    known_numeric: Sequence[str] = (),
) -> CatalogData:
    """Read ``path`` (a .csv/.jsonl/.parquet file or an image folder) into a :class:`CatalogData`.

    Relative image paths are resolved against ``root`` (default: the file's folder).
    ``known_numeric`` columns (an existing index's) must hold numbers where present.
    Raises :class:`CatalogError` for a problem with the whole file (missing,
    unknown format, a named column that does not exist).
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise CatalogError(f"catalogue {str(path)!r} does not exist")
    if path.is_dir():
        return _read_folder(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise CatalogError(
            f"catalogue {str(path)!r}: unknown file type {path.suffix!r}; use .csv, .jsonl, .parquet or a folder"
        )
    rows = read_rows(path, fmt)
    base = Path(root).expanduser() if root else path.parent
    present = {k for row in rows[:1000] for k in row}
    numeric = [*columns.numeric, *(c for c in known_numeric if c in present and c not in columns.numeric)]
    columns = replace(columns, numeric=numeric)
    return _rows_to_catalog(rows, columns, base, str(path), typed=fmt != "csv", strict=strict)


def read_rows(path: Path, fmt: str) -> list[dict[str, Any]]:
    """The rows of a CSV, JSONL or Parquet file as dictionaries; raises CatalogError naming the bad line."""
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return list(csv.DictReader(handle))
    if fmt == "jsonl":
        rows = []
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CatalogError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
                if not isinstance(row, dict):
                    raise CatalogError(f"{path}:{number}: expected a JSON object per line")
                rows.append(row)
        return rows
    pq = require("pyarrow.parquet", "parquet", feature="reading Parquet catalogues")
    return pq.read_table(path).to_pylist()


def _pick(wanted: str | None, options: Sequence[str], present: Sequence[str], what: str, where: str) -> str | None:
    if wanted:
        if wanted not in present:
            raise CatalogError(f"{where}: no {what} column {wanted!r}; columns are {', '.join(present)}")
        return wanted
    return next((c for c in options if c in present), None)


def _rows_to_catalog(
    rows: list[dict[str, Any]], columns: ColumnMap, root: Path, where: str, *, typed: bool, strict: bool
) -> CatalogData:
    present = list(dict.fromkeys(k for row in rows[:1000] for k in row))
    id_col = _pick(columns.id_column, ID_COLUMNS, present, "id", where)
    if id_col is None:
        raise CatalogError(f"{where}: no id column (looked for {', '.join(ID_COLUMNS)}); columns are {present}")
    image_col = None if columns.image_template else _pick(columns.image_column, IMAGE_COLUMNS, present, "image", where)
    if columns.image_template:
        try:
            template_columns = check_named_template(columns.image_template)
        except TemplateError as exc:
            raise CatalogError(f"{where}: image {exc}") from None
        missing = [name for name in template_columns if name not in present]
        if missing:
            raise CatalogError(
                f"{where}: image template {columns.image_template!r} names no column {missing[0]!r}; "
                f"columns are {present}"
            )
    texts = [columns.text_columns] if isinstance(columns.text_columns, str) else list(columns.text_columns or [])
    for name in texts:
        _pick(name, (), present, "text", where)
    if not texts:
        texts = [c for c in TEXT_COLUMNS if c in present][:1]
    if image_col is None and not columns.image_template and not texts:
        raise CatalogError(f"{where}: no image column ({', '.join(IMAGE_COLUMNS)}) and no text column")
    warnings: list[str] = []

    def warn(message: str) -> None:  # strict: a warning is an error
        if strict:
            raise CatalogError(f"{where}: {message}")
        warnings.append(message)

    if image_col is None and not columns.image_template:
        looks = [c for c in present if c not in (id_col, *texts) and _holds_images(rows, c)]
        hint = f"; column {looks[0]!r} holds image paths or URLs: --image-column {looks[0]}" if looks else ""
        warn(f"no image column (looked for {', '.join(IMAGE_COLUMNS)}): indexing texts only{hint}")
    taken = {id_col, image_col, *texts}
    meta_cols = list(columns.metadata) if columns.metadata is not None else [c for c in present if c not in taken]
    for name in [*meta_cols, *columns.numeric]:
        _pick(name, (), present, "metadata", where)
    for name in meta_cols:
        if name in RESERVED_COLUMNS:
            raise CatalogError(f"{where}: metadata column {name!r} clashes with a name the index uses; rename it")
    numeric = _numeric_columns(rows, meta_cols, columns.numeric, typed)
    for name, bad, total in _mostly_numbers(rows, [c for c in meta_cols if c not in numeric], typed):
        warn(
            f"column {name!r} is kept as text: {len(bad)} of {total} values are not numbers "
            f"({', '.join(repr(v) for v in bad[:3])}); --numeric {name} reads it as numbers and skips those rows"
        )

    items: list[CatalogItem] = []
    problems: list[Problem] = []
    seen: set[str] = set()

    def skip(number: int, item_id: str, reason: str) -> None:
        label = f"{where} row {number}" + (f" (id {item_id!r})" if item_id else "")
        if strict:
            raise CatalogError(f"{label}: {reason}")
        problems.append(Problem(label, reason, item_id or None))

    for number, row in enumerate(rows, 1):
        item_id = cell_text(row.get(id_col))
        if not item_id:
            skip(number, "", f"empty id (column {id_col!r})")
            continue
        if None in row:  # csv.DictReader files surplus fields under None
            skip(number, item_id, "more fields than the header has columns (an unquoted comma?)")
            continue
        if item_id in seen:
            skip(number, item_id, "duplicate id; the first row with this id is kept")
            continue
        metadata: dict[str, Value] = {}
        bad = None
        for name in meta_cols:
            value = row.get(name)
            if name in numeric:
                number_value = to_number(value)
                if number_value is NOT_A_NUMBER:
                    bad = f"column {name!r} holds {value!r}, not a number"
                    break
                metadata[name] = number_value  # type: ignore[assignment]
            else:
                metadata[name] = cell_text(value)
        if bad:
            skip(number, item_id, bad)
            continue
        if columns.image_template:  # checked above: plain column names only
            cells = {name: cell_text(row.get(name)) for name in template_columns}
            empty = [name for name, cell in cells.items() if not cell]
            if empty:
                skip(number, item_id, f"column {empty[0]!r}, which the image template names, is empty")
                continue
            image = columns.image_template.format_map(cells)
        else:
            image = cell_text(row.get(image_col))
        text = " ".join(t for t in (cell_text(row.get(c)) for c in texts) if t)
        if not image and not text:
            skip(number, item_id, "no image and no text")
            continue
        if image and not is_remote(image) and not Path(image).expanduser().is_absolute():
            image = str(root / image)
        seen.add(item_id)
        items.append(CatalogItem(item_id, image or None, text, metadata))
    return CatalogData(items, problems, sorted(numeric), where, warnings)


NOT_A_NUMBER = object()  # what to_number returns for text that is not a number


def to_number(value: Any) -> Any:
    """An int or float from a cell (None when empty), or NOT_A_NUMBER."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return NOT_A_NUMBER
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return None
        return value if _finite(value) else NOT_A_NUMBER
    text = str(value).strip()
    if not _NUMBER.match(text):
        return NOT_A_NUMBER
    number = int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
    # 1e309 reads as infinity: no filter bound, JSON answer or facet range can hold it
    return number if _finite(number) else NOT_A_NUMBER


def _finite(number: int | float) -> bool:
    try:
        return math.isfinite(number)
    except OverflowError:  # an int past float's range
        return False


def _numeric_columns(
    rows: list[dict[str, Any]], names: Sequence[str], declared: Sequence[str], typed: bool
) -> set[str]:
    """Declared numeric columns, plus those whose every value is a number (typed files: most values;
    a string among numbers there is then reported per row)."""
    numeric = set(declared)
    for name in names:
        if name in numeric:
            continue
        values = [row.get(name) for row in rows]
        filled = [v for v in values if v is not None and not (isinstance(v, str) and not v.strip())]
        if not filled:
            continue
        if typed:
            numbers = sum(isinstance(v, (int, float)) and not isinstance(v, bool) for v in filled)
            if numbers * 2 > len(filled):
                numeric.add(name)
        elif all(to_number(v) is not NOT_A_NUMBER and not _leading_zero(str(v)) for v in filled):
            numeric.add(name)
    return numeric


_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")


def _holds_images(rows: list[dict[str, Any]], name: str) -> bool:
    """Whether most filled cells of a column look like image files or image URLs."""
    cells = [cell_text(row.get(name)) for row in rows[:200]]
    filled = [c for c in cells if c]
    looks = sum(c.lower().split("?")[0].endswith(_IMAGE_SUFFIXES) for c in filled)
    return bool(filled) and looks * 2 > len(filled)


def _mostly_numbers(rows: list[dict[str, Any]], names: Sequence[str], typed: bool) -> list[tuple[str, list[Any], int]]:
    """Text columns that a few values keep from being numeric (at least 90% numbers): each with
    those values and the count of filled cells."""
    found = []
    for name in names:
        filled = [v for v in (row.get(name) for row in rows) if cell_text(v)]
        if typed:
            bad = [v for v in filled if not (isinstance(v, (int, float)) and not isinstance(v, bool))]
        else:
            if any(_leading_zero(str(v)) for v in filled):
                continue  # codes such as "00123" are text on purpose
            bad = [v for v in filled if to_number(v) is NOT_A_NUMBER]
        if filled and bad and len(bad) * 10 <= len(filled):
            found.append((name, bad, len(filled)))
    return found


def _leading_zero(text: str) -> bool:
    # "00123" is a code, not a number: keep it as text
    text = text.strip().lstrip("+-")
    return len(text) > 1 and text[0] == "0" and text[1].isdigit()


def cell_text(value: Any) -> str:
    """A cell as stripped text; empty for None and the NaN that pandas writes for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _read_folder(folder: Path) -> CatalogData:
    """An image folder: id = path relative to the folder without suffix; text from a .txt beside the image."""
    items = []
    for image in list_image_files(folder):
        caption = image.with_suffix(".txt")
        text = caption.read_text(encoding="utf-8").strip() if caption.is_file() else ""
        item_id = image.relative_to(folder).with_suffix("").as_posix()
        items.append(CatalogItem(item_id, str(image), text, {}))
    if not items:
        raise CatalogError(f"catalogue folder {str(folder)!r} holds no images")
    return CatalogData(items, [], [], str(folder))
