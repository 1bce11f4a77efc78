"""``fashionclip embed``: images or texts -> an .npy or .parquet file of embeddings."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from fashionclip.cli._options import add_precision_options, precision_options
from fashionclip.config import PRECISIONS
from fashionclip.io import is_remote, list_image_files, read_csv_column, write_embeddings
from fashionclip.loading import load_model
from fashionclip.registry import DEFAULT_MODEL

if TYPE_CHECKING:
    from fashionclip.encoder import Encoder


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "embed",
        help="embed images or texts into a .npy / .parquet file",
        description=(
            "Embed images (a folder, files, or a CSV column of paths/URLs) or texts (a .txt file with one "
            "text per line, or a CSV column) and save L2-normalised float32 vectors."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", nargs="+", metavar="PATH", help="an image folder, image files, or one CSV file")
    source.add_argument("--texts", metavar="FILE", help="a .txt file (one text per line) or a CSV file")
    parser.add_argument("-o", "--output", required=True, help="OUT.npy (ids in OUT.ids.txt) or OUT.parquet")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"registry name, HF id or directory (default {DEFAULT_MODEL})"
    )
    parser.add_argument("--column", help="CSV column to read (default: 'image' for --images, 'text' for --texts)")
    parser.add_argument(
        "--id-column", help="CSV column whose values name the rows in the output (default: the image or text itself)"
    )
    parser.add_argument("--batch-size", type=int, default=None, help="batch size (default 32 images / 256 texts)")
    parser.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: cuda if available)")
    # the old spelling of --precision, kept working but no longer shown
    parser.add_argument("--dtype", default=None, help=argparse.SUPPRESS)
    add_precision_options(parser)
    parser.add_argument(
        "--on-error", choices=("raise", "skip"), default="raise", help="what to do with unreadable images"
    )
    parser.add_argument("--no-normalize", action="store_true", help="keep raw (unnormalised) embeddings")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(run=run)


def _image_inputs(paths: list[str], column: str | None) -> list[str]:
    if len(paths) == 1 and not is_remote(paths[0]) and not Path(paths[0]).exists():
        raise FileNotFoundError(f"--images {paths[0]!r} does not exist")
    if len(paths) == 1 and Path(paths[0]).is_dir():
        files = list_image_files(paths[0])
        if not files:
            raise ValueError(f"no image files in {paths[0]!r}")
        return [str(f) for f in files]
    if len(paths) == 1 and paths[0].lower().endswith(".csv"):
        base = Path(paths[0]).parent
        values = read_csv_column(paths[0], column or "image")
        # relative paths in a catalogue file are relative to that file
        return [v if is_remote(v) or Path(v).is_absolute() else str(base / v) for v in values]
    return paths


def _lines(path: str) -> list[str]:
    """The texts of a .txt file, one a line; blank lines are left out, and said so (row i of the
    output is then not line i: the ids file names each row's text)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    blank = [number for number, line in enumerate(lines, 1) if not line.strip()]
    if blank:
        shown = ", ".join(map(str, blank[:10])) + (", ..." if len(blank) > 10 else "")
        print(f"skipped {len(blank)} blank line(s) of {path} (line {shown})", file=sys.stderr)
    return [line for line in lines if line.strip()]


def _load(args: argparse.Namespace) -> Encoder:
    if args.dtype is None:
        return load_model(args.model, device=args.device, **precision_options(args))
    print(f"--dtype is deprecated; use --precision ({', '.join(PRECISIONS)})", file=sys.stderr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # said once above, in the CLI's words
        return load_model(args.model, device=args.device, dtype=args.dtype, **precision_options(args))


def run(args: argparse.Namespace) -> int:
    if args.batch_size is not None and args.batch_size < 1:
        raise ValueError(f"--batch-size must be positive, got {args.batch_size}")
    if not args.output.endswith((".npy", ".parquet")):
        raise ValueError(f"--output {args.output!r} must end in .npy or .parquet")
    table = args.texts if args.texts else args.images[0] if len(args.images) == 1 else ""
    if args.id_column and not table.lower().endswith(".csv"):
        raise ValueError("--id-column goes with a CSV file of texts or images")
    names = read_csv_column(table, args.id_column) if args.id_column else None
    if args.texts:
        csv_file = args.texts.endswith(".csv")
        texts = read_csv_column(args.texts, args.column or "text") if csv_file else _lines(args.texts)
    else:
        items = _image_inputs(args.images, args.column)
    encoder = _load(args)
    options = dict(normalize=not args.no_normalize, show_progress=not args.no_progress)
    if args.texts:
        vectors, ids = encoder.encode_texts(texts, batch_size=args.batch_size or 256, **options), names or texts
    elif args.on_error == "raise":
        vectors, ids = encoder.encode_images(items, batch_size=args.batch_size or 32, **options), names or items
    else:
        result = encoder.encode_images_report(items, batch_size=args.batch_size or 32, **options)
        for failure in result.failed:
            print(f"skipped image #{failure.index} ({failure.item}): {failure.reason}", file=sys.stderr)
        vectors, ids = result.embeddings, [(names or items)[i] for i in result.indices]
    out = write_embeddings(args.output, [i.replace("\n", " ") for i in ids], vectors)
    print(f"wrote {len(ids)} embeddings of dimension {encoder.embedding_dim} ({encoder.name}) to {out}")
    return 0
