"""Store records from planned steps and their vectors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from fashionclip.indexing.plan import Step
from fashionclip.store.base import Records


def build_records(steps: Sequence[Step], vectors: Mapping[str, np.ndarray]) -> Records:
    """One row per step, in order: its item's image, text and metadata, its new content hash and
    ``vectors[item id]``."""
    items = [step.item for step in steps]
    names = list(dict.fromkeys(name for item in items for name in item.metadata))
    return Records(
        ids=[item.id for item in items],
        vectors=np.stack([vectors[item.id] for item in items]).astype(np.float32),
        images=[item.image for item in items],
        texts=[item.text for item in items],
        hashes=[step.content_hash for step in steps],
        metadata={name: [item.metadata.get(name) for item in items] for name in names},
        vector_sources=["image" if item.image else "text" for item in items],
    )
