"""What every exporting backend shares: a transformers CLIP checkpoint's two towers as
separate torch modules (what an exporter traces), and how faithful an export is to torch."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from fashionclip.backends.torch_hf import pooled

# (pixels, token ids, attention mask) that an export is measured on
CalibrationBatch = tuple[np.ndarray, np.ndarray, np.ndarray]


class ImageTower(torch.nn.Module):
    """Pixels (B, 3, S, S) -> unnormalised image embeddings (B, D)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return pooled(self.model.get_image_features(pixel_values=pixel_values))


class TextTower(torch.nn.Module):
    """Token ids and mask (B, L) -> unnormalised text embeddings (B, D)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return pooled(self.model.get_text_features(input_ids=input_ids, attention_mask=attention_mask))


def check_supported(engine: str, supported: tuple[str, ...], precision: str) -> None:
    """ValueError naming what ``engine`` runs, for a precision it does not run."""
    if precision not in supported:
        listed = supported[0] if len(supported) == 1 else f"{', '.join(supported[:-1])} or {supported[-1]}"
        raise ValueError(f"the {engine} backend runs {listed}, not {precision!r} (supported: {', '.join(supported)})")


def fidelity(exported: Any, reference: Any, batch: CalibrationBatch) -> dict[str, float]:
    """Mean and least cosine of ``exported``'s image and text embeddings of ``batch`` to
    ``reference``'s (both backends: ``encode_pixels``, ``encode_tokens``)."""
    pixels, ids, mask = batch
    out = {}
    for name, ours, theirs in (
        ("image", exported.encode_pixels(pixels), reference.encode_pixels(pixels)),
        ("text", exported.encode_tokens(ids, mask), reference.encode_tokens(ids, mask)),
    ):
        cosine = (ours * theirs).sum(axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1) + 1e-12)
        out[f"{name}_cosine"] = float(cosine.mean())
        out[f"{name}_cosine_min"] = float(cosine.min())
    return out
