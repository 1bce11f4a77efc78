"""Index a catalogue with Ray Data: images are read, hashed, decoded and preprocessed in CPU tasks,
embedded in an actor pool (one model per actor, loaded once; GPU actors when asked), and the
vectors written to Parquet shards that are then bulk-loaded into the store.

The plan, top to bottom:

1. The driver reads and validates the catalogue with the same reader as the local path (ids,
   image paths, texts, metadata and their problems are therefore identical), and cuts it into
   shards of ``shard_size`` items in file order. A shard's key hashes its items and the model, so
   a re-run over the same catalogue finds the shards it already finished and skips them.
2. Ray Data runs the unfinished shards' items through ``prepare`` (read the image bytes from a
   path, http(s) or s3://; hash them; compare with the store's hashes, so unchanged items are not
   embedded; decode and preprocess) and ``Embedder`` (``encode_pixels`` / ``encode_texts``).
3. The driver collects the rows of each shard and writes it as soon as it is complete, to a
   temporary file renamed into place: a killed job leaves only whole shards behind.
4. The shards are loaded into the store in file order; deleted items are removed as the local
   path does. The shard folder is removed after a successful run (``keep_shards`` keeps it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import warnings
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fashionclip._extras import require
from fashionclip.catalog.reader import CatalogData, CatalogItem, Problem
from fashionclip.config import PreprocessConfig
from fashionclip.errors import ImageLoadError
from fashionclip.io import cache_dir
from fashionclip.preprocess.image import ImageLimits, ImagePreprocessor, read_image_bytes
from fashionclip.search.indexer import IndexReport, embedding_hash, finish_index, hash_key, row_hash, typed_items
from fashionclip.store.base import IndexInfo, Records, VectorStore

log = logging.getLogger(__name__)

# what became of each item in the pipeline
EMBEDDED, UNCHANGED, REWRITE, FAILED = "embedded", "unchanged", "rewrite", "failed"


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide to run.

    - ``address``: ``None`` starts a local Ray instance; ``"auto"`` joins the cluster this machine is
      part of; ``"ray://HOST:10001"`` connects to a remote cluster through Ray Client.
    - ``workers``: embedding actors (one model each); ``gpus_per_worker``: GPUs per actor (0: CPU);
      ``cpus_per_worker``: CPUs each actor reserves and uses for inference (``None``: 1, or less on
      a machine too small to leave CPUs for the preprocessing tasks).
    - ``batch_size``: items per forward pass; ``shard_size``: items per Parquet shard.
    - ``work_dir``: where the driver writes the shards (the vectors stream back to it, so only
      the driver needs this folder); default: a folder under the fashionclip cache keyed by the
      catalogue, model and store.
    """

    address: str | None = None
    workers: int = 1
    gpus_per_worker: float = 0.0
    cpus_per_worker: float | None = None
    batch_size: int = 64
    shard_size: int = 10_000
    work_dir: Path | None = None
    keep_shards: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"workers must be a positive integer, got {self.workers!r}")
        if self.gpus_per_worker < 0:
            raise ValueError(f"gpus_per_worker must not be negative, got {self.gpus_per_worker}")
        if self.cpus_per_worker is not None and self.cpus_per_worker <= 0:
            raise ValueError(f"cpus_per_worker must be positive, got {self.cpus_per_worker}")
        if self.batch_size < 1 or self.shard_size < 1:
            raise ValueError("batch_size and shard_size must be positive")


@dataclass(frozen=True)
class ModelRef:
    """How an actor loads the model: its name (registry name, hub id or folder) and load options."""

    name: str
    options: tuple[tuple[str, Any], ...] = ()


