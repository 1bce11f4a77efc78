"""The Milvus store: a Milvus server or cluster (``milvus://HOST:19530/COLLECTION``), or Milvus Lite,
the embedded Milvus of the ``milvus-lite`` package (``milvus-lite:PATH``), behind the store protocol.

One collection per index: ``id`` (primary key), ``vector``, ``image``, ``text`` (with an analyzer
and a BM25 function feeding a sparse field, for keyword search), ``content_hash`` and
``vector_source``. Each catalogue column is a typed field (VARCHAR, or nullable DOUBLE for
numbers) with an INVERTED scalar index, so filters run inside Milvus's query without parsing JSON
per row; columns added later (tags written back) are dynamic fields. The model, the dimension and
the metadata columns' kinds are collection properties.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from fashionclip._extras import require
from fashionclip.errors import StoreError
from fashionclip.store.base import (
    Facet,
    Hit,
    IndexInfo,
    Records,
    Value,
    check_claim,
    check_paging,
    check_query,
    check_records,
    check_text_columns,
    column_kind,
    summarise_column,
)
from fashionclip.store.filters import FilterSpec, parse_filter, to_milvus
from fashionclip.store.keywords import check_keywords, resolve

__all__ = ["INDEX_DEFAULTS", "MilvusStore", "to_milvus"]  # to_milvus: kept here, defined in store.filters

_BM25 = "_text_bm25"  # the sparse field the BM25 function writes
# the text field's analyzer per keyword mode; jieba (the pip package) cuts Chinese into words, the
# one CJK tokenizer Milvus Lite has; its search mode adds the words inside long ones (手提包: 提包)
_ANALYZERS: dict[str, dict[str, Any]] = {
    "english": {
        "tokenizer": "standard",
        "filter": [
            "lowercase",
            {"type": "stop", "stop_words": ["_english_"]},
            {"type": "stemmer", "language": "english"},
        ],
    },
    "cjk": {"tokenizer": {"type": "jieba", "mode": "search"}, "filter": ["lowercase"]},
}
_PROPERTY = "fashionclip"  # JSON: model, dim, columns
_MAX_TEXT = 65_535
_MAX_IMAGE = 4096
_PAGE = 1000
# parameters of the vector index, and of its searches, by index type
INDEX_DEFAULTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "FLAT": ({}, {}),
    "HNSW": ({"M": 16, "efConstruction": 200}, {"ef": 128}),
    "IVF_FLAT": ({"nlist": 1024}, {"nprobe": 32}),
    "IVF_SQ8": ({"nlist": 1024}, {"nprobe": 32}),
    "IVF_PQ": ({"nlist": 1024, "m": 64}, {"nprobe": 32}),
    "DISKANN": ({}, {"search_list": 100}),
    "AUTOINDEX": ({}, {}),
}
_SEARCH_KEYS = {"ef", "nprobe", "search_list", "level"}
_NO_KEEPALIVE = 2**31 - 1  # gRPC's "never" for keepalive_time_ms


class MilvusStore:
    """A Milvus collection as a vector store. ``uri``: a Milvus Lite file path (``.db``) or a
    server's ``http://HOST:PORT``; ``index_type`` (FLAT, HNSW, IVF_FLAT, IVF_SQ8, IVF_PQ, DISKANN
    where the server has it, AUTOINDEX) and ``params`` (index parameters such as ``M``,
    ``nlist``; search parameters ``ef``, ``nprobe``, ``search_list``) choose the vector index.
    FLAT, Milvus Lite's default here, is exact."""

    def __init__(
        self,
        uri: str,
        collection: str = "items",
        *,
        index_type: str | None = None,
        params: dict[str, Any] | None = None,
        token: str | None = None,
        keywords: str = "auto",
    ) -> None:
        # gRPC's C core logs at INFO on every fork (Ray forks its workers): its errors are enough
        os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
        pymilvus = require("pymilvus", "milvus", feature="the Milvus store")
        # pymilvus logs every failed call with its traceback before raising it, the raised error is
        # enough; Milvus Lite's in-process gRPC server logs calls it does not implement, which
        # pymilvus's iterators try first and then do without
        logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
        logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
        if index_type is not None and index_type.upper() not in INDEX_DEFAULTS:
            raise StoreError(f"unknown Milvus index type {index_type!r}; use one of {', '.join(INDEX_DEFAULTS)}")
        self.uri = uri
        self.collection = collection
        self.keywords = check_keywords(keywords)
        self.lite = "://" not in uri
        if self.lite:
            require("milvus_lite", "milvus", feature="Milvus Lite (milvus-lite:PATH)")
            os.makedirs(os.path.dirname(os.path.abspath(uri)) or ".", exist_ok=True)
        # Milvus Lite's server runs in this process and refuses pymilvus's 10-second keepalive
        # pings: it answers them with GOAWAY, the client logs an error and retries calls in
        # flight (a retried create_index then fails as "index already exists"). A channel to
        # ourselves needs no keepalive.
        options = {"grpc_options": {"grpc.keepalive_time_ms": _NO_KEEPALIVE}} if self.lite else {}
        try:
            self._client = pymilvus.MilvusClient(uri=uri, token=token or "", **options)
        except Exception as exc:  # pymilvus raises its own types for connection failures
            raise StoreError(f"cannot connect to Milvus at {uri!r}: {' '.join(str(exc).split())}") from None
        self._pymilvus = pymilvus
        self._pending: IndexInfo | None = None
        self._meta: dict[str, Any] | None = None
        wanted = (index_type or ("FLAT" if self.lite else "HNSW")).upper()
        index_params, search_params = INDEX_DEFAULTS[wanted]
        extra = dict(params or {})
        self.index_type = wanted
        self.index_params = {**index_params, **{k: v for k, v in extra.items() if k not in _SEARCH_KEYS}}
        self.search_params = {**search_params, **{k: v for k, v in extra.items() if k in _SEARCH_KEYS}}
        if self._exists():
            built = self.keyword_mode()
            if self.keywords not in ("auto", built):
                raise StoreError(
                    f"the Milvus collection {collection!r} splits keywords as {built!r}, not {self.keywords!r}: "
                    "Milvus cannot change a field's analyzer, so index into a new collection to change it"
                )
            if index_type is not None and self._current_index_type() != wanted:
                self.build_vector_index()
            else:
                self._client.load_collection(self.collection)  # a reopened collection starts released

    def __repr__(self) -> str:
        return f"MilvusStore({self.uri!r}, collection={self.collection!r}, {self.count()} items, {self.info()})"

    # ------------------------------------------------------------------ protocol
    @property
    def location(self) -> str:
        """The ``--db`` URI of this collection (options left out)."""
        if self.lite:
            return f"milvus-lite:{os.path.abspath(self.uri)}?collection={self.collection}"
        scheme, _, address = self.uri.partition("://")
        return f"{'milvuss' if scheme == 'https' else 'milvus'}://{address}/{self.collection}"

    def info(self) -> IndexInfo | None:
        meta = self._properties()
        if meta is None:
            return self._pending
        return IndexInfo(meta["model"], int(meta["dim"]), meta.get("checkpoint", ""))

    def claim(self, info: IndexInfo) -> None:
        check_claim(self.info(), info, f"the Milvus collection {self.collection!r} at {self.uri!r}")
        self._pending = info

    def columns(self) -> dict[str, str]:
        meta = self._properties()
        return dict(meta["columns"]) if meta else {}

    def add(self, records: Records, *, new: bool = False) -> None:
        info = check_records(self.info(), records)
        if not len(records):
            return
        kinds = self.columns()
        if not self._exists():
            kinds = {name: column_kind(values) for name, values in records.metadata.items()}
            self._create(info, kinds, resolve(self.keywords, records.texts))
        extra = {name: column_kind(values) for name, values in records.metadata.items() if name not in kinds}
        if extra:  # a catalogue column new to this index: a dynamic field, as tags are
            kinds = {**kinds, **extra}
            self._save_properties({**self._properties(), "columns": kinds, "tags": sorted(self._tag_columns())})
        rows = [self._row(records, i, kinds) for i in range(len(records))]
        for start in range(0, len(rows), _PAGE):
            chunk = rows[start : start + _PAGE]
            if new:
                self._client.insert(self.collection, chunk)
            else:
                self._client.upsert(self.collection, chunk)

    def delete(self, ids: Sequence[str]) -> int:
        if not self._exists() or not ids:
            return 0
        present = [h.id for h in self.get(list(ids))]
        for start in range(0, len(present), _PAGE):
            self._client.delete(self.collection, ids=present[start : start + _PAGE])
        return len(present)

    def set_text_metadata(self, ids: Sequence[str], columns: dict[str, list[str]], *, overwrite: bool = False) -> int:
        if not self._exists() or not ids:
            return 0
        kinds = self.columns()
        tags = self._tag_columns()
        check_text_columns(ids, columns, kinds, tags, overwrite)
        new = {name: "text" for name in columns if name not in kinds}
        if new:
            self._save_properties(
                {**self._properties(), "columns": {**kinds, **new}, "tags": sorted(tags | set(new))}  # type: ignore[dict-item]
            )
        index = {item: i for i, item in enumerate(ids)}
        stored = 0
        for start in range(0, len(ids), _PAGE):
            found = self._fetch(list(ids[start : start + _PAGE]), with_vectors=True)
            for row in found:
                row.update({name: str(values[index[row["id"]]]) for name, values in columns.items()})
                row.pop(_BM25, None)
            if found:
                self._client.upsert(self.collection, found)
            stored += len(found)
        return stored

    def count(self, where: FilterSpec = None) -> int:
        if not self._exists():
            return 0
        result = self._client.query(self.collection, filter=self._expression(where), output_fields=["count(*)"])
        return int(result[0]["count(*)"])

    def hashes(self, ids: Sequence[str] | None = None) -> dict[str, str]:
        if ids is None:
            return {row["id"]: row["content_hash"] for row in self._scan(["id", "content_hash"])}
        if not self._exists():
            return {}
        found: dict[str, str] = {}
        for start in range(0, len(ids), _PAGE):
            chunk = list(ids[start : start + _PAGE])
            for row in self._client.get(self.collection, ids=chunk, output_fields=["id", "content_hash"]):
                found[row["id"]] = row["content_hash"]
        return found

    def get(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[Hit]:
        if not self._exists() or not ids:
            return []
        found: dict[str, Hit] = {}
        for start in range(0, len(ids), _PAGE):
            for row in self._fetch(list(ids[start : start + _PAGE]), with_vectors):
                found[row["id"]] = self._hit(row, 1.0, with_vectors)
        return [found[i] for i in ids if i in found]

    def search(
        self, vector: np.ndarray, k: int, *, where: FilterSpec = None, offset: int = 0, with_vectors: bool = False
    ) -> list[Hit]:
        info = self.info()
        query = check_query(vector, info.dim if info else None, k, offset)
        if not self._exists():
            return []
        results = self._client.search(
            self.collection,
            data=[query.tolist()],
            anns_field="vector",
            filter=self._expression(where),
            limit=k + offset,
            output_fields=self._fields(with_vectors),
            search_params={"metric_type": "IP", "params": self.search_params},
        )
        hits = [self._hit(r["entity"] | {"id": r["id"]}, float(r["distance"]), with_vectors) for r in results[0]]
        return sorted(hits, key=lambda h: (-h.score, h.id))[offset:]

    def keyword_search(self, query: str, k: int, *, where: FilterSpec = None, offset: int = 0) -> list[Hit]:
        check_paging(k, offset, StoreError)
        if not self._exists() or not query.strip():
            return []
        results = self._client.search(
            self.collection,
            data=[query],
            anns_field=_BM25,
            filter=self._expression(where),
            limit=k + offset,
            output_fields=self._fields(False),
            search_params={"metric_type": "BM25"},
        )
        # Milvus reports BM25 relevance with a sign that differs between versions; its size is the score
        hits = [self._hit(r["entity"] | {"id": r["id"]}, abs(float(r["distance"])), False) for r in results[0]]
        return sorted((h for h in hits if h.score > 0), key=lambda h: (-h.score, h.id))[offset:]

    def optimize(self) -> None:
        """Nothing to do: Milvus indexes each segment as it seals, and the collection's Strong
        consistency makes every write visible to the next query."""

    # ------------------------------------------------------------------ browsing
    def facets(self, max_values: int = 50) -> dict[str, Facet]:
        kinds = self.columns()
        if not kinds:
            return {}
        values: dict[str, list[Value]] = {name: [] for name in kinds}
        for row in self._scan(["id", *kinds]):
            for name, kind in kinds.items():
                values[name].append(_value(row.get(name), kind))
        return {name: summarise_column(name, kind, values[name], max_values) for name, kind in kinds.items()}

    def image_folders(self) -> set[str]:
        return {
            os.path.dirname(r["image"]) for r in self._scan(["id", "image"]) if r["image"] and "://" not in r["image"]
        }

    # ------------------------------------------------------------------ maintenance
    def build_vector_index(self, index_type: str | None = None, params: dict[str, Any] | None = None) -> None:
        """(Re)build the vector index with this type and parameters (the store's own by default)."""
        if index_type is not None:
            wanted = index_type.upper()
            if wanted not in INDEX_DEFAULTS:
                raise StoreError(f"unknown Milvus index type {index_type!r}; use one of {', '.join(INDEX_DEFAULTS)}")
            self.index_type, self.index_params = wanted, {**INDEX_DEFAULTS[wanted][0], **(params or {})}
            self.search_params = dict(INDEX_DEFAULTS[wanted][1])
        if not self._exists():
            return
        self._client.release_collection(self.collection)
        self._client.drop_index(self.collection, "vector")
        try:
            self._client.create_index(self.collection, self._index_params())
        except self._pymilvus.MilvusException:
            # a long build can outlive the gRPC call, which pymilvus then retries: the first call's
            # index is the one wanted, so only an index of another type is an error
            if self._current_index_type() != self.index_type:
                raise
        self._client.load_collection(self.collection)

    def drop(self) -> None:
        """Delete the collection and everything in it."""
        if self._exists():
            self._client.drop_collection(self.collection)
        self._meta = None
        self._pending = None

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ helpers
    def _exists(self) -> bool:
        return bool(self._client.has_collection(self.collection))

    def _properties(self) -> dict[str, Any] | None:
        if self._meta is None and self._exists():
            properties = self._client.describe_collection(self.collection).get("properties") or {}
            if _PROPERTY not in properties:
                raise StoreError(
                    f"the Milvus collection {self.collection!r} at {self.uri!r} was not written by fashionclip"
                )
            self._meta = json.loads(properties[_PROPERTY])
        return self._meta

    def _tag_columns(self) -> set[str]:
        """Columns that set_text_metadata made (collections written before this was recorded:
        their dynamic fields, which only tags were then)."""
        meta = self._properties() or {}
        if "tags" in meta:
            return set(meta["tags"])
        typed = {f["name"] for f in self._client.describe_collection(self.collection).get("fields", [])}
        return {name for name in meta.get("columns", {}) if name not in typed}

    def _save_properties(self, meta: dict[str, Any]) -> None:
        self._client.alter_collection_properties(self.collection, properties={_PROPERTY: json.dumps(meta)})
        self._meta = meta

    def _current_index_type(self) -> str:
        described = self._client.describe_index(self.collection, "vector") or {}
        return str(described.get("index_type", "")).upper()

    def keyword_mode(self) -> str:
        """How the collection's analyzer splits texts (``english`` for one made before modes)."""
        return str((self._properties() or {}).get("keywords", "english"))

    def _create(self, info: IndexInfo, kinds: dict[str, str], keywords: str) -> None:
        DataType = self._pymilvus.DataType  # noqa: N806
        # columns added later (zero-shot tags written back) become dynamic fields
        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=True)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=1024)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=info.dim)
        schema.add_field("image", DataType.VARCHAR, max_length=_MAX_IMAGE)
        analyzer = _ANALYZERS[keywords]
        schema.add_field("text", DataType.VARCHAR, max_length=_MAX_TEXT, enable_analyzer=True, analyzer_params=analyzer)
        schema.add_field("content_hash", DataType.VARCHAR, max_length=256)
        schema.add_field("vector_source", DataType.VARCHAR, max_length=16)
        schema.add_field(_BM25, DataType.SPARSE_FLOAT_VECTOR)
        for name, kind in kinds.items():
            if kind == "numeric":
                schema.add_field(name, DataType.DOUBLE, nullable=True)
            else:
                schema.add_field(name, DataType.VARCHAR, max_length=_MAX_TEXT)
        function = self._pymilvus.Function(
            name="text_bm25",
            function_type=self._pymilvus.FunctionType.BM25,
            input_field_names=["text"],
            output_field_names=[_BM25],
        )
        schema.add_function(function)
        self._client.create_collection(
            self.collection, schema=schema, index_params=self._index_params(kinds), consistency_level="Strong"
        )
        meta = {"model": info.model, "dim": info.dim, "checkpoint": info.checkpoint, "columns": kinds}
        self._save_properties({**meta, "keywords": keywords})

    def _index_params(self, columns: dict[str, str] | None = None) -> Any:
        """The vector index; with ``columns``, also the BM25 index and a scalar index per column."""
        params = self._client.prepare_index_params()
        params.add_index("vector", index_type=self.index_type, metric_type="IP", params=self.index_params)
        if columns is not None:
            params.add_index(_BM25, index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
            for name in columns:
                params.add_index(name, index_type="INVERTED")
        return params

    def _row(self, records: Records, i: int, kinds: dict[str, str]) -> dict[str, Any]:
        def fitting(name: str, value: str, limit: int = _MAX_TEXT) -> str:
            # Milvus VARCHAR fields have a byte limit; say which item and column is over it
            if len(value.encode()) > limit:
                raise StoreError(f"item {records.ids[i]!r}: {name} longer than {limit} bytes")
            return value

        row: dict[str, Any] = {
            "id": records.ids[i],
            "vector": records.vectors[i].astype(np.float32).tolist(),
            "image": fitting("image", records.images[i] or "", _MAX_IMAGE),
            "text": fitting("text", records.texts[i] or ""),
            "content_hash": records.hashes[i],
            "vector_source": records.vector_sources[i],  # type: ignore[index]
        }
        for name, values in records.metadata.items():
            value = values[i]
            if kinds[name] == "numeric":
                if value is None:
                    row[name] = None  # NULL: no comparison matches it, as in SQL
                    continue
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise StoreError(f"item {records.ids[i]!r}: column {name!r} holds numbers; got {value!r}")
                row[name] = float(value)
            else:
                row[name] = fitting(f"column {name!r}", "" if value is None else str(value))
        return row

    def _fields(self, with_vectors: bool) -> list[str]:
        names = ["id", "image", "text", "content_hash", "vector_source", *self.columns()]
        return [*names, "vector"] if with_vectors else names

    def _fetch(self, ids: list[str], with_vectors: bool) -> list[dict[str, Any]]:
        fields = self._fields(with_vectors)
        return [dict(row) for row in self._client.get(self.collection, ids=ids, output_fields=fields)]

    def _scan(self, fields: list[str]) -> Iterator[dict[str, Any]]:
        if not self._exists():
            return
        iterator = self._client.query_iterator(self.collection, batch_size=_PAGE, filter="", output_fields=fields)
        try:
            while batch := iterator.next():
                yield from batch
        finally:
            iterator.close()

    def _hit(self, row: dict[str, Any], score: float, with_vectors: bool) -> Hit:
        kinds = self.columns()
        metadata = {name: _value(row.get(name), kind) for name, kind in kinds.items()}
        vector = np.asarray(row["vector"], dtype=np.float32) if with_vectors else None
        return Hit(row["id"], score, row.get("image") or None, row.get("text") or "", metadata, vector)

    def _expression(self, where: FilterSpec) -> str:
        return to_milvus(parse_filter(where, self.columns()))


def _value(value: Any, kind: str) -> Value:
    if kind == "numeric":
        return None if value is None else float(value)
    return "" if value is None else str(value)
