"""Embed a catalogue into a store, incrementally and crash-safely.

Each item's ``content_hash`` is ``<embedding hash>:<row hash>``: the first covers
what the vector is made of (image bytes, text, model), the second what the row
shows (image reference and metadata). A re-run embeds only items whose first
part changed, rewrites rows whose second part changed, and deletes items gone
from the catalogue. Batches are committed one by one, so a killed run keeps its
finished batches and the next run goes on from there.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from fashionclip.catalog.reader import NOT_A_NUMBER, CatalogData, CatalogItem, Problem, to_number
from fashionclip.encoder import Encoder
from fashionclip.errors import ImageLoadError
from fashionclip.identity import portable_name
from fashionclip.preprocess.image import read_image_bytes
from fashionclip.store.base import IndexInfo, Records, VectorStore


@dataclass
class IndexReport:
    """What an indexing run did."""

    added: int = 0
    reembedded: int = 0
    rows_updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    total: int = 0
    warnings: list[str] = field(default_factory=list)  # about the catalogue as a whole

    def summary(self) -> str:
        return (
            f"{self.total} items in the index: {self.added} added, {self.reembedded} re-embedded, "
            f"{self.rows_updated} rows updated, {self.unchanged} unchanged, {self.deleted} deleted, "
            f"{len(self.problems)} skipped with problems ({self.seconds:.1f} s)"
        )


def embedding_hash(image: bytes | None, text: str, model: str) -> str:
    """Hash of what an item's vector is made of."""
    digest = hashlib.sha256()
    for part in (model.encode(), image or b"", text.encode()):
        digest.update(len(part).to_bytes(8, "big"))  # length-prefixed: no two inputs collide by concatenation
        digest.update(part)
    return digest.hexdigest()[:32]


