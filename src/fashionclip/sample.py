"""The small sample catalogue shipped inside the package (for the demo, docs and tests)."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path


def sample_catalog() -> tuple[Path, list[dict[str, str]]]:
    """The bundled 120-product catalogue: its folder and its rows (``image`` is relative to the folder)."""
    root = Path(str(resources.files("fashionclip").joinpath("data/sample_catalog")))
    with (root / "catalog.csv").open(newline="", encoding="utf-8") as handle:
        return root, list(csv.DictReader(handle))
