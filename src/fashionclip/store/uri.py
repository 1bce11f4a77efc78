"""``--db`` strings: the one place that knows which store a path or URI means.

- ``:memory:`` the exact in-memory store;
- ``milvus-lite:PATH`` Milvus Lite in a local file (``PATH`` usually ends in ``.db``);
- ``milvus://HOST:PORT/COLLECTION`` a Milvus server or cluster (``milvuss://`` for TLS; the
  token, if any, from ``MILVUS_TOKEN``);
- anything else, a LanceDB directory (``~`` expanded).

Options come as a query string, checked against what the store takes (an unknown option or a bad
value is refused, naming the ones allowed; an option is only ever a number or a name, never code):

- LanceDB: ``shop.lance?nprobes=40&refine_factor=20&memory_index=false`` (see :data:`LANCE_OPTIONS`;
  a ``pathlib.Path`` is taken as a path, ``?`` and all);
- Milvus: ``?index=HNSW&M=32&ef=128`` (the index type, then index and search parameters, see
  :data:`MILVUS_PARAMS`) and, for Milvus Lite, ``collection=NAME``;
- both: ``keywords=auto|english|cjk``, how keyword search splits texts into words
  (:mod:`fashionclip.store.keywords`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fashionclip.errors import StoreError
from fashionclip.store.base import VectorStore
from fashionclip.store.keywords import KEYWORD_MODES

MEMORY = ":memory:"
LITE = "milvus-lite:"
SERVER_SCHEMES = ("milvus://", "milvuss://")
# Milvus's rule for collection names
_COLLECTION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")


def _positive(name: str, value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", value) or int(value) < 1:
        raise ValueError(f"option {name!r} takes a positive whole number, not {value!r}")
    return int(value)


def _positive_or_none(name: str, value: str) -> int | None:
    if value.lower() == "none":
        return None
    try:
        return _positive(name, value)
    except ValueError:
        raise ValueError(f"option {name!r} takes a positive whole number or 'none', not {value!r}") from None


def _switch(name: str, value: str) -> bool | None:
    choices = {"true": True, "false": False, "auto": None}
    if value.lower() not in choices:
        raise ValueError(f"option {name!r} takes true, false or auto, not {value!r}")
    return choices[value.lower()]


# the options of LanceStore(...), by name, and how a URI's text becomes each
def _keywords(name: str, value: str) -> str:
    if value.lower() not in KEYWORD_MODES:
        raise ValueError(f"option {name!r} takes one of {', '.join(KEYWORD_MODES)}, not {value[:40]!r}")
    return value.lower()


LANCE_OPTIONS: dict[str, Callable[[str, str], Any]] = {
    "nprobes": _positive,
    "ef": _positive,
    "refine_factor": _positive_or_none,
    "memory_index": _switch,
    "memory_candidates": _positive,
    "keywords": _keywords,
}
# the index and search parameters of MilvusStore's index types (INDEX_DEFAULTS), all whole numbers
MILVUS_PARAMS = ("M", "efConstruction", "ef", "nlist", "nprobe", "m", "nbits", "search_list", "level")


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
    return _lance_path(db)


def exists(db: str | Path) -> bool:
    """Whether ``db`` names a store that is there to open, rather than one that opening would make
    (on its first write): the LanceDB folder or Milvus Lite file is on disk. ``:memory:`` is always
    there (a fresh, empty store), and so is a server's collection: the server is only asked when
    the store is opened, and a missing collection opens empty, as an empty index does."""
    _check(db)
    path = local_path(db)
    return path is None or path.exists()


def check_exists(db: str | Path) -> None:
    """FileNotFoundError naming ``db`` and how to build it, unless :func:`exists`."""
    if not exists(db):
        raise FileNotFoundError(f"no index at {str(db)!r}; build one with 'fashionclip index CATALOG --db {db}'")


def open_store(db: str | Path, *, create: bool = True) -> VectorStore:
    """The store that ``db`` names (see the module docstring). ``create=False``: only one that is
    there (:func:`check_exists`), never a new, empty one."""
    if not create:
        check_exists(db)
    text = str(db)
    if text == MEMORY:
        from fashionclip.store.exact import ExactStore

        return ExactStore()
    if text.startswith(LITE):
        from fashionclip.store.milvus import MilvusStore

        path, collection, index, params, keywords = _lite(text)
        return MilvusStore(os.path.expanduser(path), collection, index_type=index, params=params, keywords=keywords)
    if text.startswith(SERVER_SCHEMES):
        from fashionclip.store.milvus import MilvusStore

        uri, collection, index, params, keywords = _server(text)
        token = os.environ.get("MILVUS_TOKEN")
        return MilvusStore(uri, collection, index_type=index, params=params, token=token, keywords=keywords)
    from fashionclip.store.lance import LanceStore

    return LanceStore(_lance_path(db), **_lance_options(db))


def _check(db: str | Path) -> None:
    """StoreError for a malformed ``db`` (what opening it would refuse, before anything is opened)."""
    text = str(db)
    if text.startswith(LITE):
        _lite(text)
    elif text.startswith(SERVER_SCHEMES):
        _server(text)
    elif text != MEMORY:
        _lance_options(db)


def _lance_path(db: str | Path) -> Path:
    if isinstance(db, Path):
        return db.expanduser()
    path = db.partition("?")[0]
    if not path:
        raise StoreError(f"{db!r}: give a LanceDB folder before the options, e.g. shop.lance?nprobes=40")
    return Path(path).expanduser()


def _lance_options(db: str | Path) -> dict[str, Any]:
    if isinstance(db, Path):
        return {}
    _lance_path(db)
    return {name: _parse(LANCE_OPTIONS, name, value, db) for name, value in _options(db.partition("?")[2], db).items()}


def _lite(text: str) -> tuple[str, str, str | None, dict[str, int], str]:
    """Path, collection, index type, parameters and keyword mode of a ``milvus-lite:`` URI."""
    path, _, query = text[len(LITE) :].partition("?")
    if not path:
        raise StoreError(f"{text!r}: give a file path after milvus-lite:, e.g. milvus-lite:shop.db")
    options = _options(query, text)
    collection = options.pop("collection", "items")
    if not _COLLECTION.match(collection):
        raise StoreError(
            f"{text!r}: collection {collection!r}: use letters, digits and _ (starting with a letter or _)"
        )
    return (path, collection, *_milvus_options(options, text))


def _server(text: str) -> tuple[str, str, str | None, dict[str, int], str]:
    """Server URI, collection, index type, parameters and keyword mode of a ``milvus://`` URI."""
    parts = urlsplit(text)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number
        raise StoreError(f"{text!r}: expected milvus://HOST:PORT/COLLECTION") from None
    if not host:
        raise StoreError(f"{text!r}: expected milvus://HOST:PORT/COLLECTION")
    collection = parts.path.strip("/") or "fashionclip"
    if "/" in collection:
        raise StoreError(f"{text!r}: the path must be one collection name")
    if not _COLLECTION.match(collection):
        raise StoreError(
            f"{text!r}: collection {collection!r}: use letters, digits and _ (starting with a letter or _)"
        )
    options = _options(parts.query, text)
    if "collection" in options:
        raise StoreError(f"{text!r}: the collection is the URI's path (milvus://HOST:PORT/COLLECTION), not an option")
    scheme = "https" if text.startswith("milvuss://") else "http"
    return (f"{scheme}://{host}:{port or 19530}", collection, *_milvus_options(options, text))


