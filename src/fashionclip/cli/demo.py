"""``fashionclip demo``: index the bundled sample catalogue, search it, classify it zero-shot."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from fashionclip.encoder import Encoder
from fashionclip.errors import ModelNotAvailableError
from fashionclip.explain import explain
from fashionclip.loading import load_model
from fashionclip.registry import BUNDLED_MODEL, DEFAULT_MODEL
from fashionclip.sample import sample_catalog
from fashionclip.zeroshot import ZeroShotClassifier

QUERIES = ("a blue denim jeans", "black leather handbag", "white sports shoes", "a red dress for women")
CATEGORY_LABELS = ("t-shirt", "shirt", "jeans", "dress", "shoes", "handbag", "watch", "sunglasses")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="index, search and classify the bundled sample catalogue",
        description=(
            "Offline demo on the 120-product sample catalogue shipped with the package: indexes every "
            "photo into a LanceDB index, runs text, filtered, more-like-this and keyword searches and a "
            "zero-shot classification, and prints the results."
        ),
    )
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"model to use (default {DEFAULT_MODEL}, bundled; fashion-clip is FashionCLIP, from the hub)",
    )
    parser.add_argument("--top-k", type=int, default=3, help="results per query (default 3)")
    parser.add_argument("--db", help="keep the index in this directory (default: a temporary one)")
    parser.add_argument("--heatmap", metavar="PNG", help="also write where 'handbag' is in the top handbag's photo")
    parser.add_argument(
        "--serve", action="store_true", help="then serve the search page over the demo's index (Ctrl-C stops)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port of the search page with --serve (8000)")
    parser.add_argument(
        "--no-fallback",
        action="store_true",
        help=f"fail instead of falling back to the bundled {BUNDLED_MODEL} when the model cannot be loaded",
    )
    parser.set_defaults(run=run)


def _encoder(name: str, fallback: bool) -> Encoder:
    try:
        return load_model(name)
    except ModelNotAvailableError as exc:
        if not fallback or name == BUNDLED_MODEL:
            raise
        print(f"note: {exc}", file=sys.stderr)
        print(f"note: falling back to the bundled {BUNDLED_MODEL} model, which needs no download.", file=sys.stderr)
        return load_model(BUNDLED_MODEL)


def run(args: argparse.Namespace) -> int:
    from fashionclip.search import Catalog

    if args.top_k < 1:
        raise ValueError(f"--top-k must be positive, got {args.top_k}")
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be in 1..65535, got {args.port}")
    root, rows = sample_catalog()
    encoder = _encoder(args.model, not args.no_fallback)
    print(f"model: {encoder.name}, embedding dim {encoder.embedding_dim}, license {encoder.license}")
    scratch = tempfile.mkdtemp(prefix="fashionclip-demo-")
    try:
        db = Path(args.db) if args.db else Path(scratch) / "sample.lance"
        catalog = Catalog.open(db, model=encoder)
        report = catalog.index(root / "catalog.csv", show_progress=True)
        print(f"indexed {len(rows)} product photos from {root} into {db}: {report.summary()}\n")
        first = _searches(catalog, args.top_k)
        images = np.stack([hit.vector for hit in catalog.store.get([r["id"] for r in rows], with_vectors=True)])
        _classify(encoder, images, rows)
        if args.heatmap:
            photo = root / next(row["image"] for row in rows if str(row["id"]) == first.id)
            heatmap = explain(encoder, photo, "handbag")
            heatmap.save(args.heatmap, photo)
            print(f"\nWhere is 'handbag' in {first.id}: peak at {heatmap.peak} ({heatmap.method}) -> {args.heatmap}")
        if args.serve:
            from fashionclip.cli.serve import serve_catalog
            from fashionclip.server import ServerConfig

            print(f"\nsearch page: http://127.0.0.1:{args.port}/  (API docs at /docs; Ctrl-C stops)")
            serve_catalog(catalog, ServerConfig(), "127.0.0.1", args.port)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _searches(catalog: Any, k: int) -> Any:
    """Print the demo's searches; returns the top handbag."""
    print("Text search")
    for query in QUERIES:
        _show(f'"{query}"', catalog.search(query, k=k))
    print("\nFiltered search (inside the database)")
    _show('"shoes", gender=Women', catalog.search("shoes", where={"gender": "Women"}, k=k))
    first = catalog.search("black leather handbag", k=1)[0]
    print("\nMore like this")
    _show(f"like {first.id} ({first.text})", catalog.search(like=first.id, k=k))
    print("\nHybrid: keywords (BM25) fused with vectors")
    _show('"jeans", keyword weight 0.5', catalog.search("jeans", keyword_weight=0.5, k=k))
    return first


def _classify(encoder: Encoder, images: np.ndarray, rows: list[dict[str, str]]) -> None:
    classifier = ZeroShotClassifier(encoder, CATEGORY_LABELS)
    predictions = classifier.predict_embeddings(images)
    print(f"\nZero-shot classification (template {classifier.templates[0]!r})")
    for index in range(0, len(rows), len(rows) // 8):
        best, row = predictions[index][0], rows[index]
        print(
            f"  {row['id']:>6}  {best.label:<10} p={best.score:.2f}  (catalogue: {row['articleType']})  {row['title']}"
        )


def _show(title: str, hits: list) -> None:
    print(f"  {title}")
    for rank, hit in enumerate(hits, start=1):
        kind = f"{hit.metadata.get('articleType', '')}/{hit.metadata.get('baseColour', '')}"
        print(f"    {rank}. {hit.id:>6}  {hit.score:.3f}  {kind:<24} {hit.text}")
