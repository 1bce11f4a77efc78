"""Content hashes: what decides whether an item is embedded again.

Each item's ``content_hash`` is ``<embedding hash>:<row hash>``: the first covers what the vector
is made of (image bytes, text, model), the second what the row shows (image reference and
metadata).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fashionclip.catalog.reader import CatalogItem
from fashionclip.identity import portable_name
from fashionclip.store.base import IndexInfo, VectorStore


def embedding_hash(image: bytes | None, text: str, model: str) -> str:
    """Hash of what an item's vector is made of."""
    digest = hashlib.sha256()
    for part in (model.encode(), image or b"", text.encode()):
        digest.update(len(part).to_bytes(8, "big"))  # length-prefixed: no two inputs collide by concatenation
        digest.update(part)
    return digest.hexdigest()[:32]


def row_hash(item: CatalogItem) -> str:
    """Hash of what an item's row shows besides its vector."""
    payload = json.dumps([item.image, sorted(item.metadata.items())], default=str, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def content_hash(image: bytes | None, text: str, row: str, model: str) -> str:
    """An item's full content hash: its embedding hash, then its row hash."""
    return f"{embedding_hash(image, text, model)}:{row}"


def vector_part(content: str) -> str:
    """The embedding part of a content hash: equal parts mean the stored vector still holds."""
    return content.split(":")[0]


def index_info(encoder: Any) -> IndexInfo:
    """What an index built with ``encoder`` records: a portable name (a local folder's absolute
    path), the dimension and the checkpoint's content key ("" for encoders without a checkpoint)."""
    spec = getattr(encoder, "spec", None)
    name = portable_name(spec) if spec is not None else encoder.name
    return IndexInfo(name, encoder.embedding_dim, getattr(encoder, "checkpoint_id", "") or "")


def hash_key(store: VectorStore) -> str:
    """The model's part of every content hash: the name the index recorded when it was made, so
    the same model by another spelling, or moved, embeds nothing again (the claim has checked
    that it is the same model)."""
    info = store.info()
    return info.model if info is not None else ""
