"""Helpers shared by the evaluation dataset loaders: option checks, split selection, and the
bundled model's held-out split."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fashionclip.catalog.splits import split_keys
from fashionclip.evaluation.dataset import DatasetError, EvalDataset
from fashionclip.registry import BUNDLED_MODEL, get_spec, package_path

HOLDOUT_SPLITS = ("train", "val")


def check_limit(limit: int | None) -> None:
    """Raise DatasetError unless ``limit`` is None or a positive integer."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0):
        raise DatasetError(f"limit must be a positive integer or None, got {limit!r}")


def check_split_name(split: str | None, present: Sequence[str], dataset: str) -> None:
    """Raise DatasetError unless ``split`` is None or one of the ``present`` split names."""
    if split is not None and split not in present:
        names = ", ".join(repr(name) for name in present) or "none"
        raise DatasetError(f"{dataset}: unknown split {split!r}; splits present: {names}")


def read_json(path: Path) -> Any:
    """A JSON file's content; DatasetError naming the file and line when it is not valid JSON."""
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def select_items(dataset: EvalDataset, split: str | None, limit: int | None, where: str) -> EvalDataset:
    """The items of one ``split`` (all when None), then the first ``limit`` of them."""
    check_limit(limit)
    indices = list(range(len(dataset)))
    if split is not None:
        splits = dataset.split or []
        check_split_name(split, sorted(set(splits)), where)
        indices = [i for i in indices if splits[i] == split]
    if limit is not None:
        indices = indices[:limit]
    return dataset if len(indices) == len(dataset) else dataset.subset(indices)


@functools.lru_cache(maxsize=8)
def recipe_rule(folder: str) -> tuple[str, float]:
    """(split-key prefix, validation fraction) of the data source that read ``<folder>/`` when
    the bundled model was trained, from the training config it ships with.

    For ``fashion-clip-mini``: kagl is source 0 with the run's val_fraction 0.1 (prefix "0"),
    ccp is source 1 with its own val_fraction 0.3 (prefix "1").
    """
    spec = get_spec(BUNDLED_MODEL)
    folder_path = package_path(spec.source) if spec is not None else None
    where = f"the training config of {BUNDLED_MODEL!r}"
    if folder_path is None:
        raise DatasetError(f"{BUNDLED_MODEL!r} is not bundled in this package, so {where} cannot be read")
    try:
        config = read_json(folder_path / "training_config.json")
        sources = config["data"]
        default = float(config.get("val_fraction", 0.0))
        found = [
            (str(source.get("split_group") or index), source.get("val_fraction"))
            for index, source in enumerate(sources)
            if Path(str(source["path"])).parent.name == folder
        ]
    except (OSError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise DatasetError(f"cannot read the split rule from {where}: {exc}") from None
    if not found:
        raise DatasetError(f"{where} has no data source under {folder}/, so it defines no split for it")
    prefix, fraction = found[0]
    return prefix, default if fraction is None else float(fraction)


def holdout_split(ids: Sequence[str], folder: str) -> list[str]:
    """ "train" / "val" per id, exactly as the bundled model's training run split them: the
    :func:`~fashionclip.catalog.splits.split_keys` rule on the key ``"<source index>:<id>"``."""
    prefix, fraction = recipe_rule(folder)
    _, val = split_keys([f"{prefix}:{item_id}" for item_id in ids], fraction)
    sides = ["train"] * len(ids)
    for index in val:
        sides[index] = "val"
    return sides
