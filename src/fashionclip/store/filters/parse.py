"""The filter vocabulary: a ``where=`` / ``--where`` spec checked against a store's columns into
:class:`Condition` lists, which the dialects (``sql``, ``milvus``, ``memory``) then compile.

Python: ``{"gender": "Men", "articleType": ["Shirts", "Tshirts"], "price": {">=": 10, "<": 100}}``.
CLI strings: ``gender=Men``, ``articleType in Shirts,Tshirts``, ``price<100``, ``colour!=Black``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fashionclip.errors import StoreError, shown

OPS = ("=", "!=", "in", "<", "<=", ">", ">=")
_ORDER_OPS = {"<", "<=", ">", ">="}
_EXPRESSION = re.compile(r"^\s*([A-Za-z_][\w]*)\s*(<=|>=|!=|=|<|>)\s*(.*?)\s*$")
_IN = re.compile(r"^\s*([A-Za-z_][\w]*)\s+in\s+(.+?)\s*$", re.IGNORECASE)
_COLUMN = re.compile(r"^[A-Za-z_][\w]*$")

FilterSpec = Mapping[str, Any] | str | Sequence[str] | None


@dataclass(frozen=True)
class Condition:
    """``column op value``; ``value`` is a tuple for ``in``."""

    column: str
    op: str
    value: Any


def parse_filter(spec: FilterSpec, columns: Mapping[str, str]) -> list[Condition]:
    """Check a filter against the store's ``columns`` (name -> "numeric" | "text") and normalise it.

    Raises :class:`StoreError` naming an unknown column, an unknown operator, or
    a non-numeric bound on a numeric column.
    """
    if spec is None:
        return []
    raw: list[tuple[str, str, Any]] = []
    if isinstance(spec, str):
        raw = [_parse_expression(spec)]
    elif isinstance(spec, Mapping):
        for column, value in spec.items():
            if isinstance(value, Mapping):
                raw.extend((column, str(op), v) for op, v in value.items())
            elif isinstance(value, (list, tuple, set, frozenset)):
                raw.append((column, "in", tuple(value)))
            else:
                raw.append((column, "=", value))
    else:
        raw = [_parse_expression(s) for s in spec]
    return [_check(column, op, value, columns) for column, op, value in raw]


def _parse_expression(text: str) -> tuple[str, str, Any]:
    if not isinstance(text, str):
        raise StoreError(f"filter {text!r}: expected a string such as 'gender=Men' or 'price<100'")
    match = _IN.match(text)
    if match:
        return match[1], "in", tuple(v.strip() for v in match[2].split(",") if v.strip())
    match = _EXPRESSION.match(text)
    if not match:
        raise StoreError(
            f"filter {text!r}: expected 'column=value', 'column!=value', 'column<number' (<, <=, >, >=) "
            "or 'column in a,b,c'"
        )
    return match[1], match[2], match[3]


def _check(column: str, op: str, value: Any, columns: Mapping[str, str]) -> Condition:
    if column not in columns:
        known = ", ".join(sorted(columns)) or "none"
        raise StoreError(f"filter on unknown column {column!r}; filterable columns: {known}")
    if op not in OPS:
        raise StoreError(f"filter on {column!r}: unknown operator {op!r}; use one of {', '.join(OPS)}")
    numeric = columns[column] == "numeric"
    if op in _ORDER_OPS and not numeric:
        raise StoreError(f"filter {column} {op} {value!r}: {column!r} is a text column; use = , != or in")
    if op == "in":
        values = tuple(value) if isinstance(value, (list, tuple, set, frozenset)) else (value,)
        if not values:
            raise StoreError(f"filter {column} in (): give at least one value")
        return Condition(column, op, tuple(_coerce(column, v, numeric) for v in values))
    return Condition(column, op, _coerce(column, value, numeric))


def _coerce(column: str, value: Any, numeric: bool) -> Any:
    if not numeric:
        return str(value)
    if isinstance(value, bool):
        raise StoreError(f"filter on numeric column {column!r}: {value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise StoreError(f"filter on numeric column {column!r}: {shown(value, 60)} is not a number") from None
    if not math.isfinite(number):  # NaN, inf, 1e309: no SQL or Milvus literal, and no useful bound
        raise StoreError(f"filter on numeric column {column!r}: {shown(value, 60)} is not a finite number")
    return number


def check_column_name(name: str) -> str:
    """A metadata column name the stores can hold and filter on, or StoreError."""
    if not _COLUMN.match(name):
        raise StoreError(f"metadata column {name!r}: use letters, digits and _ (starting with a letter or _)")
    return name
