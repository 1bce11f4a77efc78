"""Embeddings of evaluation datasets, cached on disk per (model, dataset, preprocessing)."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fashionclip.encoder import EncoderProtocol
from fashionclip.evaluation.dataset import EvalDataset
from fashionclip.io import cache_dir

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$FASHIONCLIP_CACHE/embeddings``, else ``~/.cache/fashionclip/embeddings``."""
    return cache_dir("embeddings")


class EmbeddingCache:
    """Image and text embeddings in ``.npz`` files named by the encoder's fingerprint (name,
    preprocessing, checkpoint files) and the dataset's (ids and image references). A changed
    checkpoint, preprocessing or dataset gets new files; ``root=None`` keeps nothing."""

    def __init__(self, root: str | Path | None) -> None:
        self.root = Path(root) if root is not None else None

    def images(
        self, encoder: EncoderProtocol, dataset: EvalDataset, *, batch_size: int = 64, show_progress: bool = True
    ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """``(embeddings, indices, failures)``: the embeddings of the readable images, their
        item indices, and a description of each image that could not be read."""
        path = self._path(encoder, f"images-{dataset.fingerprint()}")
        if path is not None and path.exists():
            with np.load(path, allow_pickle=False) as data:
                return data["embeddings"], data["indices"], [str(f) for f in data["failures"]]
        result = encoder.encode_images_report(dataset.images, batch_size=batch_size, show_progress=show_progress)
        failures = [f"{dataset.ids[f.index]} ({f.item}): {f.reason}" for f in result.failed]
        indices = np.asarray(result.indices, dtype=np.int64)
        self._save(path, embeddings=result.embeddings, indices=indices, failures=np.asarray(failures, dtype=str))
        return result.embeddings, indices, failures

    def texts(self, encoder: EncoderProtocol, texts: Sequence[str], *, show_progress: bool = True) -> np.ndarray:
        """Embeddings of ``texts`` (normalised), cached by their content."""
        digest = hashlib.sha256("\0".join(texts).encode()).hexdigest()[:16]
        path = self._path(encoder, f"texts-{digest}")
        if path is not None and path.exists():
            with np.load(path, allow_pickle=False) as data:
                return data["embeddings"]
        if texts:
            embeddings = encoder.encode_texts(list(texts), show_progress=None if show_progress else False)
        else:
            embeddings = np.zeros((0, encoder.embedding_dim), np.float32)
        self._save(path, embeddings=embeddings)
        return embeddings

    def _path(self, encoder: EncoderProtocol, name: str) -> Path | None:
        if self.root is None:
            return None
        if hasattr(encoder, "fingerprint"):
            key = encoder.fingerprint()
        else:  # stand-in encoders without a checkpoint
            key = hashlib.sha256(encoder.name.encode()).hexdigest()[:16]
        return self.root / f"{key}-{name}.npz"

    def _save(self, path: Path | None, **arrays: np.ndarray) -> None:
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npz")
        np.savez(partial, **arrays)
        os.replace(partial, path)  # never a half-written cache file
        log.debug("cached %s", path)
