"""The metadata columns of the in-memory index, per slot, as filters read them: numbers as
float64 (a missing value is NaN), texts as integer codes. A write makes new arrays beside the
old ones (copy on write), so a published snapshot never changes under a reader."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from fashionclip.store.filters import Condition


class Codes:
    """A text column as integer codes (Arrow's dictionary encoding), so filters compare
    integers, not a million strings. New values extend the dictionary (append-only)."""

    def __init__(self, codes: np.ndarray, code: dict[str, int]) -> None:
        self.codes = codes
        self._code = code

    @classmethod
    def of(cls, column: Any) -> Codes:
        encoded = column.combine_chunks().dictionary_encode()
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
        return cls(codes, {label: i for i, label in enumerate(encoded.dictionary.to_pylist())})

    def code(self, value: Any) -> int:
        return self._code.get(str(value), -1)  # a value no row has matches nothing

    def encode(self, values: Iterable[Any]) -> tuple[np.ndarray, dict[str, int]]:
        """Codes of new values, and the dictionary that holds them (a copy when it grew)."""
        table, out = self._code, []
        for value in values:
            if value is None:
                out.append(-1)
                continue
            text = str(value)
            if text not in table:
                if table is self._code:
                    table = dict(table)
                table[text] = len(table)
            out.append(table[text])
        return np.asarray(out, dtype=np.int32), table

    def mask(self, condition: Condition) -> np.ndarray:
        """The slots meeting ``condition`` (=, != or in): a lookup table indexed by code."""
        wanted = condition.value if condition.op == "in" else (condition.value,)
        table = np.zeros(len(self._code) + 1, dtype=bool)  # the last entry: code -1, a missing value
        table[[c for c in (self.code(v) for v in wanted) if c >= 0]] = True
        hit = table[self.codes]
        return ~hit if condition.op == "!=" else hit


def filter_columns(rows: Any, kinds: dict[str, str]) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for name, kind in kinds.items():
        values = rows.column(name)
        if kind == "numeric":
            columns[name] = values.to_numpy().astype(np.float64)  # nulls become NaN
        else:
            columns[name] = Codes.of(values)
    return columns


def by_slot(filters: dict[str, Any], rows_of_slots: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, column in filters.items():
        if isinstance(column, Codes):
            out[name] = Codes(column.codes[rows_of_slots] if len(column.codes) else column.codes, column._code)
        else:
            out[name] = column[rows_of_slots] if len(column) else column
    return out


def updated_filters(
    filters: dict[str, Any], chunk: Any, kinds: dict[str, str], slots: np.ndarray, moved: np.ndarray, fresh: np.ndarray
) -> dict[str, Any]:
    """Filter columns after a write: ``moved`` rows of ``chunk`` replace the values at ``slots``,
    ``fresh`` rows are appended as new slots (old arrays untouched: copies)."""
    out: dict[str, Any] = {}
    for name, kind in kinds.items():
        values = chunk.column(name)
        old = filters[name]
        if kind == "numeric":
            new = values.to_numpy(zero_copy_only=False).astype(np.float64)
            column = old.copy() if len(moved) else old
            if len(moved):
                column[slots] = new[moved]
            out[name] = np.concatenate([column, new[fresh]])
        else:
            codes, table = old.encode(values.to_pylist())
            column = old.codes.copy() if len(moved) else old.codes
            if len(moved):
                column[slots] = codes[moved]
            out[name] = Codes(np.concatenate([column, codes[fresh]]), table)
    return out
