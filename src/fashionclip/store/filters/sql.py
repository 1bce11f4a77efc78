"""The SQL dialect (LanceDB / DataFusion): conditions as a ``WHERE`` clause, ids as an ``IN`` list.

Only column names checked against the store's schema and quoted literals reach the SQL text: a
filter value is never code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fashionclip.store.filters.parse import Condition


def to_sql(conditions: Sequence[Condition]) -> str | None:
    """The conditions as one SQL ``WHERE`` clause (LanceDB / DataFusion syntax), or None."""
    if not conditions:
        return None
    return " AND ".join(_sql(c) for c in conditions)


def ids_in(ids: Sequence[str]) -> str:
    """``id IN (...)`` for these ids, each a quoted string literal."""
    return f"id IN ({', '.join(sql_literal(i) for i in ids)})"


def sql_literal(value: Any) -> str:
    """A float as itself (finite: the parser refuses others), anything else as a quoted string."""
    if isinstance(value, float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _sql(c: Condition) -> str:
    name = f"`{c.column}`"  # column names are checked against the schema, quoting guards keywords
    if c.op == "in":
        return f"{name} IN ({', '.join(sql_literal(v) for v in c.value)})"
    op = "<>" if c.op == "!=" else c.op
    return f"{name} {op} {sql_literal(c.value)}"
