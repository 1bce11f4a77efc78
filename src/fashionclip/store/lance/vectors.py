"""The vector seam of the LanceDB store: which index answers a vector query, and its upkeep.

Vector queries go to an in-memory FAISS index of the table (``memory_index.py``) when it fits in
RAM, else to a LanceDB vector index, built once the table is large enough for brute force to be
slow (below that, LanceDB scans exactly).

The store's writes go through :meth:`VectorIndex.writing`: the table commits, then the in-memory
index applies the same change in place (:meth:`VectorIndex.applied`), while queries go on
answering from the last snapshot. Only a change the index cannot follow in place (a new column,
another writer's commit in between) makes the next query load it again, reconciled with the table.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from fashionclip._extras import require
from fashionclip.errors import StoreError
from fashionclip.store.base import Hit
from fashionclip.store.filters import FilterSpec, parse_filter
from fashionclip.store.lance.memory_index import Change, MemoryIndex
from fashionclip.store.lance.table import LanceTable

# below this many rows an exact scan is fast enough (and exact); above it an ANN index is built
ANN_MIN_ROWS = 10_000  # at 40k rows a LanceDB flat scan took 26 ms, an IVF_HNSW_SQ query 12 ms (recall 1.0)
MEMORY_DIR = "memory-index"
# the in-memory index holds every vector (4 bytes a dimension): by default it may take this share of the RAM
MEMORY_SHARE = 0.4


@dataclass(frozen=True)
class Write:
    """A write in progress: the in-memory index it may apply to, and the table version before it."""

    memory: MemoryIndex | None
    before: int | None


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
        self._write_lock = threading.RLock()  # one write (commit + apply) at a time
        self._writing = 0  # writes in progress: queries keep the published snapshot meanwhile
        self.last_change: Change | None = None  # what the last write did to the in-memory index
        self._saving: threading.Thread | None = None

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
        conditions = parse_filter(where, self.table.columns())
        slots, scores, state = memory.search(query, k + offset, conditions, self.memory_candidates)
        hits = []
        for slot, score, row in zip(slots, scores, memory.rows(slots, state), strict=True):
            if with_vectors:
                row["vector"] = memory.vector(int(slot), state)
            hits.append(self.table.hit(row, float(score), with_vectors))
        return sorted(hits, key=lambda h: (-h.score, h.id))[offset:]

    # ------------------------------------------------------------------ writes
    @contextmanager
    def writing(self) -> Iterator[Write]:
        """Around one write to the table: queries keep the published snapshot until
        :meth:`applied` publishes the next (or, where it cannot, the next query reloads)."""
        with self._write_lock:
            memory = self.memory if self._seen == self.table.writes else None
            before = self.table.handle.version if memory is not None and self.table.handle is not None else None
            self._writing += 1
            try:
                yield Write(memory, before)
            finally:
                self._writing -= 1

    def applied(self, write: Write, apply: Callable[[MemoryIndex, int], Change | None]) -> None:
        """Apply the write just committed to the in-memory index, in place, when the index
        reflected the table right before it and the columns are the same."""
        memory = write.memory
        if memory is None or memory is not self.memory or self.table.handle is None:
            return
        version = self.table.handle.version
        if memory.version != write.before or memory.state.rows.schema.names != self.table.fields(False):
            return  # the next query loads the index again, reconciled with the table
        if memory.kinds != self.table.columns():
            return
        change = apply(memory, version)
        if change is not None:  # (a new version of the same rows changes nothing)
            self.last_change = change
        self._seen = self.table.writes

    def add_rows(self, write: Write, data: Any, vectors: np.ndarray) -> None:
        """After ``LanceTable.write``: ``data`` as written (a rewrite leaves out the tags it keeps)."""
        if data is None or write.memory is None:
            return
        rows = data.drop_columns(["vector"]) if "vector" in data.column_names else data
        memory = write.memory
        kept = [n for n in memory.state.rows.schema.names if n not in rows.column_names]
        if kept:  # tag columns a rewrite keeps: the values the index holds (new rows have none)
            values = memory.stored_rows(rows.column("id").to_pylist())
            for name in kept:
                column = [values.get(i, {}).get(name) for i in rows.column("id").to_pylist()]
                rows = rows.append_column(name, self.table.pa.array(column, memory.state.rows.schema.field(name).type))
        self.applied(write, lambda m, version: m.upsert(rows, vectors, version))

    def rows_changed(self, write: Write, ids: list[str]) -> None:
        """After a metadata-only write (tags): the rows of ``ids`` read back, vectors unchanged."""
        if write.memory is None or not ids:
            return

        def apply(m: MemoryIndex, version: int) -> Change:
            return m.upsert(self.table.rows_of(ids, with_vectors=False), None, version)

        self.applied(write, apply)

    # ------------------------------------------------------------------ upkeep
    def optimize(self, rows: int, ann_min_rows: int) -> None:
        """Once the table has ``ann_min_rows`` rows, an index for it: the in-memory one (built and
        saved) where it serves, else LanceDB's own. An in-memory index that drifted from its IVF
        centres (``MemoryIndex.needs_rebuild``) is rebuilt with new ones; one behind its saved
        copy is saved."""
        memory = self.current_memory_index() if rows >= ann_min_rows else self.memory
        if rows >= ann_min_rows and memory is None and not self.index_type():
            self.build()
            return
        if memory is None:
            return
        if memory.needs_rebuild():
            with self._write_lock, self._lock:
                rebuilt = MemoryIndex.build(self._read_rows(True), self.table.columns(), self.table.handle.version)
                self.memory, self._seen = rebuilt, self.table.writes
        if self.memory is not None and self.memory.dirty:
            self.save()

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
        memory = self.memory
        if memory is not None and (self._writing or self._seen == self.table.writes):
            return memory  # during a write: the last published snapshot
        with self._write_lock, self._lock:  # a write half done finishes (and is applied) first
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
        fetch = lambda ids: table.rows_of(ids, with_vectors=True)  # noqa: E731
        self.memory = MemoryIndex.load(self.folder, self._read_rows, fetch, table.columns(), version)
        if self.memory.dirty:
            # saved beside the queries (seconds at a million items); a process that ends waits for it
            self._saving = threading.Thread(target=self.save, name="fashionclip-save-index")
            self._saving.start()
        return self.memory

    def flush(self) -> None:
        """Wait for a save running in the background."""
        if self._saving is not None:
            self._saving.join()

    @property
    def folder(self) -> Any:
        return self.table.path / MEMORY_DIR

    def save(self) -> None:
        """Write the in-memory index beside the table (a read-only folder: it still serves)."""
        if self.memory is None:
            return
        try:
            self.memory.save(self.folder)
        except OSError as exc:  # a read-only index still serves; it is reconciled in every process
            warnings.warn(f"{self.folder}: could not save the in-memory index ({exc})", stacklevel=2)

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
