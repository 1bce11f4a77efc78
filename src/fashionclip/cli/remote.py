"""``fashionclip search`` through a running ``fashionclip serve`` of the same index.

A search on its own pays for importing torch, transformers and LanceDB and for loading the model
(about 7 s on 2 cores) before a query of a few milliseconds. A server holds all of that warm, so
``serve`` leaves a small record of where it listens (``$FASHIONCLIP_CACHE/servers``), and
``search`` asks it when one is up for that index, importing nothing but the standard library.
Anything the server cannot answer the same way (another model, an image URL, a server that went
away) falls back to searching here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fashionclip.io import cache_dir, is_remote

API_KEY_ENV = "FASHIONCLIP_API_KEY"


def _folder() -> Path:
    return cache_dir("servers")


def index_key(db: str) -> str:
    """One key per index, however its path is spelled."""
    text = str(db)
    if text.startswith("milvus-lite:"):
        path, _, query = text[len("milvus-lite:") :].partition("?")
        text = "milvus-lite:" + str(Path(path).expanduser().resolve()) + (f"?{query}" if query else "")
    elif not text.startswith(("milvus://", "milvuss://", ":memory:")):
        text = str(Path(text).expanduser().resolve())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@contextmanager
def registered(db: str, url: str, model: str, max_k: int = 200) -> Iterator[None]:
    """Record that this process serves ``db`` at ``url`` (queries of at most ``max_k`` results)
    while the block runs."""
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / f"{index_key(db)}.json"
    record.write_text(json.dumps({"url": url, "pid": os.getpid(), "db": str(db), "model": model, "max_k": max_k}))
    try:
        yield
    finally:
        try:
            if json.loads(record.read_text()).get("pid") == os.getpid():
                record.unlink()
        except (OSError, ValueError):
            pass


def server_for(db: str) -> dict[str, Any] | None:
    """The record of a live server of ``db``, or None."""
    record = _folder() / f"{index_key(db)}.json"
    try:
        found = json.loads(record.read_text())
    except (OSError, ValueError):
        return None
    try:
        os.kill(int(found["pid"]), 0)  # raises when that process is gone
    except (OSError, ValueError, KeyError, TypeError):
        record.unlink(missing_ok=True)  # a server killed before it could remove its record
        return None
    return found


def search(args: Any) -> tuple[int, list[dict[str, Any]]] | None:
    """``(status, results)`` of the search ``args`` describes, answered by a running server of
    ``args.db``; None when there is none, or it cannot answer this search as a local one would.
    A 4xx answer comes back as ``(status, [{"error": message}])``."""
    server = server_for(args.db)
    if server is None or (args.model and args.model != server.get("model")) or args.k > server.get("max_k", 200):
        return None
    body: dict[str, Any] = {
        "text": args.text,
        "like": args.like,
        "image_weight": args.image_weight,
        "filters": args.where or None,
        "keyword_weight": 1.0 if args.keyword else args.keyword_weight,
        "diversity": args.diversity,
        "dedupe": args.dedupe,
        "k": args.k,
        "offset": args.offset,
    }
    if args.image:
        if is_remote(args.image) or not Path(args.image).is_file():
            return None  # URLs and missing files: the local path says what is wrong, as always
        body["image"] = base64.b64encode(Path(args.image).read_bytes()).decode()
    headers = {"Content-Type": "application/json"}
    if os.environ.get(API_KEY_ENV):
        headers["X-API-Key"] = os.environ[API_KEY_ENV]
    request = urllib.request.Request(
        server["url"].rstrip("/") + "/search",
        data=json.dumps({k: v for k, v in body.items() if v is not None}).encode(),
        headers=headers,
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return 200, json.loads(response.read())["results"]
    except urllib.error.HTTPError as exc:
        if exc.code in (400, 404, 422):  # the request itself is wrong: the same answer as here
            try:
                message = json.loads(exc.read())["error"]["message"]
            except (ValueError, KeyError, TypeError):
                return None
            return exc.code, [{"error": message}]
        return None  # 401, 413, 5xx...: search here instead
    except (OSError, ValueError, KeyError):
        return None  # gone, or not our server: search here
