"""``--db`` strings: which store a path or URI means.

- ``:memory:`` the exact in-memory store;
- ``milvus-lite:PATH`` Milvus Lite in a local file (``PATH`` usually ends in ``.db``);
- ``milvus://HOST:PORT/COLLECTION`` a Milvus server or cluster (``milvuss://`` for TLS; the
  token, if any, from ``MILVUS_TOKEN``);
- anything else, a LanceDB directory.

Milvus URIs take options as a query string: ``?index=HNSW&M=32&ef=128`` (index type, index and
search parameters) and, for Milvus Lite, ``collection=NAME``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fashionclip.errors import StoreError
from fashionclip.store.base import VectorStore

MEMORY = ":memory:"
LITE = "milvus-lite:"
SERVER_SCHEMES = ("milvus://", "milvuss://")


def is_milvus(db: str | Path) -> bool:
    text = str(db)
    return text.startswith(LITE) or text.startswith(SERVER_SCHEMES)


def local_path(db: str | Path) -> Path | None:
    """The file or folder that ``db`` keeps on this machine (a LanceDB folder, a Milvus Lite
    file), or None for the in-memory store and servers."""
    text = str(db)
    if text == MEMORY or text.startswith(SERVER_SCHEMES):
        return None
    if text.startswith(LITE):
        path = text[len(LITE) :].partition("?")[0]
        return Path(path).expanduser() if path else None
    return Path(text).expanduser()


def open_store(db: str | Path) -> VectorStore:
    """The store that ``db`` names (see the module docstring)."""
    text = str(db)
    if text == MEMORY:
        from fashionclip.store.exact import ExactStore

        return ExactStore()
    if text.startswith(LITE):
        from fashionclip.store.milvus import MilvusStore

        path, _, query = text[len(LITE) :].partition("?")
        if not path:
            raise StoreError(f"{text!r}: give a file path after milvus-lite:, e.g. milvus-lite:shop.db")
        options = _options(query, text)
        collection = str(options.pop("collection", "items"))
        return MilvusStore(os.path.expanduser(path), collection, index_type=options.pop("index", None), params=options)
    if text.startswith(SERVER_SCHEMES):
        from fashionclip.store.milvus import MilvusStore

        parts = urlsplit(text)
        if not parts.hostname:
            raise StoreError(f"{text!r}: expected milvus://HOST:PORT/COLLECTION")
        collection = parts.path.strip("/") or "fashionclip"
        if "/" in collection:
            raise StoreError(f"{text!r}: the path must be one collection name")
        options = _options(parts.query, text)
        scheme = "https" if text.startswith("milvuss://") else "http"
        uri = f"{scheme}://{parts.hostname}:{parts.port or 19530}"
        token = os.environ.get("MILVUS_TOKEN")
        return MilvusStore(uri, collection, index_type=options.pop("index", None), params=options, token=token)
    from fashionclip.store.lance import LanceStore

    return LanceStore(db)


def _options(query: str, where: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if not value:
            raise StoreError(f"{where!r}: option {key!r} has no value")
        options[key] = _number(value)
    return options


def _number(value: str) -> Any:
    for convert in (int, float):
        try:
            return convert(value)
        except ValueError:
            pass
    return value
