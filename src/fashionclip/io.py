"""Reading input lists (image folders, CSV columns, text files) and writing embeddings."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fashionclip._extras import require

if TYPE_CHECKING:  # numpy only where embeddings are written: the search client imports this module
    import numpy as np


def is_remote(text: str) -> bool:
    """Whether a path string is a URL to download (http, https, s3, ...), not a local file."""
    return "://" in text[:16] and not text.startswith("file://")


def cache_dir(kind: str) -> Path:
    """``$FASHIONCLIP_CACHE/<kind>``, else ``~/.cache/fashionclip/<kind>``: where embeddings and
    ONNX exports are kept."""
    return Path(os.environ.get("FASHIONCLIP_CACHE") or Path.home() / ".cache" / "fashionclip") / kind


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


def list_image_files(folder: str | Path) -> list[Path]:
    """Image files under ``folder`` (recursively), in a stable sorted order."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {str(root)!r} does not exist")
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def read_csv_column(path: str | Path, column: str) -> list[str]:
    """One column of a CSV file, as strings, in file order."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or column not in reader.fieldnames:
            raise ValueError(f"{path}: no column {column!r} (columns: {', '.join(reader.fieldnames or [])})")
        return [row[column] or "" for row in reader]


def write_embeddings(path: str | Path, ids: Sequence[str], vectors: np.ndarray) -> Path:
    """Save embeddings as ``.npy`` (plus ``<name>.ids.txt``, one id per row) or ``.parquet``."""
    path = Path(path)
    if len(ids) != len(vectors):
        raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
    if any("\n" in i for i in ids):
        raise ValueError("ids must not contain newlines")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".npy":
        import numpy as np

        np.save(path, vectors.astype(np.float32, copy=False))
        path.with_suffix(".ids.txt").write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    elif path.suffix == ".parquet":
        pa = require("pyarrow", "parquet", feature="writing Parquet needs pyarrow, which")
        import pyarrow.parquet as pq

        dim = vectors.shape[1] if vectors.ndim == 2 else 0
        column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), dim)
        pq.write_table(pa.table({"id": pa.array(list(ids), pa.string()), "embedding": column}), path)
    else:
        raise ValueError(f"output {str(path)!r} must end in .npy or .parquet")
    return path
