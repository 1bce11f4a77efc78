"""The embedded, persistent store: a LanceDB table in a directory, split along its seams.

- ``table``: the table, its schema (model, metadata and tag columns), rows in and out;
- ``vectors``: vector queries, answered by the in-memory index (``memory_index``) when it fits
  in RAM, else by LanceDB's own ANN index (built once brute force would be slow);
- ``text``: keyword search, LanceDB's BM25 full-text index;
- ``store``: ``LanceStore``, the protocols' face of the three.
"""

from fashionclip.store.lance.store import LanceStore
from fashionclip.store.lance.table import TABLE
from fashionclip.store.lance.vectors import ANN_MIN_ROWS, MEMORY_DIR, MEMORY_SHARE

__all__ = ["ANN_MIN_ROWS", "MEMORY_DIR", "MEMORY_SHARE", "TABLE", "LanceStore"]