def index_catalog_ray(
    store: VectorStore,
    model: ModelRef,
    encoder_name: str,
    embedding_dim: int,
    preprocess: PreprocessConfig,
    catalog: CatalogData,
    options: RayOptions = RayOptions(),
    *,
    delete_missing: bool = True,
    limits: ImageLimits = ImageLimits(),
    store_key: str = "",
    checkpoint: str = "",
) -> IndexReport:
    """Bring ``store`` in line with ``catalog`` as :func:`fashionclip.search.indexer.index_catalog`
    does, with the embedding done by Ray Data (see the module docstring)."""
    # Ray Data logs every execution step at INFO on the console; warnings and errors are what matter
    os.environ.setdefault("RAY_DATA_LOG_LEVEL", "WARNING")
    ray = require("ray", "ray", feature="indexing with --engine ray")
    started = time.perf_counter()
    store.claim(IndexInfo(encoder_name, embedding_dim, checkpoint))
    encoder_name = hash_key(store)  # the recorded name: see hash_key
    stored = store.hashes()
    report = IndexReport(problems=list(catalog.problems), warnings=list(catalog.warnings))
    numeric = [name for name, kind in store.columns().items() if kind == "numeric"]
    items = typed_items(catalog.items, numeric, report)
    shards = _plan(items, options.shard_size, model, preprocess)
    folder = options.work_dir or cache_dir("ray-shards") / _digest([catalog.source, encoder_name, store_key])[:16]
    folder.mkdir(parents=True, exist_ok=True)
    pending = [s for s in shards if not s.path(folder).exists()]
    log.info("%d shards, %d to embed, in %s", len(shards), len(pending), folder)
    if pending:
        started_here = not ray.is_initialized()
        if started_here:
            _init(ray, options.address)
        try:
            _run(ray, pending, folder, stored, model, encoder_name, preprocess, limits, options)
        finally:
            if started_here:
                ray.shutdown()
    for shard in shards:
        _load(store, shard, folder, report, stored)
    if not options.keep_shards:
        shutil.rmtree(folder, ignore_errors=True)
    return finish_index(store, catalog, stored, report, delete_missing, started)


# ---------------------------------------------------------------------------- planning
@dataclass(frozen=True)
class Shard:
    number: int
    key: str
    items: tuple[CatalogItem, ...]

    def path(self, folder: Path) -> Path:
        return folder / f"shard-{self.number:06d}-{self.key}.parquet"


def _plan(items: Sequence[CatalogItem], size: int, model: ModelRef, preprocess: PreprocessConfig) -> list[Shard]:
    shards = []
    for number, start in enumerate(range(0, len(items), size)):
        chunk = tuple(items[start : start + size])
        rows = [[i.id, i.image, i.text, sorted(i.metadata.items())] for i in chunk]
        key = _digest([model.name, list(model.options), repr(preprocess), rows])[:16]
        shards.append(Shard(number, key, chunk))
    return shards


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, default=str, ensure_ascii=False).encode()).hexdigest()


def _init(ray: Any, address: str | None) -> None:
    # Ray starts its workers with fork+exec, which LanceDB's at-fork hook warns about needlessly
    warnings.filterwarnings("ignore", message="lancedb fork support", category=RuntimeWarning)
    # a small catalogue gives fewer blocks than actors: fine, and not worth a warning
    warnings.filterwarnings("ignore", message="The minimum number of concurrent actors")
    if address is None:
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    else:
        ray.init(address=address, log_to_driver=False, configure_logging=False)


# ---------------------------------------------------------------------------- the pipeline
def prepare(
    batch: dict[str, np.ndarray],
    encoder_name: str,
    preprocess: PreprocessConfig,
    limits: ImageLimits,
) -> dict[str, np.ndarray]:
    """CPU task: read, hash, compare, decode and preprocess a batch of items."""
    preprocessor = ImagePreprocessor(preprocess, limits)
    n = len(batch["id"])
    pixels = np.zeros((n, 3, preprocess.image_size, preprocess.image_size), dtype=np.float32)
    outcomes = [_prepare_one(batch, i, pixels, preprocessor, encoder_name, limits) for i in range(n)]
    return {
        "id": batch["id"],
        "shard": batch["shard"],
        "text": batch["text"],
        "has_image": np.asarray([bool(x) for x in batch["image"]]),
        "status": np.asarray([o[0] for o in outcomes], dtype=object),
        "reason": np.asarray([o[1] for o in outcomes], dtype=object),
        "content_hash": np.asarray([o[2] for o in outcomes], dtype=object),
        "pixels": pixels,
    }


