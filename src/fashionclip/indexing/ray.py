"""Index a catalogue with Ray Data: images are read, hashed, decoded and preprocessed in CPU tasks,
embedded in an actor pool (one model per actor, loaded once; GPU actors when asked), and the
vectors written to Parquet shards that are then bulk-loaded into the store.

The plan, top to bottom:

1. The driver reads and validates the catalogue with the same reader as the local executor
   (ids, image paths, texts, metadata and their problems are therefore identical), and cuts it into
   shards of ``shard_size`` items in file order. A shard's key hashes its items and the model, so
   a re-run over the same catalogue finds the shards it already finished and skips them.
2. Ray Data runs the unfinished shards' items through ``prepare`` (read the image bytes from a
   path, http(s) or s3://; decide what to do with them by the plan of
   :mod:`fashionclip.indexing.plan`, so unchanged items are not embedded; decode and preprocess)
   and ``Embedder`` (``encode_pixels`` / ``encode_texts``).
3. The driver collects the rows of each shard and writes it as soon as it is complete, to a
   temporary file renamed into place: a killed job leaves only whole shards behind.
4. The shards are loaded into the store in file order, committed and counted by the same code
   as the local executor's batches (:class:`fashionclip.indexing.run.IndexRun`); deleted items
   are removed as there. The shard folder is removed after a successful run (``keep_shards`` keeps it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import warnings
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fashionclip._extras import require
from fashionclip.catalog.reader import CatalogData, CatalogItem
from fashionclip.config import PreprocessConfig
from fashionclip.encoder import Encoder
from fashionclip.errors import ImageLoadError
from fashionclip.indexing.hashes import index_info, row_hash
from fashionclip.indexing.plan import EMBED, FAILED, Step, decide, undecodable
from fashionclip.indexing.report import IndexReport
from fashionclip.indexing.run import IndexRun
from fashionclip.io import cache_dir
from fashionclip.preprocess.image import ImageLimits, ImagePreprocessor, read_image_bytes
from fashionclip.store.base import IndexInfo, VectorStore

log = logging.getLogger(__name__)

# starts of a local Ray cluster tried before giving up (see _init)
LOCAL_START_ATTEMPTS = 2


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
    """The driver's model, as the Ray executor needs it: how an actor loads it (its ``name``: a
    registry name, hub id or folder, and load ``options``), what the index records of it
    (``info``), and how the CPU tasks preprocess images for it. Build it with :meth:`of`."""

    name: str
    info: IndexInfo
    preprocess: PreprocessConfig
    options: tuple[tuple[str, Any], ...] = ()
    limits: ImageLimits = ImageLimits()

    @classmethod
    def of(cls, encoder: Encoder) -> ModelRef:
        """How Ray actors load the same model as ``encoder``: its registry name when it has one,
        else its source (a hub id or a folder, which must then exist on every node), with the
        same backend and precision."""
        from fashionclip.loading import resolve

        spec = encoder.spec
        try:
            same = resolve(spec.name).spec.source == spec.source
        except Exception:  # a name that no longer resolves: load by source
            same = False
        return cls(
            spec.name if same else spec.source,
            index_info(encoder),
            encoder.preprocess,
            tuple(sorted(encoder.load_options.items())),
            encoder.image_preprocessor.limits,
        )


def index_catalog_ray(
    store: VectorStore,
    model: ModelRef,
    catalog: CatalogData,
    options: RayOptions = RayOptions(),
    *,
    delete_missing: bool = True,
) -> IndexReport:
    """Bring ``store`` in line with ``catalog`` as :func:`fashionclip.indexing.local.index_catalog_local`
    does, with the embedding done by Ray Data (see the module docstring)."""
    # Ray Data logs every execution step at INFO on the console; warnings and errors are what matter
    os.environ.setdefault("RAY_DATA_LOG_LEVEL", "WARNING")
    ray = require("ray", "ray", feature="indexing with --engine ray")
    run = IndexRun.begin(store, model.info, catalog)
    shards = _shards(run.items, options.shard_size, model)
    key = _digest([catalog.source, run.model_key, store.location])[:16]
    folder = options.work_dir or cache_dir("ray-shards") / key
    folder.mkdir(parents=True, exist_ok=True)
    pending = [s for s in shards if not s.path(folder).exists()]
    log.info("%d shards, %d to embed, in %s", len(shards), len(pending), folder)
    if pending:
        started_here = not ray.is_initialized()
        if started_here:
            _init(ray, options.address)
        try:
            _run(ray, pending, folder, run.stored, model, run.model_key, options)
        finally:
            if started_here:
                ray.shutdown()
    for shard in shards:
        _load(run, shard, folder)
    if not options.keep_shards:
        shutil.rmtree(folder, ignore_errors=True)
    return run.finish(delete_missing)


# ---------------------------------------------------------------------------- shards
@dataclass(frozen=True)
class Shard:
    number: int
    key: str
    items: tuple[CatalogItem, ...]

    def path(self, folder: Path) -> Path:
        return folder / f"shard-{self.number:06d}-{self.key}.parquet"


def _shards(items: Sequence[CatalogItem], size: int, model: ModelRef) -> list[Shard]:
    shards = []
    for number, start in enumerate(range(0, len(items), size)):
        chunk = tuple(items[start : start + size])
        rows = [[i.id, i.image, i.text, sorted(i.metadata.items())] for i in chunk]
        key = _digest([model.name, list(model.options), repr(model.preprocess), rows])[:16]
        shards.append(Shard(number, key, chunk))
    return shards


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, default=str, ensure_ascii=False).encode()).hexdigest()


def _init(ray: Any, address: str | None) -> None:
    # Ray starts its workers with fork+exec, which LanceDB's at-fork hook warns about needlessly
    warnings.filterwarnings("ignore", message="lancedb fork support", category=RuntimeWarning)
    # a small catalogue gives fewer blocks than actors: fine, and not worth a warning
    warnings.filterwarnings("ignore", message="The minimum number of concurrent actors")
    if address is not None:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
        return
    # a local cluster's GCS server binds its port after Ray's default 30 s wait on a busy
    # 2-core machine now and then ("Timed out waiting for file ... gcs_server_port"): wait longer
    os.environ.setdefault("RAY_gcs_server_port_wait_time_s", "120")
    for attempt in range(1, LOCAL_START_ATTEMPTS + 1):
        try:
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
            return
        except Exception as error:
            # the raylet's registration wait is a fixed 30 s inside Ray, with no setting; on a
            # loaded machine a second start usually succeeds
            if "timed out during startup" not in str(error):
                raise
            ray.shutdown()
            if attempt == LOCAL_START_ATTEMPTS:
                raise RuntimeError(
                    f"a local Ray cluster did not start in {LOCAL_START_ATTEMPTS} tries ({error}); the machine "
                    "may be overloaded: retry, use --engine local, or start Ray yourself (ray start --head) "
                    "and pass --address auto"
                ) from error
            log.warning("a local Ray cluster timed out during startup (%s); starting it again", error)


# ---------------------------------------------------------------------------- the pipeline
def prepare(
    batch: dict[str, np.ndarray],
    model_key: str,
    preprocess: PreprocessConfig,
    limits: ImageLimits,
) -> dict[str, np.ndarray]:
    """CPU task: read, plan, decode and preprocess a batch of items."""
    preprocessor = ImagePreprocessor(preprocess, limits)
    n = len(batch["id"])
    pixels = np.zeros((n, 3, preprocess.image_size, preprocess.image_size), dtype=np.float32)
    outcomes = [_prepare_one(batch, i, pixels, preprocessor, model_key, limits) for i in range(n)]
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
    model_key: str,
    limits: ImageLimits,
) -> tuple[str, str, str]:
    """(action, problem, content hash) of item ``i`` by the plan's :func:`decide`; its pixels go
    into ``pixels[i]``."""
    image, text = batch["image"][i] or None, str(batch["text"][i])
    data: bytes | ImageLoadError | None
    try:
        data = read_image_bytes(image, limits) if image else None
    except ImageLoadError as exc:
        data = exc
    decision = decide(data, text, str(batch["row_hash"][i]), str(batch["stored_hash"][i]) or None, model_key)
    # a text-only item needs no pixels: the actor embeds its text
    if decision.action == EMBED and isinstance(data, bytes):
        try:
            pixels[i] = preprocessor(data)
        except ImageLoadError as exc:
            return FAILED, undecodable(image, exc.reason), decision.content_hash
    return decision.action, decision.reason, decision.content_hash


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
        todo = batch["status"] == EMBED
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
    model_key: str,
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
        fn_kwargs={"model_key": model_key, "preprocess": model.preprocess, "limits": model.limits},
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


def _load(run: IndexRun, shard: Shard, folder: Path) -> None:
    """Commit a shard's rows as one batch of the run."""
    pq = require("pyarrow.parquet", "ray")
    table = pq.read_table(shard.path(folder))
    ids = table.column("id").to_pylist()
    status = table.column("status").to_pylist()
    vectors = table.column("vector").combine_chunks().flatten().to_numpy().reshape(len(ids), -1)
    items = {item.id: item for item in shard.items}
    steps = [
        Step(items[item_id], action, content, reason)
        for item_id, action, content, reason in zip(
            ids, status, table.column("content_hash").to_pylist(), table.column("reason").to_pylist(), strict=True
        )
    ]
    run.commit(steps, {ids[n]: vectors[n] for n, action in enumerate(status) if action == EMBED})
