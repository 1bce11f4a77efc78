"""Vector stores behind one protocol: the exact in-memory oracle and the LanceDB index on disk."""

from fashionclip.store.base import Hit, IndexInfo, Records, VectorStore
from fashionclip.store.exact import ExactStore
from fashionclip.store.filters import Condition, parse_filter
from fashionclip.store.lance import LanceStore

__all__ = ["Condition", "ExactStore", "Hit", "IndexInfo", "LanceStore", "Records", "VectorStore", "parse_filter"]
