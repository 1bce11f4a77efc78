"""The embedded, persistent store: a LanceDB table in a directory.

Every write is one LanceDB commit (atomic: a killed run leaves whole batches
or nothing), filters run inside the query as SQL (``prefilter``), keyword
search is LanceDB's BM25 full-text index. Vector queries go to an in-memory
FAISS index of the table (``memory_index.py``) when it fits in RAM, else to a
LanceDB vector index built once the table is large enough for brute force to
be slow. A store sees the writes made through it; open a new one to see
another process's writes.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fashionclip._extras import require
from fashionclip.errors import StoreError
from fashionclip.store.base import (
    RESERVED_COLUMNS,
    Facet,
    Hit,
    IndexInfo,
    Records,
    check_claim,
    check_paging,
    check_query,
    check_records,
    check_text_columns,
    summarise_column,
)
from fashionclip.store.filters import FilterSpec, parse_filter, to_sql
from fashionclip.store.memory_index import MemoryIndex

TABLE = "items"
_MODEL_KEY = b"fashionclip.model"
_DIM_KEY = b"fashionclip.dim"
_CHECKPOINT_KEY = b"fashionclip.checkpoint"
_TAG_KEY = "fashionclip.tag"  # field metadata of a column that holds tags, not catalogue values
_BASE = RESERVED_COLUMNS
# below this many rows an exact scan is fast enough (and exact); above it an ANN index is built
ANN_MIN_ROWS = 10_000  # at 40k rows a LanceDB flat scan took 26 ms, an IVF_HNSW_SQ query 12 ms (recall 1.0)
MEMORY_DIR = "memory-index"
# the in-memory index holds every vector (4 bytes a dimension): by default it may take this share of the RAM
MEMORY_SHARE = 0.4


class LanceStore:
    """Items in the LanceDB table ``items`` under ``path``.

    Vector queries go to a :class:`MemoryIndex` (FAISS IVF-Flat over every vector, saved beside
    the table) when ``memory_index`` is True, or by default when FAISS is installed and the
    vectors fit in ``MEMORY_SHARE`` of the RAM; ``memory_candidates`` is how many vectors (that pass
    the filter) a query compares: IVF lists nearest the query are probed until that many.
    Otherwise LanceDB's own index serves them: ``nprobes`` (IVF partitions searched), ``ef``
    (HNSW candidate list) and ``refine_factor`` (re-ranking with full vectors, for the quantised PQ
    and SQ indices) tune it (see ``benchmarks/vector_store.py`` for the recall they give).
    Filters, keyword search and storage are LanceDB's either way.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        nprobes: int = 20,
        ef: int | None = None,
        refine_factor: int | None = 10,
        memory_index: bool | None = None,
        memory_candidates: int = 8192,
    ) -> None:
        self.lancedb = require("lancedb", "search", feature="the LanceDB index")
        self.pa = require("pyarrow", "search")
        self.path = Path(path).expanduser()
        self.nprobes = nprobes
        self.refine_factor = refine_factor
        self.ef = ef
        self.memory_index = memory_index
        self.memory_candidates = memory_candidates
        self._memory: MemoryIndex | None = None
        self._stale = True  # the table may have moved past the memory index's version
        self._memory_lock = threading.Lock()  # one build, however many threads query at once
        # connecting makes the folder: a new index's folder appears with its first rows, so a run
        # that fails before writing leaves nothing behind
        self._db = self.lancedb.connect(str(self.path)) if self.path.exists() else None
        self._pending: IndexInfo | None = None
        self._cache: dict[str, Any] = {}  # schema-derived facts, read once per write: queries stay cheap
        self._table: Any = self._db.open_table(TABLE) if TABLE in self._table_names() else None

    def __repr__(self) -> str:
        return f"LanceStore({str(self.path)!r}, {self.count()} items, {self.info()})"

    def _table_names(self) -> list[str]:
        if self._db is None:
            return []
        listing = self._db.list_tables()
        return list(getattr(listing, "tables", listing))

    # ------------------------------------------------------------------ protocol
    def info(self) -> IndexInfo | None:
        if self._table is None:
            return self._pending
        meta = self._schema().metadata or {}
        if _MODEL_KEY not in meta:
            raise StoreError(f"{self.path}: the table {TABLE!r} was not written by fashionclip (no model recorded)")
        return IndexInfo(meta[_MODEL_KEY].decode(), int(meta[_DIM_KEY]), meta.get(_CHECKPOINT_KEY, b"").decode())

    def claim(self, info: IndexInfo) -> None:
        check_claim(self.info(), info, f"the index at {str(self.path)!r}")
        self._pending = info

    def columns(self) -> dict[str, str]:
        if self._table is None:
            return {}
        if "columns" not in self._cache:
            self._cache["columns"] = self._columns()
        return dict(self._cache["columns"])

    def _tag_columns(self) -> set[str]:
        """Columns that set_text_metadata made: marked in their field metadata, or (indexes written
        before the mark) the non-nullable text columns that only tags were."""
        return {
            f.name
            for f in self._table.schema
            if f.name not in _BASE and ((f.metadata or {}).get(_TAG_KEY.encode()) or not f.nullable)
        }

    def _columns(self) -> dict[str, str]:
        pa = self.pa
        kinds = {}
        for f in self._table.schema:
            if f.name in _BASE:
                continue
            kinds[f.name] = "numeric" if pa.types.is_integer(f.type) or pa.types.is_floating(f.type) else "text"
        return kinds

    def add(self, records: Records, *, new: bool = False) -> None:
        info = check_records(self.info(), records)
        if not len(records):
            return
        data = self._arrow(records, info)
        if self._table is None:
            if self._db is None:
                self._db = self.lancedb.connect(str(self.path))
            self._table = self._db.create_table(TABLE, data=data)
            self._changed()
            return
        extra = [name for name in data.column_names if name not in self._table.schema.names]
        if extra:  # a catalogue column new to this index: added in place, empty for the rows stored
            floating = self.pa.types.is_floating
            self._table.add_columns(
                {n: f"CAST(NULL AS {'DOUBLE' if floating(data.schema.field(n).type) else 'STRING'})" for n in extra}
            )
            self._changed()
        legacy = [f.name for f in self._table.schema if not f.nullable and f.name not in _BASE]
        if legacy:  # tag columns of an index written before tags were nullable and marked
            self._table.alter_columns(*({"path": name, "nullable": True} for name in legacy))
            self._table.update_field_metadata(*({"path": name, "metadata": {_TAG_KEY: "true"}} for name in legacy))
            self._changed()
        # a rewritten row keeps its tags (a price change must not untag it); a catalogue column
        # the rows lack is empty, as the catalogue says; an appended row has no tags yet
        kept = set() if new else self._tag_columns()
        schema = self.pa.schema([f for f in self._table.schema if f.name not in kept or f.name in data.column_names])
        for f in schema:
            if f.name not in data.column_names:
                data = data.append_column(f, self.pa.nulls(len(records), f.type))
        try:
            data = data.select(schema.names).cast(schema)
        except (self.pa.ArrowInvalid, self.pa.ArrowTypeError, self.pa.ArrowNotImplementedError) as exc:
            raise StoreError(f"{self.path}: the new rows do not fit the index's column types: {exc}") from None
        self._stale = True
        if new:  # the caller knows none of these ids is stored: a plain append, much cheaper than a merge
            self._table.add(data)
            return
        self._table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(data)

    def delete(self, ids: Sequence[str]) -> int:
        if self._table is None or not ids:
            return 0
        before = self._table.count_rows()
        self._stale = True
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            self._table.delete(f"id IN ({', '.join(_quote(i) for i in chunk)})")
        return before - self._table.count_rows()

    def set_text_metadata(self, ids: Sequence[str], columns: dict[str, list[str]], *, overwrite: bool = False) -> int:
        if self._table is None or not ids:
            return 0
        check_text_columns(ids, columns, self.columns(), self._tag_columns(), overwrite)
        new = [name for name in columns if name not in self.columns()]
        if new:
            # nullable: rows added or rewritten later by indexing have no tags until classified again
            self._table.add_columns({name: "CAST(NULL AS STRING)" for name in new})
            self._table.update_field_metadata(*({"path": name, "metadata": {_TAG_KEY: "true"}} for name in new))
            self._changed()
        data = self.pa.table(
            {"id": self.pa.array(list(ids), self.pa.string())}
            | {name: self.pa.array(values, self.pa.string()) for name, values in columns.items()}
        )
        merged = self._table.merge_insert("id").when_matched_update_all().execute(data)
        self._changed()
        return int(merged.num_updated_rows)  # unknown ids match nothing and are not inserted

    def count(self, where: FilterSpec = None) -> int:
        if self._table is None:
            return 0
        return int(self._table.count_rows(self._where(where)))

    def hashes(self) -> dict[str, str]:
        if self._table is None:
            return {}
        data = self._scan(["id", "content_hash"])
        return dict(zip(data["id"].to_pylist(), data["content_hash"].to_pylist(), strict=True))

    def get(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[Hit]:
        if self._table is None or not ids:
            return []
        found: dict[str, Hit] = {}
        for start in range(0, len(ids), 1000):
            chunk = list(ids[start : start + 1000])
            rows = (
                self._table.search()
                .where(f"id IN ({', '.join(_quote(i) for i in chunk)})")
                .select(self._fields(with_vectors))
                .limit(len(chunk))
                .to_arrow()
            )
            for row in rows.to_pylist():
                found[row["id"]] = self._hit(row, 1.0, with_vectors)
        return [found[i] for i in ids if i in found]

    def search(
        self, vector: np.ndarray, k: int, *, where: FilterSpec = None, offset: int = 0, with_vectors: bool = False
    ) -> list[Hit]:
        info = self.info()
        query_vector = check_query(vector, info.dim if info else None, k, offset)
        if self._table is None:
            return []
        memory = self._memory_index()
        if memory is not None:
            return self._memory_search(memory, query_vector, k, where, offset, with_vectors)
        query = self._table.search(query_vector, vector_column_name="vector").distance_type("dot")
        kind = self._vector_index_type()
        if kind:
            query = query.nprobes(self.nprobes)
            refine = self.refine_factor if ("PQ" in kind or "SQ" in kind) else None  # quantised: re-rank exactly
            if refine:
                query = query.refine_factor(refine)
            if self.ef and "HNSW" in kind:
                query = query.ef(max(self.ef, (k + offset) * (refine or 1)))  # LanceDB needs ef >= candidates
        sql = self._where(where)
        if sql:
            query = query.where(sql, prefilter=True)
        fields = [*self._fields(with_vectors), "_distance"]
        rows = query.select(fields).limit(k).offset(offset).to_arrow().to_pylist()
        # LanceDB's "dot" distance is 1 - <q, v>
        hits = [self._hit(row, 1.0 - float(row["_distance"]), with_vectors) for row in rows]
        return sorted(hits, key=lambda h: (-h.score, h.id))

    def _memory_search(
        self, memory: MemoryIndex, query: np.ndarray, k: int, where: FilterSpec, offset: int, with_vectors: bool
    ) -> list[Hit]:
        conditions = parse_filter(where, self.columns())
        positions, scores = memory.search(query, k + offset, conditions, self.memory_candidates)
        rows = memory.rows.take(self.pa.array(positions, self.pa.int64())).to_pylist()
        hits = []
        for position, score, row in zip(positions, scores, rows, strict=True):
            if with_vectors:
                row["vector"] = memory.vector(int(position))
            hits.append(self._hit(row, float(score), with_vectors))
        return sorted(hits, key=lambda h: (-h.score, h.id))[offset:]

    def keyword_search(self, query: str, k: int, *, where: FilterSpec = None, offset: int = 0) -> list[Hit]:
        check_paging(k, offset, StoreError)
        if self._table is None or not query.strip():
            return []
        self._ensure_text_index()
        search = self._table.search(query, query_type="fts", fts_columns="text")
        sql = self._where(where)
        if sql:
            search = search.where(sql, prefilter=True)
        rows = search.select([*self._fields(False), "_score"]).limit(k + offset).to_arrow().to_pylist()
        hits = sorted((self._hit(row, float(row["_score"]), False) for row in rows), key=lambda h: (-h.score, h.id))
        return hits[offset:]

    # ------------------------------------------------------------------ maintenance
    def facets(self, max_values: int = 50) -> dict[str, Facet]:
        kinds = self.columns()
        if not kinds:
            return {}
        table = self._scan(list(kinds))  # the metadata columns only, never the vectors
        return {
            name: summarise_column(name, kind, table.column(name).to_pylist(), max_values)
            for name, kind in kinds.items()
        }

    def image_folders(self) -> set[str]:
        if self._table is None:
            return set()
        import pyarrow.compute as pc

        images = self._scan(["image"]).column("image")
        local = pc.filter(images, pc.invert(pc.fill_null(pc.match_substring(images, "://"), True)))
        return {f for f in pc.unique(pc.replace_substring_regex(local, r"/[^/]*$", "")).to_pylist() if f is not None}

    def optimize(self, *, ann_min_rows: int = ANN_MIN_ROWS) -> None:
        """Bring indices up to date after writes: the text index always; once the table has
        ``ann_min_rows`` rows, scalar indices on the metadata and the vector index (the saved
        in-memory index, or LanceDB's own); compacts small files left by many batches."""
        if self._table is None:
            return
        self._ensure_text_index()
        rows = self._table.count_rows()
        if rows >= ann_min_rows:
            indexed = {c for i in self._table.list_indices() for c in i.columns}
            for name in self.columns():
                if name not in indexed:
                    self.index_column(name)
        self._table.optimize()
        self._stale = True
        # last: every commit above makes a new table version, and the memory index is built for one
        if rows >= ann_min_rows and self._memory_index() is None and not self._has_vector_index():
            self.build_vector_index()

    def index_column(self, name: str, kind: str = "BTREE") -> None:
        """A scalar index on a metadata column, so filters on it prune rows before the vector search
        (``BTREE``; ``BITMAP`` suits columns with few distinct values)."""
        from lancedb import index

        if name not in self.columns():
            raise StoreError(f"no metadata column {name!r}; columns: {', '.join(self.columns())}")
        configs = {"BTREE": index.BTree, "BITMAP": index.Bitmap}
        if kind not in configs:
            raise StoreError(f"unknown scalar index {kind!r}; use BTREE or BITMAP")
        self._table.create_index(name, config=configs[kind](), replace=True)
        self._changed()

    def build_vector_index(self, *, num_partitions: int | None = None, index_type: str = "IVF_HNSW_SQ") -> None:
        """Build the ANN index: ``IVF_PQ`` (partitions of about 4,000 vectors, 8 dimensions per
        PQ code; queries re-rank ``refine_factor * k`` candidates with the full vectors),
        ``IVF_HNSW_SQ`` or ``IVF_FLAT``."""
        from lancedb import index

        rows = self._table.count_rows()
        dim = self.info().dim  # type: ignore[union-attr]
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
        self._table.create_index("vector", config=configs[index_type](), replace=True)
        self._changed()

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
        dim = self.info().dim  # type: ignore[union-attr]
        return rows * dim * 4 <= MEMORY_SHARE * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")

    def _memory_index(self) -> MemoryIndex | None:
        """The in-memory index of the table's current version (loaded or built on first use), or None."""
        if self._memory is not None and not self._stale:
            return self._memory
        with self._memory_lock:
            return self._current_memory_index()

    def _current_memory_index(self) -> MemoryIndex | None:
        version = self._table.version  # a LanceDB call (~0.4 ms): only after this store wrote
        self._stale = False
        if self._memory is not None and self._memory.version == version:
            return self._memory
        if self._cache.get("memory_off") == version:
            return None
        if not self._use_memory(self._table.count_rows()):
            self._cache["memory_off"] = version
            return None
        folder = self.path / MEMORY_DIR
        self._memory = MemoryIndex.load(folder, self._read_rows, self.columns(), version)
        if self._memory.built:
            try:
                self._memory.save(folder)
            except OSError as exc:  # a read-only index still serves; it rebuilds in every process
                warnings.warn(f"{folder}: could not save the in-memory index ({exc})", stacklevel=2)
        return self._memory

    def _read_rows(self, with_vectors: bool) -> Any:
        return self._scan(self._fields(with_vectors))

    def _has_vector_index(self) -> bool:
        return bool(self._vector_index_type())

    def _vector_index_type(self) -> str:
        """The vector index's type ("IVF_HNSW_SQ", "IVF_PQ", ...), or "" when there is none."""
        if "ann" not in self._cache:
            found = [i for i in self._table.list_indices() if i.columns == ["vector"]]
            self._cache["ann"] = str(found[0].index_type).upper() if found else ""
        return str(self._cache["ann"])

    def _schema(self) -> Any:
        if "schema" not in self._cache:
            self._cache["schema"] = self._table.schema
        return self._cache["schema"]

    def _changed(self) -> None:
        self._cache.clear()
        self._stale = True

    def _ensure_text_index(self) -> None:
        indices = self._table.list_indices()
        text_index = [i for i in indices if i.columns == ["text"]]
        if not text_index:
            from lancedb.index import FTS

            config = FTS(base_tokenizer="simple", lower_case=True, stem=True, remove_stop_words=True)
            self._table.create_index("text", config=config, replace=True)
            self._changed()

    # ------------------------------------------------------------------ helpers
    def _where(self, where: FilterSpec) -> str | None:
        return to_sql(parse_filter(where, self.columns()))

    def _fields(self, with_vectors: bool) -> list[str]:
        names = [n for n in self._schema().names if n != "vector"]
        return [*names, "vector"] if with_vectors else names

    def _scan(self, names: list[str]) -> Any:
        return self._table.search().select(names).limit(self._table.count_rows() or 1).to_arrow()

    def _hit(self, row: dict[str, Any], score: float, with_vectors: bool) -> Hit:
        kinds = self.columns()
        metadata = {  # a missing text (a tag not written yet) is "", as in every store
            k: "" if v is None and kinds.get(k) == "text" else v
            for k, v in row.items()
            if k not in _BASE and not k.startswith("_")
        }
        vector = np.asarray(row["vector"], dtype=np.float32) if with_vectors else None
        return Hit(row["id"], score, row["image"], row["text"] or "", metadata, vector)

    def _arrow(self, records: Records, info: IndexInfo) -> Any:
        pa = self.pa
        kinds = self.columns()  # an existing table's column types win over what one batch looks like
        vectors = np.ascontiguousarray(records.vectors, dtype=np.float32)
        columns: dict[str, Any] = {
            "id": pa.array(records.ids, pa.string()),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), info.dim),
            "image": pa.array(records.images, pa.string()),
            "text": pa.array(records.texts, pa.string()),
            "content_hash": pa.array(records.hashes, pa.string()),
            "vector_source": pa.array(records.vector_sources, pa.string()),
        }
        for name, values in records.metadata.items():
            columns[name] = _column(pa, name, values, kinds.get(name))
        schema = pa.schema(
            [pa.field(n, c.type) for n, c in columns.items()],
            metadata={
                _MODEL_KEY: info.model.encode(),
                _DIM_KEY: str(info.dim).encode(),
                _CHECKPOINT_KEY: info.checkpoint.encode(),
            },
        )
        return pa.Table.from_arrays(list(columns.values()), schema=schema)


def _column(pa: Any, name: str, values: Sequence[Any], kind: str | None = None) -> Any:
    """A metadata column as Arrow: ``kind`` is the table's ("numeric" | "text"), else inferred."""
    filled = [v for v in values if v is not None]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in filled)
    if kind == "numeric" or (kind is None and filled and numeric):
        if not numeric:  # the cast in add() names the column and the value
            return pa.array(["" if v is None else str(v) for v in values], pa.string())
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array(["" if v is None else str(v) for v in values], pa.string())


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
