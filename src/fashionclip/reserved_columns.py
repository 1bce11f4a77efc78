"""The column names an index keeps for itself: no catalogue column and no tag column may take them.

One list for the catalogue reader (which refuses such a metadata column) and every store (which
keeps these apart from the metadata). It sits at the bottom layer so that ``catalog`` and
``store``, side by side on one layer, both read it without importing each other.
"""

from __future__ import annotations

# what every store holds for each item
STORE_COLUMNS = ("id", "vector", "image", "text", "content_hash", "vector_source")
# what the engines add of their own: LanceDB's result scores and row ids, Milvus's BM25 field
ENGINE_COLUMNS = ("_distance", "_score", "_rowid", "_text_bm25")
RESERVED_COLUMNS = STORE_COLUMNS + ENGINE_COLUMNS
