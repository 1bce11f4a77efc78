"""Bringing a vector store in line with a catalogue: one plan (:mod:`~fashionclip.indexing.plan`),
carried out here (:mod:`~fashionclip.indexing.local`) or with Ray Data (:mod:`~fashionclip.indexing.ray`)."""

from __future__ import annotations

from fashionclip.catalog.reader import CatalogData
from fashionclip.encoder import Encoder
from fashionclip.indexing.hashes import embedding_hash, hash_key, index_info, row_hash
from fashionclip.indexing.local import index_catalog_local
from fashionclip.indexing.ray import ModelRef, RayOptions, index_catalog_ray
from fashionclip.indexing.report import IndexReport
from fashionclip.indexing.update import Feed, feed_of, update_catalog
from fashionclip.store.base import VectorStore

ENGINES = ("local", "ray")


def check_engine(engine: str) -> None:
    """Raise ValueError for an engine that is not one of :data:`ENGINES`."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")


def index_catalog(
    store: VectorStore,
    encoder: Encoder,
    catalog: CatalogData,
    *,
    engine: str = "local",
    ray: RayOptions | None = None,
    batch_size: int = 256,
    delete_missing: bool = True,
    show_progress: bool | None = None,
) -> IndexReport:
    """Bring ``store`` in line with ``catalog``: embed new and changed items, rewrite rows whose
    metadata changed, drop removed items (unless not ``delete_missing``).

    ``engine="local"`` embeds here, ``batch_size`` items per committed batch; ``engine="ray"``
    embeds with Ray Data (``ray``: the cluster address, workers and GPUs; by default a local Ray
    instance with batches of ``min(batch_size, 256)``). The result is the same index. Unreadable
    images are reported in ``problems`` and skipped; an item indexed before keeps its entry.
    Raises ModelMismatchError when the store holds another model's vectors.
    """
    check_engine(engine)
    if engine == "ray":
        options = ray or RayOptions(batch_size=min(batch_size, 256))
        return index_catalog_ray(store, ModelRef.of(encoder), catalog, options, delete_missing=delete_missing)
    return index_catalog_local(
        store, encoder, catalog, batch_size=batch_size, delete_missing=delete_missing, show_progress=show_progress
    )


__all__ = [
    "ENGINES",
    "Feed",
    "IndexReport",
    "ModelRef",
    "RayOptions",
    "check_engine",
    "embedding_hash",
    "feed_of",
    "hash_key",
    "index_catalog",
    "index_catalog_local",
    "index_catalog_ray",
    "index_info",
    "row_hash",
    "update_catalog",
]