def _prepare_one(
    batch: dict[str, np.ndarray],
    i: int,
    pixels: np.ndarray,
    preprocessor: ImagePreprocessor,
    encoder_name: str,
    limits: ImageLimits,
) -> tuple[str, str, str]:
    """(status, problem, content hash) of item ``i``; its pixels go into ``pixels[i]``. The same
    decisions, hashes and problem texts as the local indexer's."""
    image, text = batch["image"][i] or None, str(batch["text"][i])
    try:
        data = read_image_bytes(image, limits) if image else None
    except ImageLoadError as exc:
        return FAILED, f"image {exc.reason}", ""
    new = f"{embedding_hash(data, text, encoder_name)}:{batch['row_hash'][i]}"
    old = str(batch["stored_hash"][i]) or None
    if old == new:
        return UNCHANGED, "", new
    if old is not None and old.split(":")[0] == new.split(":")[0]:
        return REWRITE, "", new
    if data is not None:  # a text-only item needs no pixels: the actor embeds its text
        try:
            pixels[i] = preprocessor(data)
        except ImageLoadError as exc:
            return FAILED, f"image {image}: {exc.reason}", new
    return EMBEDDED, "", new


class Embedder:
    """Actor: loads the model once, then embeds batches (images from pixels, text-only items from text)."""

    def __init__(self, model: ModelRef, threads: int) -> None:
        os.environ["FASHIONCLIP_THREADS"] = str(threads)
        import torch

        torch.set_num_threads(threads)
        from fashionclip.loading import load_model

        self.encoder = load_model(model.name, **dict(model.options))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = len(batch["id"])
        vectors = np.zeros((n, self.encoder.embedding_dim), dtype=np.float32)
        todo = batch["status"] == EMBEDDED
        images = np.flatnonzero(todo & batch["has_image"])
        texts = np.flatnonzero(todo & ~batch["has_image"])
        if len(images):
            vectors[images] = self.encoder.encode_pixels(batch["pixels"][images])
        if len(texts):
            vectors[texts] = self.encoder.encode_texts([str(t) for t in batch["text"][texts]], show_progress=False)
        return {k: batch[k] for k in ("id", "shard", "status", "reason", "content_hash")} | {"vector": vectors}


def _run(
    ray: Any,
    shards: list[Shard],
    folder: Path,
    stored: dict[str, str],
    model: ModelRef,
    encoder_name: str,
    preprocess: PreprocessConfig,
    limits: ImageLimits,
    options: RayOptions,
) -> None:
    # the stored hash travels with its item: no broadcast of every hash of a large index
    rows = [
        {
            "id": i.id,
            "image": i.image or "",
            "text": i.text,
            "row_hash": row_hash(i),
            "stored_hash": stored.get(i.id, ""),
            "shard": s.number,
        }
        for s in shards
        for i in s.items
    ]
    cpus = options.cpus_per_worker or min(1.0, ray.cluster_resources().get("CPU", 1.0) / (options.workers + 1))
    # enough blocks for every actor to have work, few enough that per-block overhead stays small
    blocks = max(options.workers * 4, len(rows) // (4 * options.batch_size))
    dataset = ray.data.from_items(rows, override_num_blocks=max(1, min(len(rows), blocks, 2000)))
    prepared = dataset.map_batches(
        prepare,
        batch_size=options.batch_size,
        batch_format="numpy",
        fn_kwargs={"encoder_name": encoder_name, "preprocess": preprocess, "limits": limits},
        num_cpus=0.5,
    )
    embedded = prepared.map_batches(
        Embedder,
        batch_size=options.batch_size,
        batch_format="numpy",
        fn_constructor_kwargs={"model": model, "threads": max(1, round(cpus))},
        compute=ray.data.ActorPoolStrategy(size=options.workers),
        num_cpus=cpus,
        num_gpus=options.gpus_per_worker,
    )
    by_number = {s.number: s for s in shards}
    waiting: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for batch in embedded.iter_batches(batch_size=None, batch_format="numpy"):
        for row in _rows(batch):
            number = int(row["shard"])
            waiting[number].append(row)
            if len(waiting[number]) == len(by_number[number].items):
                _write(by_number[number], waiting.pop(number), folder)
    if waiting:
        raise RuntimeError(f"Ray returned incomplete shards {sorted(waiting)}")


def _rows(batch: dict[str, np.ndarray]) -> Iterator[dict[str, Any]]:
    for i in range(len(batch["id"])):
        yield {name: values[i] for name, values in batch.items()}


def _write(shard: Shard, rows: list[dict[str, Any]], folder: Path) -> None:
    """One shard's rows as Parquet: id, vector, content hash, status, reason, image, text and metadata."""
    pa = require("pyarrow", "ray")
    pq = require("pyarrow.parquet", "ray")
    order = {item.id: n for n, item in enumerate(shard.items)}
    rows = sorted(rows, key=lambda r: order[str(r["id"])])
    items = shard.items
    dim = len(rows[0]["vector"])
    vectors = np.stack([r["vector"] for r in rows]).astype(np.float32)
    columns = {
        "id": pa.array([i.id for i in items], pa.string()),
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dim),
        "content_hash": pa.array([str(r["content_hash"]) for r in rows], pa.string()),
        "status": pa.array([str(r["status"]) for r in rows], pa.string()),
        "reason": pa.array([str(r["reason"]) for r in rows], pa.string()),
        "image": pa.array([i.image for i in items], pa.string()),
        "text": pa.array([i.text for i in items], pa.string()),
        "metadata": pa.array([json.dumps(i.metadata, ensure_ascii=False) for i in items], pa.string()),
    }
    target = shard.path(folder)
    scratch = target.with_suffix(".tmp")
    pq.write_table(pa.table(columns), scratch)
    os.replace(scratch, target)  # a shard file exists only once it is whole


