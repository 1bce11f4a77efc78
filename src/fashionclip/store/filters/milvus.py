"""The Milvus dialect: conditions as one Milvus boolean expression.

Column names are checked against the collection's columns before they get here, and every value
is a number or a quoted, escaped string: a filter value is never code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fashionclip.store.filters.parse import Condition


def to_milvus(conditions: Sequence[Condition]) -> str:
    """The conditions as one Milvus boolean expression ("" for none)."""
    return " and ".join(_milvus(c) for c in conditions)


def _milvus(c: Condition) -> str:
    if c.op == "in":
        return f"{c.column} in [{', '.join(_literal(v) for v in c.value)}]"
    op = "==" if c.op == "=" else c.op
    return f"{c.column} {op} {_literal(c.value)}"


# the escapes Milvus's expression parser reads in a string (Milvus Lite has no \x or \u escapes, nor
# expression templates); any other character stands for itself inside the quotes
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _literal(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)  # finite: parse_filter refuses NaN and infinities
    return '"' + str(value).translate(_ESCAPES) + '"'