def _milvus_options(options: dict[str, str], where: str) -> tuple[str | None, dict[str, int], str]:
    from fashionclip.store.milvus import INDEX_DEFAULTS

    index = options.pop("index", None)
    if index is not None and index.upper() not in INDEX_DEFAULTS:
        raise StoreError(f"{where!r}: unknown Milvus index type {index!r}; use one of {', '.join(INDEX_DEFAULTS)}")
    keywords = _parse({"keywords": _keywords}, "keywords", options.pop("keywords", "auto"), where)
    for name in options:
        if name not in MILVUS_PARAMS:
            named = ("collection", "index", "keywords") if where.startswith(LITE) else ("index", "keywords")
            raise StoreError(f"{where!r}: unknown option {name!r}; options are {', '.join(named + MILVUS_PARAMS)}")
    params = {
        name: _parse(dict.fromkeys(MILVUS_PARAMS, _positive), name, value, where) for name, value in options.items()
    }
    return index, params, keywords


def _options(query: str, where: str | Path) -> dict[str, str]:
    """A URI's query string as name -> text: every option once, with a value."""
    options: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if not value:
            raise StoreError(f"{str(where)!r}: option {key!r} has no value")
        if key in options:
            raise StoreError(f"{str(where)!r}: option {key!r} is given twice")
        options[key] = value
    return options


def _parse(allowed: dict[str, Callable[[str, str], Any]], name: str, value: str, where: str | Path) -> Any:
    if name not in allowed:
        raise StoreError(f"{str(where)!r}: unknown option {name!r}; options are {', '.join(allowed)}")
    try:
        return allowed[name](name, value)
    except ValueError as exc:
        raise StoreError(f"{str(where)!r}: {exc}") from None
