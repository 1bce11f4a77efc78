"""Any labelled catalogue file (CSV / JSONL / Parquet, or an image folder with .txt captions)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from fashionclip.catalog import ColumnMap, read_catalog
from fashionclip.evaluation.dataset import DatasetError, EvalDataset

# metadata columns that mark rows, not classes
_NOT_LABELS = {"split", "product", "product_id", "tags"}


def load_catalog(
    path: Path,
    *,
    id_column: str | None = None,
    image_column: str | None = None,
    text_columns: Sequence[str] | None = None,
    label_columns: Sequence[str] | None = None,
    tags_column: str | None = "tags",
    product_column: str | None = None,
    split: str | None = None,
    limit: int | None = None,
) -> EvalDataset:
    """A catalogue read as ``fashionclip index`` reads it: id, image and caption columns found
    by their usual names (or given); every other text column is a label column (or only
    ``label_columns``). A ``tags`` column (space- or comma-separated) gives multi-label tags, a
    ``split`` column the split, ``product_column`` groups photos of one product. Unreadable rows
    are reported and left out."""
    if limit is not None and limit < 1:
        raise DatasetError(f"limit must be a positive integer, got {limit}")
    data = read_catalog(
        Path(path), ColumnMap(id_column=id_column, image_column=image_column, text_columns=text_columns)
    )
    for problem in data.problems[:5]:
        print(f"{path}: skipped {problem}", file=sys.stderr)
    items = [item for item in data.items if item.image]
    if not items:
        raise DatasetError(f"catalogue {str(path)!r}: no row has an image")
    if split is not None:
        sides = sorted({str(item.metadata.get("split")) for item in items if item.metadata.get("split") is not None})
        if split not in sides:
            raise DatasetError(f"catalogue {str(path)!r}: no split {split!r} (present: {', '.join(sides) or 'none'})")
        items = [item for item in items if str(item.metadata.get("split")) == split]
    items = items[:limit] if limit else items
    columns = list(label_columns) if label_columns is not None else _label_columns(items, data.numeric_columns)
    missing = [c for c in columns if not any(c in item.metadata for item in items)]
    if missing:
        raise DatasetError(f"catalogue {str(path)!r}: no label column {', '.join(map(repr, missing))}")
    if product_column and not any(product_column in item.metadata for item in items):
        raise DatasetError(f"catalogue {str(path)!r}: no product column {product_column!r}")
    has_tags = tags_column is not None and any(item.metadata.get(tags_column) for item in items)
    return EvalDataset(
        name=Path(path).stem,
        ids=[item.id for item in items],
        images=[item.image for item in items],
        captions=[item.text for item in items] if any(item.text for item in items) else None,
        labels={c: [_text(item.metadata.get(c)) for item in items] for c in columns},
        tags=[_tags(item.metadata.get(tags_column)) for item in items] if has_tags else None,
        products=[str(item.metadata.get(product_column)) for item in items] if product_column else None,
        split=[str(item.metadata.get("split")) for item in items] if "split" in items[0].metadata else None,
    )


def _label_columns(items, numeric: Sequence[str]) -> list[str]:
    names = {name for item in items[:1000] for name in item.metadata}
    return sorted(name for name in names if name not in numeric and name not in _NOT_LABELS)


def _text(value) -> str | None:
    return None if value is None or value == "" else str(value)


def _tags(value) -> list[str]:
    if not value:
        return []
    separator = "," if "," in str(value) else None
    return [tag.strip() for tag in str(value).split(separator) if tag.strip()]
