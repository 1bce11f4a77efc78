"""``fashionclip index``: a catalogue file or folder -> a persistent LanceDB index, incrementally."""

from __future__ import annotations

import argparse
import sys

from fashionclip.catalog import ColumnMap
from fashionclip.cli._options import add_precision_options, precision_options

SHOWN_PROBLEMS = 20


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "index",
        help="index a product catalogue into a vector database",
        description=(
            "Embed a catalogue (.csv, .jsonl, .parquet or an image folder) into a LanceDB index at --db. "
            "A re-run embeds only new or changed items and removes deleted ones; a killed run resumes."
        ),
    )
    parser.add_argument("catalog", help="catalogue file (.csv/.jsonl/.parquet) or image folder")
    parser.add_argument(
        "--db",
        required=True,
        help="index: a LanceDB directory (created if missing), milvus-lite:FILE.db or milvus://HOST:PORT/COLLECTION",
    )
    parser.add_argument("--model", default=None, help="model (default: the index's model, else fashion-clip-mini)")
    parser.add_argument("--id-column", help="id column (default: id, product_id, sku or item_id)")
    parser.add_argument("--image-column", help="image path/URL column (default: image, image_path, url, ...)")
    parser.add_argument("--text-column", action="append", help="title/caption column(s) (default: title, caption, ...)")
    parser.add_argument("--image-template", help="build image paths from the row, e.g. 'images/{id}.jpg'")
    parser.add_argument("--numeric", action="append", default=[], help="a column that must hold numbers (repeat)")
    parser.add_argument("--root", help="folder relative image paths start from (default: the catalogue's folder)")
    parser.add_argument("--batch-size", type=int, default=256, help="items per committed batch (default 256)")
    parser.add_argument("--keep-missing", action="store_true", help="keep indexed items that left the catalogue")
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    add_precision_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from fashionclip.search import Catalog

    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be positive, got {args.batch_size}")
    columns = ColumnMap(
        id=args.id_column,
        image=args.image_column,
        text=args.text_column,
        image_template=args.image_template,
        numeric=args.numeric,
    )
    options = {"device": args.device} if args.device else {}
    options.update(precision_options(args))
    catalog = Catalog.open(args.db, model=args.model, **options)
    report = catalog.index(
        args.catalog,
        columns,
        root=args.root,
        batch_size=args.batch_size,
        delete_missing=not args.keep_missing,
        show_progress=False if args.no_progress else None,
    )
    for problem in report.problems[:SHOWN_PROBLEMS]:
        print(f"skipped: {problem}", file=sys.stderr)
    if len(report.problems) > SHOWN_PROBLEMS:
        print(f"skipped: ... and {len(report.problems) - SHOWN_PROBLEMS} more", file=sys.stderr)
    print(f"{args.db}: {report.summary()} [model {catalog.encoder.name}]")
    return 0
