"""What both executors share in a run: its start (claim the store, read its hashes, type the
items), the commit of each finished batch, and its end (deletions, store upkeep, the count)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from fashionclip.catalog.reader import CatalogData, CatalogItem
from fashionclip.indexing.hashes import hash_key
from fashionclip.indexing.plan import EMBED, REWRITE, Step, deletions, typed_items
from fashionclip.indexing.records import build_records
from fashionclip.indexing.report import IndexReport
from fashionclip.store.base import IndexInfo, VectorStore


@dataclass
class IndexRun:
    """One run bringing ``store`` in line with ``catalog``: ``items`` are the catalogue's items
    that can be indexed, ``model_key`` the model's part of every content hash, ``stored`` the
    content hash of every stored item (kept up to date batch by batch)."""

    store: VectorStore
    catalog: CatalogData
    items: list[CatalogItem]
    model_key: str
    stored: dict[str, str]
    report: IndexReport
    started: float

    @classmethod
    def begin(
        cls, store: VectorStore, info: IndexInfo, catalog: CatalogData, *, ids: Sequence[str] | None = None
    ) -> IndexRun:
        """Claim ``store`` for the model of ``info`` (ModelMismatchError if it holds another
        model's vectors) and read what it holds (of ``ids`` only, when given: a feed's rows)."""
        started = time.perf_counter()
        store.claim(info)
        model_key = hash_key(store)
        stored = store.hashes(ids)
        numeric = [name for name, kind in store.columns().items() if kind == "numeric"]
        items, problems = typed_items(catalog.items, numeric)
        report = IndexReport(problems=[*catalog.problems, *problems], warnings=list(catalog.warnings))
        return cls(store, catalog, items, model_key, stored, report, started)

    def commit(self, steps: Sequence[Step], vectors: Mapping[str, np.ndarray]) -> None:
        """Write a finished batch in one store call: the embedded steps with their new ``vectors``,
        the rewritten ones with the vector the store holds; then count every step."""
        vectors = dict(vectors)
        rewrite = [step.item.id for step in steps if step.action == REWRITE]
        if rewrite:
            vectors.update((hit.id, hit.vector) for hit in self.store.get(rewrite, with_vectors=True))
        # a rewrite whose stored row vanished since the hashes were read is left for the next run
        done = [step for step in steps if step.action not in (EMBED, REWRITE) or step.item.id in vectors]
        written = [step for step in done if step.action in (EMBED, REWRITE)]
        if written:
            records = build_records(written, vectors)
            self.store.add(records, new=not any(item_id in self.stored for item_id in records.ids))
        self.report.tally(done, self.stored)
        self.stored.update((step.item.id, step.content_hash) for step in written)

    def finish(self, delete_missing: bool, *, optimize: bool = True) -> IndexReport:
        """Drop the items gone from the catalogue (with ``delete_missing``), bring the store's
        indices up to date (unless not ``optimize``: a live update leaves that to the store's
        upkeep), count."""
        if delete_missing:
            self.report.deleted = self.store.delete(deletions(self.stored, self.catalog))
        if optimize:
            self.store.optimize()
        self.report.total = self.store.count()
        self.report.seconds = time.perf_counter() - self.started
        return self.report
