"""``fashionclip navigate``: from a product, step along a text direction and show the nearest products."""

from __future__ import annotations

import argparse
import json

from fashionclip.cli.search import SHOWN_COLUMNS, format_table, open_index


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "navigate",
        help="from a product, move along a text direction ('darker', 'more formal') step by step",
        description=(
            "Latent navigation: start at an indexed product's embedding, move it along the direction of a "
            "text (minus --away), and print the nearest products at each step."
        ),
    )
    parser.add_argument("id", help="the indexed product to start from")
    parser.add_argument("toward", help='the direction, e.g. "darker" or "more formal"')
    parser.add_argument(
        "--db", required=True, help="index: a directory, milvus-lite:FILE.db or milvus://HOST:PORT/COLL"
    )
    parser.add_argument("--away", help='the opposite, subtracted from the direction, e.g. "lighter"')
    parser.add_argument("--steps", type=int, default=5, help="number of steps (default 5)")
    parser.add_argument("--step-size", type=float, default=0.25, help="length of a step (default 0.25)")
    parser.add_argument("-k", "--k", type=int, default=3, help="products per step (default 3)")
    parser.add_argument("--where", action="append", metavar="FILTER", help="metadata filter, as in search")
    parser.add_argument("--repeat", action="store_true", help="allow a product at several steps")
    parser.add_argument("--json", action="store_true", help="print JSON lines (step, hit) instead of tables")
    parser.add_argument("--model", default=None, help="query model (default: the index's model)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    catalog = open_index(args.db, args.model)
    path = catalog.navigate(
        args.id,
        args.toward,
        away=args.away,
        steps=args.steps,
        step_size=args.step_size,
        k=args.k,
        where=args.where,
        distinct=not args.repeat,
    )
    columns = list(catalog.store.columns())[:SHOWN_COLUMNS]
    for step, hits in enumerate(path, start=1):
        if args.json:
            for hit in hits:
                print(json.dumps({"step": step, **hit.to_dict()}, ensure_ascii=False, default=str))
            continue
        print(f"step {step}: {step * args.step_size:.2f} toward {args.toward!r}")
        print(format_table(hits, columns))
    return 0
