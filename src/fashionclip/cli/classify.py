"""``fashionclip classify``: zero-shot labels or a taxonomy of attributes for a catalogue or images."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from fashionclip.catalog import read_catalog
from fashionclip.errors import ClassificationError
from fashionclip.indexing.hashes import index_info
from fashionclip.io import is_remote
from fashionclip.loading import load_model
from fashionclip.registry import DEFAULT_MODEL
from fashionclip.store.base import same_model
from fashionclip.zeroshot.languages import LANGUAGES, check_language
from fashionclip.zeroshot.taxonomy import Attribute, Tagger, Taxonomy

_FORMATS = (".csv", ".parquet")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "classify",
        help="zero-shot labels or taxonomy attributes for a catalogue or images, to .csv / .parquet",
        description=(
            "Classify every image of a catalogue file (.csv/.jsonl/.parquet), an image folder or image files "
            "into --labels, or tag it with every attribute of a --taxonomy YAML file, and write one row per "
            "item with each attribute's labels and scores ('|' between several)."
        ),
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        help="a catalogue file, an image folder, or image files (none with --db: the index's items)",
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--labels", help="comma-separated labels, e.g. 'dress,shirt,jeans'")
    what.add_argument("--taxonomy", help="a YAML taxonomy of attributes (see the README)")
    parser.add_argument("-o", "--output", help="OUT.csv or OUT.parquet")
    parser.add_argument(
        "--db",
        help="a search index: write the tags into it as metadata columns (filterable); without inputs, "
        "classify the items already indexed, from their stored vectors",
    )
    parser.add_argument("--name", default="label", help="the column name for --labels (default 'label')")
    parser.add_argument(
        "--prefix",
        default="",
        help="--db: put this before every tag column's name (e.g. 'tag_'), so tags never "
        "meet the catalogue's own columns",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="--db: allow replacing a catalogue column's values with tags (refused otherwise)",
    )
    parser.add_argument("--model", default=None, help=f"model (default: the index's model, else {DEFAULT_MODEL})")
    parser.add_argument("-k", "--k", type=int, default=1, help="labels kept per attribute (default 1)")
    parser.add_argument("--multi-label", action="store_true", help="--labels: each label on its own, at --threshold")
    parser.add_argument("--threshold", type=float, default=0.5, help="--multi-label threshold (default 0.5)")
    parser.add_argument("--templates", default=None, help="'fashion' (the bundled ensemble), a file, or one template")
    parser.add_argument(
        "--language",
        type=_language,
        default=None,
        metavar="{" + ",".join(("auto", *LANGUAGES)) + "}",
        help="--labels: the labels' language (its bundled templates); --taxonomy: prompt with the "
        "attributes' names in it where the file gives them (default auto: the labels' script, or "
        "the file's language)",
    )
    parser.add_argument("--batch-size", type=int, default=32, help="images per batch (default 32)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.output and not args.db:
        raise ClassificationError("give -o OUT.csv|OUT.parquet, --db PATH, or both")
    if args.output and not args.output.endswith(_FORMATS):
        raise ClassificationError(f"--output {args.output!r} must end in {' or '.join(_FORMATS)}")
    if args.k < 1:
        raise ClassificationError(f"--k must be a positive integer, got {args.k}")
    if not args.inputs and not args.db:
        raise ClassificationError("give a catalogue, an image folder or image files (or --db to tag an index)")
    taxonomy = _taxonomy(args)
    store = _store(args.db) if args.db else None
    model = args.model or (store.info().model if store is not None else DEFAULT_MODEL)
    stored = store.info().model if store is not None else model
    mismatch = f"--model {model!r}: the index at {args.db!r} holds {stored!r} vectors"
    if model != stored and not Path(model).expanduser().is_dir() and not Path(stored).is_dir():
        raise ClassificationError(mismatch)  # two registry or hub names: no need to load either
    encoder = load_model(model)
    if store is not None and not same_model(store.info(), index_info(encoder)):  # folders: their content decides
        raise ClassificationError(mismatch)
    tagger = Tagger(encoder, taxonomy, language=args.language)
    if args.inputs:
        ids, images = _items(args.inputs)
        result = encoder.encode_images_report(images, batch_size=args.batch_size, show_progress=not args.no_progress)
        for failure in result.failed:
            print(f"skipped {ids[failure.index]} ({failure.item}): {failure.reason}", file=sys.stderr)
        done, vectors = [(ids[i], images[i]) for i in result.indices], result.embeddings
        total = len(ids)
    else:
        hits = store.get(list(store.hashes()), with_vectors=True)  # type: ignore[union-attr]
        done, vectors = [(h.id, h.image or "") for h in hits], np.stack([h.vector for h in hits]) if hits else None
        total = len(hits)
    tags = tagger.tag_embeddings(vectors, k=args.k) if done else []
    rows = []
    for (item_id, image), item_tags in zip(done, tags, strict=True):
        row = {"id": item_id, "image": image}
        for attribute in taxonomy.attributes:
            found = item_tags[attribute.name]
            row[attribute.name] = "|".join(p.label for p in found)
            row[f"{attribute.name}_score"] = "|".join(f"{p.score:.4f}" for p in found)
        rows.append(row)
    if args.output:
        names = [c for a in taxonomy.attributes for c in (a.name, f"{a.name}_score")]
        _write(rows, ["id", "image", *names], args.output)
        print(f"classified {len(rows)} of {total} items into {args.output}")
    if store is not None and rows:
        columns = {args.prefix + a.name: [r[a.name] for r in rows] for a in taxonomy.attributes}
        written = store.set_text_metadata([r["id"] for r in rows], columns, overwrite=args.overwrite)
        print(f"wrote {', '.join(columns)} for {written} items into {args.db} (filter with --where)")
    return 0 if rows or not total else 1


def _store(db: str):
    from fashionclip.store.uri import exists, open_store

    store = open_store(db) if exists(db) else None  # opening a missing one would create it
    if store is None or store.info() is None:
        raise ClassificationError(f"--db {db!r}: no index there (build one with `fashionclip index`)")
    return store


def _taxonomy(args: argparse.Namespace) -> Taxonomy:
    if args.taxonomy:
        return Taxonomy.load(args.taxonomy)
    labels = [label.strip() for label in args.labels.split(",") if label.strip()]
    attribute = Attribute(
        args.name, labels, multi_label=args.multi_label, thresholds=args.threshold, templates=args.templates
    )
    return Taxonomy([attribute], language=args.language)  # a label list is in the language named


def _language(value: str) -> str | None:
    """A known language code, None for auto; the refusal quotes the value shortened."""
    try:
        return check_language(value)
    except ClassificationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _items(inputs: list[str]) -> tuple[list[str], list[str]]:
    """Ids and image references: a catalogue's rows with an image, or the image files given."""
    if len(inputs) == 1 and (Path(inputs[0]).is_dir() or inputs[0].lower().endswith((".csv", ".jsonl", ".parquet"))):
        data = read_catalog(inputs[0])
        for warning in data.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for problem in data.problems:
            print(f"skipped {problem.item}: {problem.reason}", file=sys.stderr)
        items = [item for item in data.items if item.image]
        return [item.id for item in items], [str(item.image) for item in items]
    missing = [p for p in inputs if not is_remote(p) and not Path(p).is_file()]
    if missing:
        raise ClassificationError(f"no such image file: {missing[0]!r}")
    return [p if is_remote(p) else Path(p).stem for p in inputs], list(inputs)


def _write(rows: list[dict], columns: list[str], output: str) -> None:
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    if output.endswith(".parquet"):
        from fashionclip._extras import require

        pa = require("pyarrow", "parquet")
        import pyarrow.parquet as pq

        pq.write_table(pa.table({c: [r[c] for r in rows] for c in columns}), output)
        return
    with open(output, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
