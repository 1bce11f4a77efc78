"""One checkpoint's image tower run by one backend and its text tower by another: what the measured
choice loads when another engine answers a text query faster than the one that embeds photos
fastest (on a 2-core EPYC, OpenVINO int8 embeds ViT-B/32 photos fastest, ONNX Runtime int8
answers a single query in half OpenVINO's time)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fashionclip.backends.base import ModelInternals


class PairedBackend:
    """Images through ``image``, texts through ``text`` (two backends of the same checkpoint).
    It says the image backend's engine and precision, which is what an image job reloads
    elsewhere; ``towers`` names both."""

    def __init__(self, image: Any, text: Any) -> None:
        self.image, self.text = image, text
        self.device = image.device
        self.embedding_dim = image.embedding_dim
        self.logit_scale = image.logit_scale
        self.patch_size = getattr(image, "patch_size", None)
        self.precision = getattr(image, "precision", None)
        self.engine = getattr(image, "engine", "torch")
        self.fidelity = min(getattr(image, "fidelity", 1.0), getattr(text, "fidelity", 1.0))
        self.towers = f"images: {_name(image)}, texts: {_name(text)}"

    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        return self.image.encode_pixels(pixels)

    def encode_tokens(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self.text.encode_tokens(input_ids, attention_mask)

    def internals(self) -> ModelInternals | None:
        """The image backend's internals (heatmaps are about images)."""
        own = getattr(self.image, "internals", None)
        return own() if own is not None else None


def _name(backend: Any) -> str:
    return f"{getattr(backend, 'engine', 'torch')} {getattr(backend, 'precision', '')}".strip()
