"""``fashionclip serve``: the HTTP API and the search page over an index."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from fashionclip._extras import require
from fashionclip.cli._options import add_precision_options, precision_options

API_KEY_ENV = "FASHIONCLIP_API_KEY"
WRITE_KEY_ENV = "FASHIONCLIP_WRITE_KEY"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the HTTP API and the web search page over an index",
        description=(
            "Serve an index built by 'fashionclip index' (or, with --sample, the bundled sample catalogue) as an "
            "HTTP API with OpenAPI docs at /docs and a search page at /. Binds to 127.0.0.1 unless --host says "
            f"otherwise. Set {API_KEY_ENV} to require an API key; set {WRITE_KEY_ENV} to take updates "
            "(POST /products/updates) from clients that send it."
        ),
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", help="index to serve: a directory, milvus-lite:FILE.db or milvus://HOST:PORT/COLL")
    where.add_argument(
        "--sample", action="store_true", help="index the bundled 120-product sample catalogue and serve it"
    )
    parser.add_argument("--model", default=None, help="query model (default: the index's model)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--api-key-file", help=f"file holding the API key (or set {API_KEY_ENV})")
    parser.add_argument(
        "--write-key-file",
        help=f"file holding the write key that POST /products/updates wants (or set {WRITE_KEY_ENV}; "
        "without one the server takes no writes)",
    )
    parser.add_argument(
        "--allow-urls", action="store_true", help="fetch image URLs sent by clients (public hosts only)"
    )
    parser.add_argument("--max-upload-mb", type=float, default=10.0, help="largest request body in MB (10)")
    parser.add_argument("--max-pixels", type=int, default=40_000_000, help="largest image in pixels (40M)")
    parser.add_argument("--image-root", action="append", help="folder product images may be served from (repeat)")
    parser.add_argument("--taxonomy", help="YAML taxonomy for product tags (default: the bundled one)")
    parser.add_argument("--max-batch", type=int, default=64, help="most inputs per shared forward pass (64)")
    parser.add_argument("--workers-timeout", type=int, default=10, help="seconds to finish requests on shutdown (10)")
    add_precision_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    require("uvicorn", "serve", feature="fashionclip serve needs uvicorn, which")
    from dataclasses import replace

    from fashionclip.server.config import SERVER_LIMITS, ServerConfig

    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be in 1..65535, got {args.port}")
    if args.max_upload_mb <= 0:
        raise ValueError(f"--max-upload-mb must be positive, got {args.max_upload_mb}")
    max_upload_bytes = int(args.max_upload_mb * 1_000_000)
    config = ServerConfig(
        api_key=_api_key(args.api_key_file),
        write_key=_api_key(args.write_key_file, WRITE_KEY_ENV, "--write-key-file"),
        max_upload_bytes=max_upload_bytes,
        limits=replace(SERVER_LIMITS, max_pixels=args.max_pixels, max_bytes=max_upload_bytes),
        allow_urls=args.allow_urls,
        image_roots=tuple(Path(r) for r in args.image_root or ()),
        max_batch=args.max_batch,
        taxonomy=Path(args.taxonomy) if args.taxonomy else None,
    )
    for root in config.image_roots:
        if not root.is_dir():
            raise FileNotFoundError(f"--image-root {str(root)!r} is not a folder")
    if config.taxonomy is not None and not config.taxonomy.is_file():
        raise FileNotFoundError(f"--taxonomy {str(config.taxonomy)!r} does not exist")
    catalog = _sample_catalog(args) if args.sample else _open(args)
    if args.sample:
        serve_catalog(catalog, config, args.host, args.port, graceful_seconds=args.workers_timeout)
        return 0
    from fashionclip.cli.remote import registered

    # `fashionclip search --db` on this machine asks this server instead of loading everything again
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
    url = f"http://{'[' + host + ']' if ':' in host else host}:{args.port}"
    with registered(args.db, url, catalog.encoder.name, config.max_k):
        serve_catalog(catalog, config, args.host, args.port, graceful_seconds=args.workers_timeout)
    return 0


def serve_catalog(catalog: Any, config: Any, host: str, port: int, *, graceful_seconds: int = 10) -> None:
    """Serve ``catalog`` with uvicorn until interrupted; on SIGTERM or Ctrl-C, requests in flight
    get ``graceful_seconds`` to finish."""
    uvicorn = require("uvicorn", "serve", feature="fashionclip serve needs uvicorn, which")
    from fashionclip.server import create_app

    app = create_app(catalog, config)
    print(f"serving {len(catalog)} products with {catalog.encoder.name} on http://{host}:{port}/", file=sys.stderr)
    if host not in ("127.0.0.1", "localhost", "::1") and config.api_key is None:
        print(f"warning: listening on {host} without an API key (set {API_KEY_ENV})", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=graceful_seconds)


def _api_key(path: str | None, env: str = API_KEY_ENV, option: str = "--api-key-file") -> str | None:
    if path:
        try:
            key = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise FileNotFoundError(f"{option} {path!r}: {exc.strerror}") from None
        if not key:
            raise ValueError(f"{option} {path!r} is empty")
        return key
    return os.environ.get(env) or None


def _open(args: argparse.Namespace):  # noqa: ANN202
    from fashionclip.cli.search import open_index

    return open_index(args.db, args.model, **precision_options(args))


def _sample_catalog(args: argparse.Namespace):  # noqa: ANN202
    from fashionclip.io import cache_dir
    from fashionclip.registry import BUNDLED_MODEL
    from fashionclip.sample import sample_catalog
    from fashionclip.search import Catalog

    model = args.model or BUNDLED_MODEL
    db = cache_dir("sample-index") / f"{model.replace('/', '--')}.lance"
    catalog = Catalog.open(db, model=model, **precision_options(args))
    root, _ = sample_catalog()
    report = catalog.index(root / "catalog.csv", show_progress=True)
    print(f"sample catalogue in {db}: {report.summary()}", file=sys.stderr)
    return catalog
