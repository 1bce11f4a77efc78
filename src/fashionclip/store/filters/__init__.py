"""Metadata filters: one vocabulary, parsed once (``parse``), then compiled to the dialect of the
store that runs it: SQL for LanceDB (``sql``), a Milvus expression (``milvus``), a numpy mask for
the exact store and the in-memory index (``memory``).

Python: ``{"gender": "Men", "articleType": ["Shirts", "Tshirts"], "price": {">=": 10, "<": 100}}``.
CLI strings: ``gender=Men``, ``articleType in Shirts,Tshirts``, ``price<100``, ``colour!=Black``.
"""

from fashionclip.store.filters.memory import to_mask
from fashionclip.store.filters.milvus import to_milvus
from fashionclip.store.filters.parse import OPS, Condition, FilterSpec, check_column_name, parse_filter
from fashionclip.store.filters.sql import ids_in, sql_literal, to_sql

__all__ = [
    "OPS",
    "Condition",
    "FilterSpec",
    "check_column_name",
    "ids_in",
    "parse_filter",
    "sql_literal",
    "to_mask",
    "to_milvus",
    "to_sql",
]
