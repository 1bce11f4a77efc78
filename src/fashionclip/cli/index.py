"""``fashionclip index``: a catalogue file or folder -> a persistent index (LanceDB or Milvus), incrementally,
embedded here or on a Ray cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fashionclip.catalog import ColumnMap
from fashionclip.cli._cleanup import removed_on_failure
from fashionclip.cli._options import add_precision_options, precision_options
from fashionclip.registry import DEFAULT_MODEL
from fashionclip.store.uri import local_path

SHOWN_PROBLEMS = 20


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "index",
        help="index a product catalogue into a vector database",
        description=(
            "Embed a catalogue (.csv, .jsonl, .parquet or an image folder) into a LanceDB index at --db. "
            "A re-run embeds only new or changed items and removes deleted ones; a killed run resumes. "
            "--partial applies a feed of changed rows keyed by id (a price or stock file) instead; "
            "--delete removes products by id."
        ),
    )
    parser.add_argument(
        "catalog", nargs="?", help="catalogue file (.csv/.jsonl/.parquet) or image folder (optional with --delete)"
    )
    parser.add_argument(
        "--db",
        required=True,
        help="index: a LanceDB directory (created if missing), milvus-lite:FILE.db or milvus://HOST:PORT/COLLECTION",
    )
    parser.add_argument("--model", default=None, help=f"model (default: the index's model, else {DEFAULT_MODEL})")
    parser.add_argument("--id-column", help="id column (default: id, product_id, sku or item_id)")
    parser.add_argument("--image-column", help="image path/URL column (default: image, image_path, url, ...)")
    parser.add_argument("--text-column", action="append", help="title/caption column(s) (default: title, caption, ...)")
    parser.add_argument("--image-template", help="build image paths from the row, e.g. 'images/{id}.jpg'")
    parser.add_argument("--numeric", action="append", default=[], help="a column that must hold numbers (repeat)")
    parser.add_argument("--root", help="folder relative image paths start from (default: the catalogue's folder)")
    parser.add_argument("--batch-size", type=int, default=256, help="items per committed batch (default 256)")
    parser.add_argument("--keep-missing", action="store_true", help="keep indexed items that left the catalogue")
    live = parser.add_argument_group("updates (a live catalogue)")
    live.add_argument(
        "--partial",
        action="store_true",
        help="the file holds only changed or new rows, keyed by id: the columns it gives replace the stored "
        "values, the others stay, nothing is deleted; a row that gives no image and no new text is rewritten "
        "without reading its image or embedding",
    )
    live.add_argument(
        "--new-columns", action="store_true", help="with --partial: add columns the index does not have yet"
    )
    live.add_argument(
        "--skip-unknown",
        action="store_true",
        help="with --partial: skip (and report) rows for ids not in the index that have no image or text, "
        "instead of refusing the feed",
    )
    live.add_argument(
        "--delete",
        metavar="IDS",
        help="remove these products: id1,id2,... or @FILE with one id per line (after the catalogue, if any)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="stop at the first bad row or warning (no image column found, a column kept as text) instead of "
        "reporting it",
    )
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    add_precision_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    ray = parser.add_argument_group("distributed embedding (Ray Data)")
    ray.add_argument("--engine", choices=("local", "ray"), default="local", help="where to embed (default local)")
    ray.add_argument(
        "--address", help="Ray cluster: 'auto' (this machine's cluster) or ray://HOST:10001 (default: local)"
    )
    ray.add_argument("--workers", type=int, default=1, help="embedding actors, one model each (default 1)")
    ray.add_argument("--gpus-per-worker", type=float, default=0.0, help="GPUs per actor (default 0: CPU)")
    ray.add_argument("--cpus-per-worker", type=float, default=None, help="CPUs per actor (default 1, fewer if scarce)")
    ray.add_argument("--shard-size", type=int, default=10_000, help="items per Parquet shard (default 10000)")
    ray.add_argument("--work-dir", help="folder for the shards, on the driver (default: under the cache)")
    ray.add_argument("--keep-shards", action="store_true", help="keep the Parquet shards after loading them")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from fashionclip.search import Catalog

    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be positive, got {args.batch_size}")
    if args.catalog is None and args.delete is None:
        raise ValueError("give a catalogue file or folder to index, or --delete IDS")
    if (args.new_columns or args.skip_unknown) and not args.partial:
        raise ValueError("--new-columns and --skip-unknown go with --partial")
    if args.partial and (args.catalog is None or args.engine != "local"):
        raise ValueError("--partial applies a catalogue file here: give one, without --engine ray")
    delete = _delete_ids(args.delete) if args.delete is not None else []
    if args.catalog is None:
        return _delete_only(args.db, delete)
    columns = ColumnMap(
        id_column=args.id_column,
        image_column=args.image_column,
        text_columns=args.text_column,
        image_template=args.image_template,
        numeric=args.numeric,
    )
    options = {"device": args.device} if args.device else {}
    options.update(precision_options(args))
    ray_options = None
    if args.engine == "ray":
        from fashionclip.indexing import RayOptions

        ray_options = RayOptions(
            address=args.address,
            workers=args.workers,
            gpus_per_worker=args.gpus_per_worker,
            cpus_per_worker=args.cpus_per_worker,
            batch_size=min(args.batch_size, 256),
            shard_size=args.shard_size,
            work_dir=Path(args.work_dir) if args.work_dir else None,
            keep_shards=args.keep_shards,
        )
    elif args.address or args.work_dir or args.keep_shards:
        raise ValueError("--address, --work-dir and --keep-shards go with --engine ray")
    opened: list[Catalog] = []
    with removed_on_failure(local_path(args.db), empty=lambda: not opened or len(opened[0]) == 0):
        catalog = Catalog.open(args.db, model=args.model, **options)
        opened.append(catalog)
        progress = False if args.no_progress else None
        if args.partial:  # the path of Catalog.update: the feed's rows merged with the stored ones
            report = catalog.update(
                args.catalog,
                columns,
                delete=delete,
                root=args.root,
                new_columns=args.new_columns,
                skip_unknown=args.skip_unknown,
                batch_size=args.batch_size,
                show_progress=progress,
                optimize=True,
            )
        else:
            report = catalog.index(
                args.catalog,
                columns,
                root=args.root,
                batch_size=args.batch_size,
                delete_missing=not args.keep_missing,
                show_progress=progress,
                engine=args.engine,
                ray=ray_options,
                strict=args.strict,
            )
            if delete:
                report.deleted += catalog.delete(delete)
                report.total = len(catalog)
    for warning in report.warnings:
        print(f"warning: {warning} (--strict makes this an error)", file=sys.stderr)
    for problem in report.problems[:SHOWN_PROBLEMS]:
        print(f"skipped: {problem}", file=sys.stderr)
    if len(report.problems) > SHOWN_PROBLEMS:
        print(f"skipped: ... and {len(report.problems) - SHOWN_PROBLEMS} more", file=sys.stderr)
    print(f"{args.db}: {report.summary()} [model {catalog.encoder.name}]")
    return 0


def _delete_ids(value: str) -> list[str]:
    """The ids of ``--delete``: comma-separated, or ``@FILE`` with one id per line."""
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise FileNotFoundError(f"--delete {value!r}: {exc.strerror}") from None
        ids = [line.strip() for line in lines if line.strip()]
    else:
        ids = [part.strip() for part in value.split(",") if part.strip()]
    if not ids:
        raise ValueError(f"--delete {value!r} names no id")
    return ids


def _delete_only(db: str, ids: list[str]) -> int:
    """``--delete`` without a catalogue: no model is loaded."""
    from fashionclip.search import Catalog
    from fashionclip.store.uri import open_store

    catalog = Catalog(open_store(db, create=False))  # never a new, empty index
    deleted = catalog.delete(ids)
    print(f"{db}: {deleted} of {len(ids)} ids deleted, {len(catalog)} items in the index")
    return 0
