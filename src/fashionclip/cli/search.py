"""``fashionclip search``: query an index by text, image, product id or keywords; print a table or JSON."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from typing import TYPE_CHECKING, Any

from fashionclip.store.base import Hit

if TYPE_CHECKING:
    from fashionclip.search import Catalog

TITLE_WIDTH = 48
SHOWN_COLUMNS = 3


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "search",
        help="search an index by text, image, product id or keywords",
        description=(
            "Search an index built by 'fashionclip index'. Give a text, --image, --like ID, or a text with an "
            "--image ('like this, but in red'). Filters run inside the database."
        ),
    )
    parser.add_argument("text", nargs="?", help='the text query, e.g. "light red midi dress"')
    parser.add_argument(
        "--db", required=True, help="index: a directory, milvus-lite:FILE.db or milvus://HOST:PORT/COLL"
    )
    parser.add_argument("--image", help="an image path or URL to search with")
    parser.add_argument("--like", metavar="ID", help="products like this indexed product")
    parser.add_argument("--image-weight", type=float, default=0.5, help="image share of a text+image query (0.5)")
    parser.add_argument(
        "--where",
        action="append",
        metavar="FILTER",
        help="'column=value', 'column!=value', 'column in a,b', 'column<number' (<, <=, >, >=); repeat to AND",
    )
    parser.add_argument("--keyword-weight", type=float, default=0.0, help="0 vectors only (default) .. 1 BM25 only")
    parser.add_argument("--keyword", action="store_true", help="keyword (BM25) search only; same as --keyword-weight 1")
    parser.add_argument("--diversity", type=float, default=0.0, help="MMR diversity, 0 (default) .. 1")
    parser.add_argument("--dedupe", type=float, default=None, help="drop near-duplicate images above this cosine")
    parser.add_argument("-k", "--k", type=int, default=10, help="number of results (default 10)")
    parser.add_argument("--offset", type=int, default=0, help="skip this many results (paging)")
    parser.add_argument("--show", help="metadata columns to print, comma-separated (default: the first few)")
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    parser.add_argument("--model", default=None, help="query model (default: the index's model)")
    parser.set_defaults(run=run)


def open_index(db: str, model: str | None, **load_options: Any) -> Catalog:
    """The catalogue index at ``db`` for querying; a missing or empty index is an error.
    ``load_options`` go to :func:`fashionclip.load_model` (backend, precision)."""
    from fashionclip.search import Catalog
    from fashionclip.store.uri import check_exists

    check_exists(db)  # opening would create an empty one
    catalog = Catalog.open(db, model=model, **load_options)
    if len(catalog) == 0:
        raise ValueError(f"the index at {db!r} is empty")
    return catalog


def run(args: argparse.Namespace) -> int:
    from fashionclip.cli import remote

    answered = remote.search(args)
    if answered is not None:  # a running `fashionclip serve` of this index answered
        return _print_answer(args, *answered)
    catalog = open_index(args.db, args.model)
    hits = catalog.search(
        args.text,
        image=args.image,
        like=args.like,
        image_weight=args.image_weight,
        where=args.where,
        k=args.k,
        offset=args.offset,
        keyword_weight=1.0 if args.keyword else args.keyword_weight,
        diversity=args.diversity,
        dedupe=args.dedupe,
    )
    if not hits and args.where:
        for hint in filter_hints(catalog.store, args.where):
            print(hint, file=sys.stderr)
    if args.json:
        for hit in hits:
            print(json.dumps(hit.to_dict(), ensure_ascii=False, default=str))
        return 0
    columns = args.show.split(",") if args.show else list(catalog.store.columns())[:SHOWN_COLUMNS]
    unknown = [c for c in columns if c not in catalog.store.columns()]
    if unknown:
        raise ValueError(f"--show: unknown columns {unknown}; columns are {', '.join(catalog.store.columns())}")
    print(format_table(hits, columns, start=args.offset + 1))
    return 0


def _print_answer(args: argparse.Namespace, status: int, results: list[dict[str, Any]]) -> int:
    if status != 200:
        print(f"fashionclip search: error: {results[0]['error']}", file=sys.stderr)
        return 1
    hits = [
        Hit(r["id"], float(r["score"]), r.get("image_url"), r.get("text") or "", dict(r.get("metadata") or {}))
        for r in results
    ]
    if args.json:
        for hit in hits:
            print(json.dumps(hit.to_dict(), ensure_ascii=False, default=str))
        return 0
    known = list(hits[0].metadata) if hits else []
    columns = args.show.split(",") if args.show else known[:SHOWN_COLUMNS]
    unknown = [c for c in columns if hits and c not in known]
    if unknown:
        raise ValueError(f"--show: unknown columns {unknown}; columns are {', '.join(known)}")
    print(format_table(hits, columns, start=args.offset + 1))
    return 0


def filter_hints(store: Any, where: Any, shown: int = 12) -> list[str]:
    """For a filtered query that found nothing: each text filter value that no item holds, with
    the column's values nearest to it (a typo such as gender=Woman) and its most common ones."""
    from fashionclip.store.filters import parse_filter

    facets = store.facets(max_values=1000)
    hints = []
    for condition in parse_filter(where, store.columns()):
        facet = facets.get(condition.column)
        if facet is None or facet.kind != "text" or condition.op not in ("=", "in"):
            continue
        wanted = condition.value if condition.op == "in" else (condition.value,)
        for value in (v for v in wanted if v not in facet.values):
            close = difflib.get_close_matches(value, facet.values, n=3, cutoff=0.6)
            near = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
            common = ", ".join(facet.values[:shown]) + (", ..." if len(facet.values) > shown else "")
            hints.append(f"no item has {condition.column}={value!r}: {near}its values: {common}")
    return hints


def format_table(hits: list[Hit], columns: list[str], start: int = 1) -> str:
    """A plain-text table: rank, id, score, title, then the chosen metadata columns."""
    if not hits:
        return "no results"
    header = ["#", "id", "score", "title", *columns]
    rows = [
        [
            str(rank),
            hit.id,
            f"{hit.score:.4f}",
            _clip(hit.text, TITLE_WIDTH),
            *(_show(hit.metadata.get(c)) for c in columns),
        ]
        for rank, hit in enumerate(hits, start)
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _show(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _clip(str(value), 24)
