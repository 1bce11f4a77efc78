"""The exact in-memory store: brute-force inner products and BM25 over every item.

It is the reference that tests hold every other store to, and a fine store for
catalogues that fit in memory and are rebuilt at start.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
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
from fashionclip.store.filters import FilterSpec, parse_filter, to_mask
from fashionclip.store.keywords import split_cjk

BM25_K1 = 1.2  # Lucene's and LanceDB's defaults, so both stores rank alike
BM25_B = 0.75


class ExactStore:
    """Every item in numpy arrays; search is exact."""

    def __init__(self) -> None:
        self._info: IndexInfo | None = None
        self._ids: list[str] = []
        self._position: dict[str, int] = {}
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._rows: list[dict[str, Any]] = []  # image, text, hash, vector_source, metadata
        self._kinds: dict[str, str] = {}
        self._tags: set[str] = set()  # columns written by set_text_metadata, not by the catalogue
        self._bm25: Any = None
        self._columns_cache: dict[str, np.ndarray] | None = None

    def __repr__(self) -> str:
        return f"ExactStore({len(self._ids)} items, {self._info})"

    # ------------------------------------------------------------------ protocol
    @property
    def location(self) -> str:
        return ":memory:"

    def info(self) -> IndexInfo | None:
        return self._info

    def claim(self, info: IndexInfo) -> None:
        check_claim(self._info, info, "this exact store")
        if self._info is None:
            self._info = info
            self._vectors = np.zeros((0, info.dim), dtype=np.float32)

    def columns(self) -> dict[str, str]:
        return dict(self._kinds)

    def add(self, records: Records, *, new: bool = False) -> None:
        check_records(self._info, records)
        check_query(records.vectors[0] if len(records) else np.zeros(self._info.dim), self._info.dim, 1, 0)
        kinds = {name: column_kind(values) for name, values in records.metadata.items()}
        self._kinds.update({k: v for k, v in kinds.items() if k not in self._kinds or v == "numeric"})
        new_vectors = []
        for i, item_id in enumerate(records.ids):
            row = {
                "image": records.images[i],
                "text": records.texts[i],
                "hash": records.hashes[i],
                "vector_source": records.vector_sources[i],  # type: ignore[index]
                "metadata": {name: values[i] for name, values in records.metadata.items()},
            }
            at = self._position.get(item_id)
            if at is None:
                self._position[item_id] = len(self._ids)
                self._ids.append(item_id)
                self._rows.append(row)
                new_vectors.append(records.vectors[i])
            else:  # a rewritten row keeps its tags, as in the other stores
                old = self._rows[at]["metadata"]
                row["metadata"] = {**{t: old[t] for t in self._tags if t in old}, **row["metadata"]}
                self._rows[at] = row
                self._vectors[at] = records.vectors[i]
        if new_vectors:
            self._vectors = np.vstack([self._vectors, np.asarray(new_vectors, dtype=np.float32)])
        self._changed()

    def delete(self, ids: Sequence[str]) -> int:
        gone = {i for i in ids if i in self._position}
        if not gone:
            return 0
        keep = [p for p, item_id in enumerate(self._ids) if item_id not in gone]
        self._ids = [self._ids[p] for p in keep]
        self._rows = [self._rows[p] for p in keep]
        self._vectors = self._vectors[keep]
        self._position = {item_id: p for p, item_id in enumerate(self._ids)}
        self._changed()
        return len(gone)

    def set_text_metadata(self, ids: Sequence[str], columns: dict[str, list[str]], *, overwrite: bool = False) -> int:
        check_text_columns(ids, columns, self._kinds, self._tags, overwrite)
        for name in columns:
            if name not in self._kinds:
                self._tags.add(name)
            self._kinds.setdefault(name, "text")
        stored = 0
        for i, item_id in enumerate(ids):
            at = self._position.get(item_id)
            if at is None:
                continue
            stored += 1
            self._rows[at]["metadata"].update({name: str(values[i]) for name, values in columns.items()})
        for row in self._rows:  # a new column is missing (None) where nothing was written, as in LanceDB
            for name in columns:
                row["metadata"].setdefault(name, None)
        self._changed()
        return stored

    def count(self, where: FilterSpec = None) -> int:
        return int(self._mask(where).sum()) if where else len(self._ids)

    def hashes(self, ids: Sequence[str] | None = None) -> dict[str, str]:
        if ids is not None:
            return {i: self._rows[self._position[i]]["hash"] for i in ids if i in self._position}
        return {item_id: row["hash"] for item_id, row in zip(self._ids, self._rows, strict=True)}

    def get(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[Hit]:
        return [self._hit(self._position[i], 1.0, with_vectors) for i in ids if i in self._position]

    def search(
        self, vector: np.ndarray, k: int, *, where: FilterSpec = None, offset: int = 0, with_vectors: bool = False
    ) -> list[Hit]:
        query = check_query(vector, self._info.dim if self._info else None, k, offset)
        if not self._ids:
            return []
        scores = self._vectors @ query  # (N,)
        return self._top(scores, self._mask(where), k, offset, with_vectors)

    def keyword_search(self, query: str, k: int, *, where: FilterSpec = None, offset: int = 0) -> list[Hit]:
        check_paging(k, offset, StoreError)
        if not self._ids:
            return []
        bm25s = require("bm25s", "search", feature="keyword search in the exact store")
        stem = require("Stemmer", "search", feature="keyword search in the exact store").Stemmer("english")

        def tokenize(texts: list[str]) -> list[list[str]]:
            # English words stemmed, CJK runs as characters and pairs: one index reads both
            split = [split_cjk(text) for text in texts]
            english = bm25s.tokenize(
                [rest for rest, _ in split], stopwords="en", stemmer=stem, return_ids=False, show_progress=False
            )
            return [list(found) + grams for found, (_, grams) in zip(english, split, strict=True)]

        if self._bm25 is None:
            self._bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B)
            self._bm25.index(tokenize([r["text"] for r in self._rows]), show_progress=False)
        words = tokenize([query])[0]
        scores = np.asarray(self._bm25.get_scores(words), dtype=np.float64) if words else np.zeros(len(self._ids))
        return self._top(scores, self._mask(where) & (scores > 0), k, offset, False)

    def optimize(self) -> None:
        """Nothing to do: the BM25 index and the filter columns are rebuilt on the first query
        after a write, and vectors are searched exactly."""

    # ------------------------------------------------------------------ browsing
    def facets(self, max_values: int = 50) -> dict[str, Facet]:
        arrays = self._column_arrays()
        return {
            name: summarise_column(name, kind, [None if v != v else v for v in arrays[name]], max_values)
            for name, kind in self._kinds.items()
        }

    def image_folders(self) -> set[str]:
        return {os.path.dirname(r["image"]) for r in self._rows if r["image"] and "://" not in r["image"]}

    # ------------------------------------------------------------------ helpers
    def _top(self, scores: np.ndarray, mask: np.ndarray, k: int, offset: int, with_vectors: bool) -> list[Hit]:
        candidates = np.flatnonzero(mask)
        wanted = min(k + offset, len(candidates))
        if wanted == 0:
            return []
        part = candidates[np.argpartition(-scores[candidates], wanted - 1)[:wanted]]
        # ties broken by id so that every store agrees on the order
        order = sorted(part, key=lambda p: (-float(scores[p]), self._ids[p]))
        return [self._hit(p, float(scores[p]), with_vectors) for p in order[offset:]]

    def _hit(self, position: int, score: float, with_vectors: bool) -> Hit:
        row = self._rows[position]
        vector = self._vectors[position].copy() if with_vectors else None
        metadata = {name: _shown(row["metadata"].get(name), kind) for name, kind in self._kinds.items()}
        return Hit(self._ids[position], score, row["image"], row["text"], metadata, vector)

    def _mask(self, where: FilterSpec) -> np.ndarray:
        conditions = parse_filter(where, self._kinds)
        return to_mask(conditions, self._column_arrays(), len(self._ids))

    def _column_arrays(self) -> dict[str, np.ndarray]:
        if self._columns_cache is None:
            arrays = {}
            for name, kind in self._kinds.items():
                values = [r["metadata"].get(name) for r in self._rows]
                if kind == "numeric":
                    arrays[name] = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
                else:
                    arrays[name] = np.array([None if v is None else str(v) for v in values], dtype=object)
            self._columns_cache = arrays
        return self._columns_cache

    def _changed(self) -> None:
        self._bm25 = None
        self._columns_cache = None


def _shown(value: Value, kind: str) -> Value:
    """A stored value as a hit shows it: a missing text is "", as in every store."""
    return "" if value is None and kind == "text" else value
