"""``LanceStore``: the LanceDB store behind the store protocols, made of its three seams: the table
(``table.py``), the vector index (``vectors.py``) and the full-text index (``text.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fashionclip.errors import StoreError
from fashionclip.store.base import (
    Facet,
    Hit,
    IndexInfo,
    Records,
    check_claim,
    check_paging,
    check_query,
    check_records,
    summarise_column,
)
from fashionclip.store.filters import FilterSpec
from fashionclip.store.lance.table import LanceTable
from fashionclip.store.lance.text import TextIndex
from fashionclip.store.lance.vectors import ANN_MIN_ROWS, VectorIndex


def _tunable(name: str, doc: str) -> Any:
    """A search option of the store, held by its vector index (setting it applies to the next query)."""
    return property(
        lambda self: getattr(self.vectors, name), lambda self, value: setattr(self.vectors, name, value), doc=doc
    )


class LanceStore:
    """Items in the LanceDB table ``items`` under ``path``.

    Vector queries go to a :class:`~fashionclip.store.lance.memory_index.MemoryIndex` (FAISS
    IVF-Flat over every vector, saved beside the table) when ``memory_index`` is True, or by default
    when FAISS is installed and the vectors fit in ``MEMORY_SHARE`` of the RAM; ``memory_candidates``
    is how many vectors (that pass the filter) a query compares: IVF lists nearest the query are
    probed until that many. Otherwise LanceDB's own index serves them: ``nprobes`` (IVF partitions
    searched), ``ef`` (HNSW candidate list) and ``refine_factor`` (re-ranking with full vectors, for
    the quantised PQ and SQ indices) tune it (see ``benchmarks/vector_store.py`` for the recall they
    give). Filters, keyword search and storage are LanceDB's either way. Every write is one LanceDB
    commit (atomic: a killed run leaves whole batches or nothing), then applied to the in-memory
    index in place (a price change touches no vector; queries meanwhile answer from the last
    snapshot). A store sees the writes made through it; open a new one to see another process's
    writes (it reconciles the saved index with the table, reading only what changed).
    """

    nprobes = _tunable("nprobes", "IVF partitions a LanceDB vector index query searches")
    ef = _tunable("ef", "the HNSW candidate list of a LanceDB vector index query (None: LanceDB's default)")
    refine_factor = _tunable("refine_factor", "re-ranking with full vectors for PQ and SQ indices (None: off)")
    memory_index = _tunable("memory_index", "True/False: the in-memory index always/never; None: when it fits")
    memory_candidates = _tunable("memory_candidates", "vectors passing the filter an in-memory query compares")

    def __init__(
        self,
        path: str | Path,
        *,
        nprobes: int = 20,
        ef: int | None = None,
        refine_factor: int | None = 10,
        memory_index: bool | None = None,
        memory_candidates: int = 8192,
        keywords: str = "auto",
    ) -> None:
        self.path = Path(path).expanduser()
        self.table = LanceTable(self.path)
        self.vectors = VectorIndex(
            self.table,
            nprobes=nprobes,
            ef=ef,
            refine_factor=refine_factor,
            memory_index=memory_index,
            memory_candidates=memory_candidates,
        )
        self.text = TextIndex(self.table, keywords, before_build=self._settle)
        self._pending: IndexInfo | None = None

    def __repr__(self) -> str:
        return f"LanceStore({str(self.path)!r}, {self.count()} items, {self.info()})"

    # ------------------------------------------------------------------ protocol
    @property
    def location(self) -> str:
        return str(self.path.resolve())

    def info(self) -> IndexInfo | None:
        return self.table.info() if self.table.handle is not None else self._pending

    def claim(self, info: IndexInfo) -> None:
        check_claim(self.info(), info, f"the index at {str(self.path)!r}")
        self._pending = info

    def columns(self) -> dict[str, str]:
        return self.table.columns()

    def add(self, records: Records, *, new: bool = False) -> None:
        info = check_records(self.info(), records)
        if len(records):
            with self.vectors.writing() as write:
                data = self.table.write(records, info, new=new)
                self.vectors.add_rows(write, data, records.vectors)
            self._tidy()

    def delete(self, ids: Sequence[str]) -> int:
        with self.vectors.writing() as write:
            deleted = self.table.delete(ids)
            self.vectors.applied(write, lambda memory, version: memory.delete(ids, version))
        self._tidy()
        return deleted

    def set_text_metadata(self, ids: Sequence[str], columns: dict[str, list[str]], *, overwrite: bool = False) -> int:
        with self.vectors.writing() as write:
            written = self.table.set_text(ids, columns, overwrite=overwrite)
            self.vectors.rows_changed(write, list(ids))
        self._tidy()
        return written

    def _tidy(self) -> None:
        """After a write: the small fragments it left compacted when due, the indices refreshed
        in the background when due (``upkeep.py``). Queries answer from the snapshot meanwhile."""
        if self.table.handle is None:
            return
        if self.table.upkeep.compaction_due:
            with self.vectors.writing() as write:
                if self.table.compact():
                    self.vectors.applied(write, lambda memory, version: memory.moved_to(version))
        self.table.upkeep.refresh_if_due()

    def _settle(self) -> None:
        """Before building an index: a background refresh finished, and its version read (the
        same rows); building on an older version would conflict with it."""
        if self.table.handle is not None and self.table.upkeep.settle():
            with self.vectors.writing() as write:
                self.table.handle.checkout_latest()
                self.table.writes += 1
                self.vectors.applied(write, lambda memory, version: memory.moved_to(version))

    def count(self, where: FilterSpec = None) -> int:
        return self.table.count(where)

    def hashes(self, ids: Sequence[str] | None = None) -> dict[str, str]:
        if self.table.handle is None or (ids is not None and not ids):
            return {}
        data = (
            self.table.scan(["id", "content_hash"])
            if ids is None
            else self.table.rows_of(list(ids), with_vectors=False)
        )
        return dict(zip(data["id"].to_pylist(), data["content_hash"].to_pylist(), strict=True))

    def get(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[Hit]:
        return self.table.get(ids, with_vectors=with_vectors)

    def search(
        self, vector: np.ndarray, k: int, *, where: FilterSpec = None, offset: int = 0, with_vectors: bool = False
    ) -> list[Hit]:
        info = self.info()
        query = check_query(vector, info.dim if info else None, k, offset)
        if self.table.handle is None:
            return []
        return self.vectors.search(query, k, where, offset, with_vectors)

    def keyword_search(self, query: str, k: int, *, where: FilterSpec = None, offset: int = 0) -> list[Hit]:
        check_paging(k, offset, StoreError)
        if self.table.handle is None or not query.strip():
            return []
        return self.text.search(query, k, where, offset)

    def optimize(self, *, ann_min_rows: int = ANN_MIN_ROWS) -> None:
        """Bring indices up to date after writes: the text index always; once the table has
        ``ann_min_rows`` rows, scalar indices on the metadata and the vector index (the saved
        in-memory index, or LanceDB's own); compacts small files left by many batches."""
        handle = self.table.handle
        if handle is None:
            return
        self._settle()
        with self.vectors.writing() as write:  # new table versions, the same rows
            self.text.ensure(recheck=True)
            rows = handle.count_rows()
            if rows >= ann_min_rows:
                indexed = {c for i in handle.list_indices() for c in i.columns}
                for name in self.columns():
                    if name not in indexed:
                        self.index_column(name)
                if "id" not in indexed:  # writes merge and delete by id (a merge of 10 rows: 27 -> 8 ms at 300k)
                    from lancedb import index

                    handle.create_index("id", config=index.BTree(), replace=True)
                    self.table.changed()
            handle.optimize()
            self.table.writes += 1  # compaction makes a new table version
            self.vectors.applied(write, lambda memory, version: memory.moved_to(version))
        # last: every commit above makes a new table version, and the memory index is built for one
        self.vectors.optimize(rows, ann_min_rows)

    # ------------------------------------------------------------------ browsing
    def facets(self, max_values: int = 50) -> dict[str, Facet]:
        kinds = self.columns()
        if not kinds:
            return {}
        table = self.table.scan(list(kinds))  # the metadata columns only, never the vectors
        return {
            name: summarise_column(name, kind, table.column(name).to_pylist(), max_values)
            for name, kind in kinds.items()
        }

    def image_folders(self) -> set[str]:
        if self.table.handle is None:
            return set()
        import pyarrow.compute as pc

        images = self.table.scan(["image"]).column("image")
        local = pc.filter(images, pc.invert(pc.fill_null(pc.match_substring(images, "://"), True)))
        return {f for f in pc.unique(pc.replace_substring_regex(local, r"/[^/]*$", "")).to_pylist() if f is not None}

    # ------------------------------------------------------------------ maintenance
    def index_column(self, name: str, kind: str = "BTREE") -> None:
        """A scalar index on a metadata column, so filters on it prune rows before the vector search
        (``BTREE``; ``BITMAP`` suits columns with few distinct values)."""
        from lancedb import index

        if name not in self.columns():
            raise StoreError(f"no metadata column {name!r}; columns: {', '.join(self.columns())}")
        configs = {"BTREE": index.BTree, "BITMAP": index.Bitmap}
        if kind not in configs:
            raise StoreError(f"unknown scalar index {kind!r}; use BTREE or BITMAP")
        self._settle()
        self.table.handle.create_index(name, config=configs[kind](), replace=True)
        self.table.changed()

    def build_vector_index(self, *, num_partitions: int | None = None, index_type: str = "IVF_HNSW_SQ") -> None:
        """Build the ANN index: ``IVF_PQ`` (partitions of about 4,000 vectors, 8 dimensions per
        PQ code; queries re-rank ``refine_factor * k`` candidates with the full vectors),
        ``IVF_HNSW_SQ`` or ``IVF_FLAT``."""
        self._settle()
        self.vectors.build(num_partitions=num_partitions, index_type=index_type)