def _load(store: VectorStore, shard: Shard, folder: Path, report: IndexReport, stored: dict[str, str]) -> None:
    pq = require("pyarrow.parquet", "ray")
    table = pq.read_table(shard.path(folder))
    status = table.column("status").to_pylist()
    ids = table.column("id").to_pylist()
    hashes = table.column("content_hash").to_pylist()
    vectors = table.column("vector").combine_chunks().flatten().to_numpy().reshape(len(ids), -1)
    reasons = table.column("reason").to_pylist()
    items = {item.id: item for item in shard.items}
    keep: list[int] = []
    for n, (item_id, state) in enumerate(zip(ids, status, strict=True)):
        if state == UNCHANGED:
            report.unchanged += 1
        elif state == FAILED:
            report.problems.append(Problem(f"item {item_id!r}", reasons[n], item_id))
        else:
            keep.append(n)
    rewrite = [ids[n] for n in keep if status[n] == REWRITE]
    old = {h.id: h.vector for h in store.get(rewrite, with_vectors=True)} if rewrite else {}
    keep = [n for n in keep if status[n] == EMBEDDED or ids[n] in old]
    if not keep:
        return
    chosen = [items[ids[n]] for n in keep]
    names = list(dict.fromkeys(name for item in chosen for name in item.metadata))
    store.add(
        Records(
            ids=[item.id for item in chosen],
            vectors=np.stack([old.get(ids[n], vectors[n]) for n in keep]).astype(np.float32),
            images=[item.image for item in chosen],
            texts=[item.text for item in chosen],
            hashes=[hashes[n] for n in keep],
            metadata={name: [item.metadata.get(name) for item in chosen] for name in names},
            vector_sources=["image" if item.image else "text" for item in chosen],
        ),
        new=not any(item.id in stored for item in chosen),
    )
    for n, item in zip(keep, chosen, strict=True):
        if item.id not in stored:
            report.added += 1
        elif status[n] == REWRITE:
            report.rows_updated += 1
        else:
            report.reembedded += 1
        stored[item.id] = hashes[n]


def model_ref(encoder: Any) -> ModelRef:
    """How Ray actors load the same model as ``encoder``: its registry name when it has one, else
    its source (a hub id or a folder, which must then exist on every node), with the same backend
    and precision."""
    from fashionclip.loading import resolve

    spec = encoder.spec
    try:
        same = resolve(spec.name).spec.source == spec.source
    except Exception:  # a name that no longer resolves: load by source
        same = False
    backend = type(encoder.backend).__name__
    options: dict[str, Any] = {}
    if backend == "OnnxBackend":
        options = {"backend": "onnx", "precision": encoder.backend.precision}
    elif getattr(encoder.backend, "precision", None):
        options = {"backend": "torch", "precision": encoder.backend.precision}
    return ModelRef(spec.name if same else spec.source, tuple(sorted(options.items())))
