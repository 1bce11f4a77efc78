"""Loaders for fashion evaluation datasets, by layout name.

``load_dataset("kagl:../shared/data/kagl")`` or ``load_dataset("shop.csv")`` (a
catalogue file). Each loader takes the dataset's root folder (or file) and
returns an :class:`~fashionclip.evaluation.dataset.EvalDataset`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from fashionclip.evaluation.dataset import DatasetError, EvalDataset

# layout name -> (module, function); imported on use, so optional dependencies stay optional
LOADERS: dict[str, tuple[str, str]] = {
    "kagl": ("fashionclip.evaluation.datasets.kagl", "load_kagl"),
    "fmnist": ("fashionclip.evaluation.datasets.fmnist", "load_fmnist"),
    "ccp": ("fashionclip.evaluation.datasets.ccp", "load_ccp"),
    "fashiongen": ("fashionclip.evaluation.datasets.fashiongen", "load_fashiongen"),
    "catalog": ("fashionclip.evaluation.datasets.catalog", "load_catalog"),
    "deepfashion-inshop": ("fashionclip.evaluation.datasets.deepfashion", "load_deepfashion_inshop"),
    "fashion200k": ("fashionclip.evaluation.datasets.fashion200k", "load_fashion200k"),
    "polyvore": ("fashionclip.evaluation.datasets.polyvore", "load_polyvore"),
    "atlas": ("fashionclip.evaluation.datasets.atlas", "load_atlas"),
    "imaterialist": ("fashionclip.evaluation.datasets.imaterialist", "load_imaterialist"),
}


def load_dataset(spec: str, **options: Any) -> EvalDataset:
    """A dataset from ``LAYOUT:PATH`` (see :data:`LOADERS`) or a bare catalogue file path
    (.csv / .jsonl / .parquet: the ``catalog`` layout)."""
    layout, sep, path = spec.partition(":")
    if not sep or layout not in LOADERS:
        if sep and len(layout) > 1 and layout not in LOADERS and not Path(spec).exists():
            raise DatasetError(f"dataset {spec!r}: unknown layout {layout!r}; use one of {', '.join(LOADERS)}")
        layout, path = "catalog", spec
    if not path:
        raise DatasetError(f"dataset {spec!r}: give a path after {layout}:")
    module, function = LOADERS[layout]
    return getattr(importlib.import_module(module), function)(Path(path).expanduser(), **options)


__all__ = ["LOADERS", "DatasetError", "EvalDataset", "load_dataset"]
