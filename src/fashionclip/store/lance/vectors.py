"""The vector seam of the LanceDB store: which index answers a vector query, and its upkeep.

Vector queries go to an in-memory FAISS index of the table (``memory_index.py``) when it fits in
RAM, else to a LanceDB vector index, built once the table is large enough for brute force to be
slow (below that, LanceDB scans exactly).
"""

from __future__ import annotations

import os
import threading
import warnings
from typing import Any

import numpy as np

from fashionclip._extras import require
from fashionclip.errors import StoreError
from fashionclip.store.base import Hit
from fashionclip.store.filters import FilterSpec, parse_filter
from fashionclip.store.lance.memory_index import MemoryIndex
from fashionclip.store.lance.table import LanceTable

# below this many rows an exact scan is fast enough (and exact); above it an ANN index is built
ANN_MIN_ROWS = 10_000  # at 40k rows a LanceDB flat scan took 26 ms, an IVF_HNSW_SQ query 12 ms (recall 1.0)
MEMORY_DIR = "memory-index"
# the in-memory index holds every vector (4 bytes a dimension): by default it may take this share of the RAM
MEMORY_SHARE = 0.4


class VectorIndex:
    """Vector search over a :class:`LanceTable`, tuned by the options of ``LanceStore``
    (``nprobes``, ``ef``, ``refine_factor``, ``memory_index``, ``memory_candidates``)."""

    def __init__(
        self,
        table: LanceTable,
        *,
        nprobes: int,
        ef: int | None,
        refine_factor: int | None,
        memory_index: bool | None,
        memory_candidates: int,
    ) -> None:
        self.table = table
        self.nprobes = nprobes
        self.ef = ef
        self.refine_factor = refine_factor
        self.memory_index = memory_index
        self.memory_candidates = memory_candidates
        self.memory: MemoryIndex | None = None
        self._seen = -1  # the table's write count when the memory index was last checked against it
        self._lock = threading.Lock()  # one build, however many threads query at once

    def search(self, query: np.ndarray, k: int, where: FilterSpec, offset: int, with_vectors: bool) -> list[Hit]:
        """The ``k`` best hits after ``offset`` for a checked query vector."""
        memory = self.current_memory_index()
        if memory is not None:
            return self._memory_search(memory, query, k, where, offset, with_vectors)
        table = self.table
        search = table.handle.search(query, vector_column_name="vector").distance_type("dot")
        kind = self.index_type()
        if kind:
            search = search.nprobes(self.nprobes)
            refine = self.refine_factor if ("PQ" in kind or "SQ" in kind) else None  # quantised: re-rank exactly
            if refine:
                search = search.refine_factor(refine)
            if self.ef and "HNSW" in kind:
                search = search.ef(max(self.ef, (k + offset) * (refine or 1)))  # LanceDB needs ef >= candidates
        sql = table.where(where)
        if sql:
            search = search.where(sql, prefilter=True)
        fields = [*table.fields(with_vectors), "_distance"]
        rows = search.select(fields).limit(k).offset(offset).to_arrow().to_pylist()
        # LanceDB's "dot" distance is 1 - <q, v>
        hits = [table.hit(row, 1.0 - float(row["_distance"]), with_vectors) for row in rows]
        return sorted(hits, key=lambda h: (-h.score, h.id))

    def _memory_search(
        self, memory: MemoryIndex, query: np.ndarray, k: int, where: FilterSpec, offset: int, with_vectors: bool
    ) -> list[Hit]:
        pa = self.table.pa
        conditions = parse_filter(where, self.table.columns())
        positions, scores = memory.search(query, k + offset, conditions, self.memory_candidates)
        rows = memory.rows.take(pa.array(positions, pa.int64())).to_pylist()
        hits = []
        for position, score, row in zip(positions, scores, rows, strict=True):
            if with_vectors:
                row["vector"] = memory.vector(int(position))
            hits.append(self.table.hit(row, float(score), with_vectors))
        return sorted(hits, key=lambda h: (-h.score, h.id))[offset:]

    # ------------------------------------------------------------------ upkeep
    def optimize(self, rows: int, ann_min_rows: int) -> None:
        """Once the table has ``ann_min_rows`` rows, an index for it: the in-memory one (built and
        saved) where it serves, else LanceDB's own."""
        if rows >= ann_min_rows and self.current_memory_index() is None and not self.index_type():
            self.build()

    def build(self, *, num_partitions: int | None = None, index_type: str = "IVF_HNSW_SQ") -> None:
        """Build LanceDB's ANN index (see ``LanceStore.build_vector_index``)."""
        from lancedb import index

        table = self.table
        rows = table.handle.count_rows()
        dim = table.info().dim  # type: ignore[union-attr]
        partitions = num_partitions or max(1, rows // 4000)
        configs = {
            "IVF_PQ": lambda: index.IvfPq(
                distance_type="dot", num_partitions=partitions, num_sub_vectors=max(1, dim // 8)
            ),
            "IVF_HNSW_SQ": lambda: index.IvfHnswSq(distance_type="dot", num_partitions=partitions),
            "IVF_FLAT": lambda: index.IvfFlat(distance_type="dot", num_partitions=partitions),
        }
        if index_type not in configs:
            raise StoreError(f"unknown vector index type {index_type!r}; use one of {', '.join(configs)}")
        table.handle.create_index("vector", config=configs[index_type](), replace=True)
        table.changed()

    def index_type(self) -> str:
        """LanceDB's vector index's type ("IVF_HNSW_SQ", "IVF_PQ", ...), or "" when there is none."""
        cache = self.table.cache
        if "ann" not in cache:
            found = [i for i in self.table.handle.list_indices() if i.columns == ["vector"]]
            cache["ann"] = str(found[0].index_type).upper() if found else ""
        return str(cache["ann"])

    # ------------------------------------------------------------------ the in-memory index
    def current_memory_index(self) -> MemoryIndex | None:
        """The in-memory index of the table's current version (loaded or built on first use), or None."""
        if self.memory is not None and self._seen == self.table.writes:
            return self.memory
        with self._lock:
            return self._load_memory_index()

    def _load_memory_index(self) -> MemoryIndex | None:
        table = self.table
        self._seen = table.writes
        version = table.handle.version  # a LanceDB call (~0.4 ms): only after this store wrote
        if self.memory is not None and self.memory.version == version:
            return self.memory
        if table.cache.get("memory_off") == version:
            return None
        if not self._use_memory(table.handle.count_rows()):
            table.cache["memory_off"] = version
            return None
        folder = table.path / MEMORY_DIR
        self.memory = MemoryIndex.load(folder, self._read_rows, table.columns(), version)
        if self.memory.built:
            try:
                self.memory.save(folder)
            except OSError as exc:  # a read-only index still serves; it rebuilds in every process
                warnings.warn(f"{folder}: could not save the in-memory index ({exc})", stacklevel=2)
        return self.memory

    def _use_memory(self, rows: int) -> bool:
        if self.memory_index is False:
            return False
        if self.memory_index:
            require("faiss", "search", feature="the in-memory vector index")
            return True
        try:
            import faiss  # noqa: F401
        except ImportError:
            return False
        dim = self.table.info().dim  # type: ignore[union-attr]
        return rows * dim * 4 <= MEMORY_SHARE * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")

    def _read_rows(self, with_vectors: bool) -> Any:
        return self.table.scan(self.table.fields(with_vectors))
