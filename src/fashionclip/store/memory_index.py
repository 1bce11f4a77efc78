"""Moved to :mod:`fashionclip.store.lance.memory_index` (the in-memory index serves only the LanceDB
store); this import place stays. Patch constants such as ``EXACT_MAX_FLOATS`` there."""

from fashionclip.store.lance.memory_index import EXACT_MAX_FLOATS, MemoryIndex

__all__ = ["EXACT_MAX_FLOATS", "MemoryIndex"]
