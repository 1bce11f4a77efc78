"""``fashionclip demo``: embed the bundled sample catalogue, search it by text, classify it zero-shot."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from fashionclip.encoder import Encoder
from fashionclip.errors import ModelNotAvailableError
from fashionclip.loading import load_model
from fashionclip.registry import BUNDLED_MODEL, DEFAULT_MODEL
from fashionclip.sample import sample_catalog

QUERIES = ("a blue denim jeans", "black leather handbag", "white sports shoes", "a red dress for women")
CATEGORY_LABELS = ("t-shirt", "shirt", "jeans", "dress", "shoes", "handbag", "watch", "sunglasses")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="embed, search and classify the bundled sample catalogue",
        description=(
            "Offline demo on the 120-product sample catalogue shipped with the package: embeds every "
            "photo, runs text searches and a zero-shot classification, and prints the results."
        ),
    )
    parser.add_argument(
        "--model",
        default=BUNDLED_MODEL,
        help=f"model to use (default {BUNDLED_MODEL}, bundled with the package; e.g. {DEFAULT_MODEL} from the hub)",
    )
    parser.add_argument("--top-k", type=int, default=3, help="results per query (default 3)")
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
    if args.top_k < 1:
        raise ValueError(f"--top-k must be positive, got {args.top_k}")
    root, rows = sample_catalog()
    encoder = _encoder(args.model, not args.no_fallback)
    print(f"model: {encoder.name}, embedding dim {encoder.embedding_dim}, license {encoder.license}")
    images = encoder.encode_images([root / row["image"] for row in rows], show_progress=True)
    print(f"embedded {len(rows)} product photos from {root}\n")

    print("Text search")
    scores = encoder.similarity(encoder.encode_texts(list(QUERIES)), images, scale=False)  # (Q, N)
    for query, row_scores in zip(QUERIES, scores, strict=True):
        print(f'  "{query}"')
        for rank, index in enumerate(np.argsort(-row_scores)[: args.top_k], start=1):
            row = rows[index]
            print(f"    {rank}. {row['id']:>6}  {row_scores[index]:.3f}  {row['title']}")

    template = encoder.spec.prompt_template
    prompts = [template.format(label) for label in CATEGORY_LABELS]
    probabilities = _softmax(encoder.similarity(images, encoder.encode_texts(prompts)))  # (N, L)
    print(f"\nZero-shot classification (template {template!r})")
    for index in range(0, len(rows), len(rows) // 8):
        best = int(np.argmax(probabilities[index]))
        row = rows[index]
        print(
            f"  {row['id']:>6}  {CATEGORY_LABELS[best]:<10} p={probabilities[index, best]:.2f}  "
            f"(catalogue: {row['articleType']})  {row['title']}"
        )
    return 0


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
