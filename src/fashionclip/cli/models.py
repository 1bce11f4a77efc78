"""``fashionclip models``: the registry as a table (or JSON)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from fashionclip.registry import DEFAULT_MODEL, list_models


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models", help="list the named checkpoints", description="List the named checkpoints of the registry."
    )
    parser.add_argument("--json", action="store_true", help="print the full registry as JSON")
    parser.add_argument(
        "--explain-backend",
        metavar="MODEL",
        help="say which backend and precision MODEL runs with here, and what was measured to choose them",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.explain_backend:
        from fashionclip.loading import backend_choice

        print(f"{args.explain_backend}: {backend_choice(args.explain_backend).explain()}")
        return 0
    specs = list_models()
    if args.json:
        print(json.dumps([asdict(spec) for spec in specs], indent=2))
        return 0
    rows = [("name", "source", "family", "dim", "languages", "license")]
    for spec in specs:
        name = spec.name + (" (default)" if spec.name == DEFAULT_MODEL else "")
        rows.append((name, spec.source, spec.family, str(spec.embedding_dim or "?"), spec.languages, spec.license))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0
