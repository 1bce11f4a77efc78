"""Vector stores behind one core protocol (``VectorStore``) plus the search page's browsing
(``Browsable``): the exact in-memory oracle, LanceDB on disk, Milvus; ``open_store`` turns a
``--db`` string into one."""

from fashionclip.store.base import Browsable, Hit, IndexInfo, Records, VectorStore
from fashionclip.store.exact import ExactStore
from fashionclip.store.filters import Condition, parse_filter
from fashionclip.store.lance import LanceStore
from fashionclip.store.uri import exists, open_store

__all__ = [
    "Browsable",
    "Condition",
    "ExactStore",
    "Hit",
    "IndexInfo",
    "LanceStore",
    "Records",
    "VectorStore",
    "exists",
    "open_store",
    "parse_filter",
]
