"""The local executor: embed a catalogue into a store in this process, batch by batch.

A re-run embeds only items whose embedding hash changed, rewrites rows whose row hash changed,
and deletes items gone from the catalogue (see :mod:`fashionclip.indexing.plan`). Batches are
committed one by one, so a killed run keeps its finished batches and the next run goes on from
there. Updates (:mod:`fashionclip.indexing.update`) run their items through the same loop.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from tqdm.auto import tqdm

from fashionclip.catalog.reader import CatalogData, CatalogItem
from fashionclip.encoder import Encoder
from fashionclip.errors import ImageLoadError
from fashionclip.indexing.hashes import index_info
from fashionclip.indexing.plan import EMBED, Step, plan_item, plan_row
from fashionclip.indexing.report import IndexReport
from fashionclip.indexing.run import IndexRun
from fashionclip.preprocess.image import read_image_bytes
from fashionclip.store.base import VectorStore


def index_catalog_local(
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
    check_batch_size(batch_size)
    run = IndexRun.begin(store, index_info(encoder), catalog)
    embed_run(run, encoder, batch_size=batch_size, show_progress=show_progress)
    return run.finish(delete_missing)


def check_batch_size(batch_size: int) -> None:
    """Raise ValueError unless ``batch_size`` is a positive integer."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")


def embed_run(
    run: IndexRun,
    encoder: Encoder,
    *,
    batch_size: int = 256,
    show_progress: bool | None = None,
    keep_vectors: Collection[str] = frozenset(),
) -> None:
    """Plan, read, embed and commit ``run.items``, ``batch_size`` items per commit.

    ``keep_vectors``: stored items whose image and text did not change (rows of an update that
    gave neither): planned from their stored embedding hash (:func:`plan_row`), so their images
    are not read and nothing of theirs is embedded.
    """
    quiet = not (show_progress if show_progress is not None else len(run.items) >= 1000)

    def kept(item: CatalogItem) -> bool:
        return item.id in keep_vectors and item.id in run.stored

    def read(item: CatalogItem) -> bytes | ImageLoadError | None:
        return None if kept(item) else _read(item)

    with (
        tqdm(total=len(run.items), unit="item", desc="indexing", disable=quiet) as progress,
        ThreadPoolExecutor(max_workers=max(2, encoder.num_workers)) as pool,
    ):
        for start in range(0, len(run.items), batch_size):
            batch = run.items[start : start + batch_size]
            steps = [
                plan_row(item, run.stored[item.id])
                if kept(item)
                else plan_item(item, data, run.stored.get(item.id), run.model_key)
                for item, data in zip(batch, pool.map(read, batch), strict=True)
            ]
            run.commit(*_embed(encoder, steps))
            progress.update(len(batch))


def _read(item: CatalogItem) -> bytes | ImageLoadError | None:
    if not item.image:
        return None
    try:
        return read_image_bytes(item.image)
    except ImageLoadError as exc:
        return exc


def _embed(encoder: Encoder, steps: Sequence[Step]) -> tuple[list[Step], dict[str, np.ndarray]]:
    """The vectors of the steps to embed, by item id; a step whose image does not decode comes
    back failed."""
    vectors: dict[str, np.ndarray] = {}
    failures: dict[str, str] = {}
    with_image = [step for step in steps if step.action == EMBED and step.image is not None]
    if with_image:
        result = encoder.encode_images_report([step.image for step in with_image], show_progress=False)
        for row, position in enumerate(result.indices):
            vectors[with_image[position].item.id] = result.embeddings[row]
        failures = {with_image[failure.index].item.id: failure.reason for failure in result.failed}
    text_only = [step.item for step in steps if step.action == EMBED and step.image is None]
    if text_only:
        texts = encoder.encode_texts([item.text for item in text_only], show_progress=False)
        vectors.update((item.id, vector) for item, vector in zip(text_only, texts, strict=True))
    return [step.undecodable(failures[step.item.id]) if step.item.id in failures else step for step in steps], vectors