def row_hash(item: CatalogItem) -> str:
    """Hash of what an item's row shows besides its vector."""
    payload = json.dumps([item.image, sorted(item.metadata.items())], default=str, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def index_info(encoder: Any) -> IndexInfo:
    """What an index built with ``encoder`` records: a portable name (a local folder's absolute
    path), the dimension and the checkpoint's content key ("" for encoders without a checkpoint)."""
    spec = getattr(encoder, "spec", None)
    name = portable_name(spec) if spec is not None else encoder.name
    return IndexInfo(name, encoder.embedding_dim, getattr(encoder, "checkpoint_id", "") or "")


def hash_key(store: VectorStore) -> str:
    """The model's part of every content hash: the name the index recorded when it was made, so
    the same model by another spelling, or moved, embeds nothing again (the claim has checked
    that it is the same model)."""
    info = store.info()
    return info.model if info is not None else ""


def index_catalog(
    store: VectorStore,
    encoder: Encoder,
    catalog: CatalogData,
    *,
    batch_size: int = 256,
    delete_missing: bool = True,
    show_progress: bool | None = None,
) -> IndexReport:
    """Bring ``store`` in line with ``catalog``: embed new and changed items, drop removed ones.

    Unreadable images are reported in ``problems`` and skipped; an item that was
    indexed before keeps its old entry. Raises ModelMismatchError when the store
    holds another model's vectors.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    start = time.perf_counter()
    store.claim(index_info(encoder))
    model_key = hash_key(store)
    stored = store.hashes()
    report = IndexReport(problems=list(catalog.problems), warnings=list(catalog.warnings))
    numeric = [name for name, kind in store.columns().items() if kind == "numeric"]
    quiet = not (show_progress if show_progress is not None else len(catalog.items) >= 1000)
    with (
        tqdm(total=len(catalog.items), unit="item", desc="indexing", disable=quiet) as progress,
        ThreadPoolExecutor(max_workers=max(2, encoder.num_workers)) as pool,
    ):
        for begin in range(0, len(catalog.items), batch_size):
            batch = catalog.items[begin : begin + batch_size]
            _index_batch(store, encoder, model_key, typed_items(batch, numeric, report), stored, report, pool)
            progress.update(len(batch))
    return finish_index(store, catalog, stored, report, delete_missing, start)


def finish_index(
    store: VectorStore,
    catalog: CatalogData,
    stored: dict[str, str],
    report: IndexReport,
    delete_missing: bool,
    start: float,
) -> IndexReport:
    """The end of every indexing run, local or distributed: drop the items gone from the
    catalogue, bring the store's indices up to date, count."""
    if delete_missing:
        keep = {item.id for item in catalog.items} | {p.id for p in catalog.problems if p.id}
        report.deleted = store.delete([item_id for item_id in stored if item_id not in keep])
    optimize = getattr(store, "optimize", None)
    if optimize is not None:
        optimize()
    report.total = store.count()
    report.seconds = time.perf_counter() - start
    return report


def typed_items(batch: Sequence[CatalogItem], numeric: Sequence[str], report: IndexReport) -> list[CatalogItem]:
    """The items with their values converted to the index's numeric columns; those that do not
    convert become problems (and keep whatever entry they had)."""
    good = []
    for item in batch:
        values = {n: to_number(item.metadata[n]) for n in numeric if isinstance(item.metadata.get(n), str)}
        bad = next((n for n, v in values.items() if v is NOT_A_NUMBER), None)
        if bad is not None:
            reason = f"column {bad!r} holds {item.metadata[bad]!r}, not a number (the index holds numbers there)"
            report.problems.append(Problem(f"item {item.id!r}", reason, item.id))
        else:
            good.append(replace(item, metadata={**item.metadata, **values}) if values else item)
    return good


def _read(item: CatalogItem) -> bytes | ImageLoadError | None:
    if not item.image:
        return None
    try:
        return read_image_bytes(item.image)
    except ImageLoadError as exc:
        return exc


def _index_batch(
    store: VectorStore,
    encoder: Encoder,
    model_key: str,
    batch: Sequence[CatalogItem],
    stored: dict[str, str],
    report: IndexReport,
    pool: ThreadPoolExecutor,
) -> None:
    embed: list[tuple[CatalogItem, bytes | None, str]] = []
    rewrite: list[tuple[CatalogItem, str]] = []
    for item, data in zip(batch, pool.map(_read, batch), strict=True):
        if isinstance(data, ImageLoadError):
            report.problems.append(Problem(f"item {item.id!r}", f"image {data.reason}", item.id))
            continue
        new = f"{embedding_hash(data, item.text, model_key)}:{row_hash(item)}"
        old = stored.get(item.id)
        if old == new:
            report.unchanged += 1
        elif old is not None and old.split(":")[0] == new.split(":")[0]:
            rewrite.append((item, new))
        else:
            embed.append((item, data, new))

    vectors: dict[str, np.ndarray] = {}
    with_image = [(item, data) for item, data, _ in embed if data is not None]
    if with_image:
        result = encoder.encode_images([data for _, data in with_image], on_error="skip", show_progress=False)
        for row, position in enumerate(result.indices):
            vectors[with_image[position][0].id] = result.embeddings[row]
        for failure in result.failed:
            item = with_image[failure.index][0]
            report.problems.append(Problem(f"item {item.id!r}", f"image {item.image}: {failure.reason}", item.id))
    text_only = [item for item, data, _ in embed if data is None]
    if text_only:
        for item, vector in zip(
            text_only, encoder.encode_texts([i.text for i in text_only], show_progress=False), strict=True
        ):
            vectors[item.id] = vector
    if rewrite:
        for hit in store.get([item.id for item, _ in rewrite], with_vectors=True):
            vectors[hit.id] = hit.vector  # type: ignore[assignment]

    rows = {item.id: (item, h) for item, _, h in embed if item.id in vectors}
    rows.update({item.id: (item, h) for item, h in rewrite if item.id in vectors})
    if not rows:
        return
    items = [item for item, _ in rows.values()]
    names = list(dict.fromkeys(name for item in items for name in item.metadata))
    store.add(
        Records(
            ids=list(rows),
            vectors=np.stack([vectors[i] for i in rows]).astype(np.float32),
            images=[item.image for item in items],
            texts=[item.text for item in items],
            hashes=[h for _, h in rows.values()],
            metadata={name: [item.metadata.get(name) for item in items] for name in names},
            vector_sources=["image" if item.image else "text" for item in items],
        ),
        new=not any(item_id in stored for item_id in rows),
    )
    for item_id, (_, new) in rows.items():
        old = stored.get(item_id)
        if old is None:
            report.added += 1
        elif old.split(":")[0] != new.split(":")[0]:
            report.reembedded += 1
        else:
            report.rows_updated += 1
        stored[item_id] = new
