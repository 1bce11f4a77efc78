"""The in-memory dialect: conditions as a boolean mask over numpy columns (the exact store, and the
numeric columns of LanceDB's in-memory index)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from fashionclip.store.filters.parse import Condition

_ORDER = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


def to_mask(conditions: Sequence[Condition], table: Mapping[str, np.ndarray], size: int) -> np.ndarray:
    """The rows of ``table`` (column -> array) that satisfy every condition, as a boolean mask.

    Missing values (NaN numbers, None texts) satisfy no comparison, as NULL does in SQL.
    """
    mask = np.ones(size, dtype=bool)
    for c in conditions:
        column = table[c.column]
        if c.op == "in":
            if column.dtype == object:  # None among the texts: no sorting, a set lookup
                wanted = set(c.value)
                mask &= np.fromiter((v in wanted for v in column), dtype=bool, count=len(column))
            else:
                mask &= np.isin(column, np.asarray(c.value, dtype=column.dtype))
        elif c.op == "=":
            mask &= column == c.value
        elif c.op == "!=":
            keep = column != c.value
            if column.dtype.kind == "f":
                keep &= ~np.isnan(column)
            elif column.dtype == object:
                keep &= np.fromiter((v is not None for v in column), dtype=bool, count=len(column))
            mask &= keep
        else:
            with np.errstate(invalid="ignore"):
                mask &= _ORDER[c.op](column, c.value)
    return mask
