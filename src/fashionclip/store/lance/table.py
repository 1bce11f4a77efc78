"""The table seam of the LanceDB store: the table ``items`` in a folder, its schema (the model it
was claimed for, the metadata columns and which of them hold tags), and rows in (Arrow batches,
merged by id) and out (hits).

Schema facts are read once per write and cached, so that queries stay cheap; ``writes`` counts
the writes made through this object, for what is derived from the rows (the in-memory index).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fashionclip._extras import require
from fashionclip.errors import StoreError
from fashionclip.reserved_columns import RESERVED_COLUMNS
from fashionclip.store.base import Hit, IndexInfo, Records, check_text_columns
from fashionclip.store.filters import FilterSpec, ids_in, parse_filter, to_sql
from fashionclip.store.lance.upkeep import Upkeep

TABLE = "items"
_MODEL_KEY = b"fashionclip.model"
_DIM_KEY = b"fashionclip.dim"
_CHECKPOINT_KEY = b"fashionclip.checkpoint"
_TAG_KEY = "fashionclip.tag"  # field metadata of a column that holds tags, not catalogue values
_CHUNK = 1000  # ids per SQL IN list


class LanceTable:
    """The LanceDB table ``items`` under ``path`` (``handle`` is None until its first rows)."""

    def __init__(self, path: Path) -> None:
        self.lancedb = require("lancedb", "search", feature="the LanceDB index")
        self.pa = require("pyarrow", "search")
        self.path = path
        # connecting makes the folder: a new index's folder appears with its first rows, so a run
        # that fails before writing leaves nothing behind
        self._db = self.lancedb.connect(str(self.path)) if self.path.exists() else None
        self.cache: dict[str, Any] = {}  # schema-derived facts, cleared by every schema change
        self.writes = 0
        self.handle: Any = self._open()
        self.upkeep = Upkeep(str(self.path / f"{TABLE}.lance"))

    def _open(self) -> Any:
        """The table, or None where there is none yet."""
        if TABLE not in self._table_names():
            return None
        try:
            return self._db.open_table(TABLE)
        except ValueError as exc:
            # another process is making it: listed (its folder is there), not yet committed
            if "was not found" in str(exc):
                return None
            raise

    def _table_names(self) -> list[str]:
        if self._db is None:
            return []
        listing = self._db.list_tables()
        return list(getattr(listing, "tables", listing))

    # ------------------------------------------------------------------ schema
    def info(self) -> IndexInfo | None:
        """The model recorded in the schema (None before the first rows)."""
        if self.handle is None:
            return None
        meta = self.schema().metadata or {}
        if _MODEL_KEY not in meta:
            raise StoreError(f"{self.path}: the table {TABLE!r} was not written by fashionclip (no model recorded)")
        return IndexInfo(meta[_MODEL_KEY].decode(), int(meta[_DIM_KEY]), meta.get(_CHECKPOINT_KEY, b"").decode())

    def schema(self) -> Any:
        if "schema" not in self.cache:
            self.cache["schema"] = self.handle.schema
        return self.cache["schema"]

    def columns(self) -> dict[str, str]:
        """Metadata column -> "numeric" | "text"."""
        if self.handle is None:
            return {}
        if "columns" not in self.cache:
            pa = self.pa
            self.cache["columns"] = {
                f.name: "numeric" if pa.types.is_integer(f.type) or pa.types.is_floating(f.type) else "text"
                for f in self.handle.schema
                if f.name not in RESERVED_COLUMNS
            }
        return dict(self.cache["columns"])

    def tag_columns(self) -> set[str]:
        """Columns that set_text_metadata made: marked in their field metadata, or (indexes written
        before the mark) the non-nullable text columns that only tags were."""
        return {
            f.name
            for f in self.schema()
            if f.name not in RESERVED_COLUMNS and ((f.metadata or {}).get(_TAG_KEY.encode()) or not f.nullable)
        }

    def changed(self) -> None:
        """The schema or the indices changed: forget what was read of them."""
        self.cache.clear()
        self.writes += 1

    # ------------------------------------------------------------------ writes
    def write(self, records: Records, info: IndexInfo, *, new: bool) -> Any:
        """Insert or replace ``records`` in one commit (the table is made by the first); the rows
        as written (Arrow; a rewrite leaves out the tag columns it keeps), None for a new table."""
        data = self._arrow(records, info)
        if self.handle is None:
            if self._db is None:
                self._db = self.lancedb.connect(str(self.path))
            self.handle = self._db.create_table(TABLE, data=data)
            self.changed()
            return None
        data = self._conform(data, len(records), new)
        self.writes += 1
        if new:  # the caller knows none of these ids is stored: a plain append, much cheaper than a merge
            self.handle.add(data)
        else:
            self.handle.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(data)
        self.upkeep.committed(len(data))
        return data

    def _conform(self, data: Any, rows: int, new: bool) -> Any:
        """``data`` in the table's schema, after adding the columns it brings."""
        table = self.handle
        extra = [name for name in data.column_names if name not in self.schema().names]
        if extra:  # a catalogue column new to this index: added in place, empty for the rows stored
            floating = self.pa.types.is_floating
            table.add_columns(
                {n: f"CAST(NULL AS {'DOUBLE' if floating(data.schema.field(n).type) else 'STRING'})" for n in extra}
            )
            self.changed()
        legacy = [f.name for f in self.schema() if not f.nullable and f.name not in RESERVED_COLUMNS]
        if legacy:  # tag columns of an index written before tags were nullable and marked
            table.alter_columns(*({"path": name, "nullable": True} for name in legacy))
            table.update_field_metadata(*({"path": name, "metadata": {_TAG_KEY: "true"}} for name in legacy))
            self.changed()
        # a rewritten row keeps its tags (a price change must not untag it); a catalogue column
        # the rows lack is empty, as the catalogue says; an appended row has no tags yet
        kept = set() if new else self.tag_columns()
        schema = self.pa.schema([f for f in self.schema() if f.name not in kept or f.name in data.column_names])
        for f in schema:
            if f.name not in data.column_names:
                data = data.append_column(f, self.pa.nulls(rows, f.type))
        try:
            return data.select(schema.names).cast(schema)
        except (self.pa.ArrowInvalid, self.pa.ArrowTypeError, self.pa.ArrowNotImplementedError) as exc:
            raise StoreError(f"{self.path}: the new rows do not fit the index's column types: {exc}") from None

    def delete(self, ids: Sequence[str]) -> int:
        if self.handle is None or not ids:
            return 0
        before = self.handle.count_rows()
        self.writes += 1
        for start in range(0, len(ids), _CHUNK):
            self.handle.delete(ids_in(ids[start : start + _CHUNK]))
            self.upkeep.committed(0)
        return before - self.handle.count_rows()

    def compact(self) -> bool:
        """The small fragments of recent commits merged (``upkeep.py``); True when the table's
        version moved (the same rows)."""
        if not self.upkeep.compact(self.handle.version):
            return False
        self.handle.checkout_latest()
        self.writes += 1
        return True

    def set_text(self, ids: Sequence[str], columns: dict[str, list[str]], *, overwrite: bool) -> int:
        """Write tag columns for stored ids (see ``VectorStore.set_text_metadata``)."""
        if self.handle is None or not ids:
            return 0
        check_text_columns(ids, columns, self.columns(), self.tag_columns(), overwrite)
        new = [name for name in columns if name not in self.columns()]
        if new:
            # nullable: rows added or rewritten later by indexing have no tags until classified again
            self.handle.add_columns({name: "CAST(NULL AS STRING)" for name in new})
            self.handle.update_field_metadata(*({"path": name, "metadata": {_TAG_KEY: "true"}} for name in new))
            self.changed()
        pa = self.pa
        data = pa.table(
            {"id": pa.array(list(ids), pa.string())}
            | {name: pa.array(values, pa.string()) for name, values in columns.items()}
        )
        merged = self.handle.merge_insert("id").when_matched_update_all().execute(data)
        self.upkeep.committed(len(ids))
        self.changed()
        return int(merged.num_updated_rows)  # unknown ids match nothing and are not inserted

    # ------------------------------------------------------------------ reads
    def where(self, where: FilterSpec) -> str | None:
        """``where`` as SQL for this table's columns."""
        return to_sql(parse_filter(where, self.columns()))

    def count(self, where: FilterSpec = None) -> int:
        if self.handle is None:
            return 0
        return int(self.handle.count_rows(self.where(where)))

    def get(self, ids: Sequence[str], *, with_vectors: bool) -> list[Hit]:
        if self.handle is None or not ids:
            return []
        found: dict[str, Hit] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            query = self.handle.search().where(ids_in(chunk)).select(self.fields(with_vectors)).limit(len(chunk))
            for row in query.to_arrow().to_pylist():
                found[row["id"]] = self.hit(row, 1.0, with_vectors)
        return [found[i] for i in ids if i in found]

    def rows_of(self, ids: Sequence[str], *, with_vectors: bool) -> Any:
        """The stored rows of these ids as one Arrow table (in no particular order)."""
        parts = []
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            query = self.handle.search().where(ids_in(chunk)).select(self.fields(with_vectors)).limit(len(chunk))
            parts.append(query.to_arrow())
        return self.pa.concat_tables(parts) if parts else None

    def fields(self, with_vectors: bool) -> list[str]:
        """The columns a hit is made of (the vector last, when asked for)."""
        names = [n for n in self.schema().names if n != "vector"]
        return [*names, "vector"] if with_vectors else names

    def scan(self, names: list[str]) -> Any:
        """These columns of every row, as Arrow."""
        return self.handle.search().select(names).limit(self.handle.count_rows() or 1).to_arrow()

    def hit(self, row: dict[str, Any], score: float, with_vectors: bool) -> Hit:
        kinds = self.columns()
        metadata = {  # a missing text (a tag not written yet) is "", as in every store
            k: "" if v is None and kinds.get(k) == "text" else v
            for k, v in row.items()
            if k not in RESERVED_COLUMNS and not k.startswith("_")
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
            columns[name] = _column(pa, values, kinds.get(name))
        schema = pa.schema(
            [pa.field(n, c.type) for n, c in columns.items()],
            metadata={
                _MODEL_KEY: info.model.encode(),
                _DIM_KEY: str(info.dim).encode(),
                _CHECKPOINT_KEY: info.checkpoint.encode(),
            },
        )
        return pa.Table.from_arrays(list(columns.values()), schema=schema)


def _column(pa: Any, values: Sequence[Any], kind: str | None = None) -> Any:
    """A metadata column as Arrow: ``kind`` is the table's ("numeric" | "text"), else inferred."""
    filled = [v for v in values if v is not None]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in filled)
    if kind == "numeric" or (kind is None and filled and numeric):
        if not numeric:  # the cast in write() names the column and the value
            return pa.array(["" if v is None else str(v) for v in values], pa.string())
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array(["" if v is None else str(v) for v in values], pa.string())
