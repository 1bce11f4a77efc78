"""Helpers shared by the evaluation dataset loaders: option checks, split selection, and the
bundled model's held-out split."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fashionclip.evaluation.dataset import DatasetError, EvalDataset

RECIPE = "fashion-clip-mini"
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
    """(split-key prefix, validation fraction) of the data source reading ``<data_root>/<folder>/``
    in the bundled model's training recipe.

    For ``fashion-clip-mini``: kagl is source 0 with the run's val_fraction 0.1 (prefix "0"),
    ccp is source 1 with its own val_fraction 0.3 (prefix "1").
    """
    from fashionclip.training.config import TrainConfigError, load_recipe

    try:
        config = load_recipe(RECIPE, data_root="/data_root")
    except TrainConfigError as exc:
        raise DatasetError(f"cannot read the split rule from recipe {RECIPE!r}: {exc}") from None
    for index, source in enumerate(config.data):
        if Path(source.path).parent.name == folder:
            fraction = config.val_fraction if source.val_fraction is None else source.val_fraction
            return source.split_group or str(index), float(fraction)
    raise DatasetError(f"recipe {RECIPE!r} has no data source under {folder}/, so it defines no split for it")


def holdout_split(ids: Sequence[str], folder: str) -> list[str]:
    """ "train" / "val" per id, exactly as the recipe's training run split them: the trainer's
    :func:`~fashionclip.training.data.split_by_id` on the key ``"<source index>:<id>"``."""
    from fashionclip.training.data import Example, split_by_id

    prefix, fraction = recipe_rule(folder)
    examples = [Example(item_id, "", (), split_key=f"{prefix}:{item_id}") for item_id in ids]
    _, val = split_by_id(examples, fraction)
    sides = ["train"] * len(ids)
    for index in val:
        sides[index] = "val"
    return sides
