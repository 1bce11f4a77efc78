"""Patch tokens and gradients of a transformers CLIP vision tower: what the patch and gradient
heatmaps need (the :class:`~fashionclip.backends.base.ModelInternals` capability)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from fashionclip.backends.base import Objective


class ClipInternals:
    """The vision tower and projection of a transformers ``CLIPModel``, run on its own device
    and weight type."""

    def __init__(self, vision: Any, projection: Any, *, device: str, dtype: torch.dtype) -> None:
        self.vision = vision
        self.projection = projection
        self.device = device
        self.dtype = dtype

    @classmethod
    def of(cls, model: Any, *, device: str, dtype: torch.dtype) -> ClipInternals | None:
        """The internals of ``model``, or None when it is not a CLIP with a ViT vision tower."""
        vision = getattr(model, "vision_model", None)
        projection = getattr(model, "visual_projection", None)
        layers = getattr(getattr(vision, "encoder", None), "layers", None)
        if vision is None or projection is None or not layers or not hasattr(layers[-1], "self_attn"):
            return None
        return cls(vision, projection, device=device, dtype=dtype)

    def _batch(self, pixels: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.asarray(pixels, dtype=np.float32)[None]).to(device=self.device, dtype=self.dtype)

    def patch_embeddings(self, pixels: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            tokens = self.vision(pixel_values=self._batch(pixels), output_hidden_states=True).hidden_states[-2][0, 1:]
            last = self.vision.encoder.layers[-1]
            values = last.self_attn.out_proj(last.self_attn.v_proj(last.layer_norm1(tokens)))  # (N, H)
            features = self.projection(self.vision.post_layernorm(values)).float()  # (N, D)
            features = features / features.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return features.cpu().numpy()

    def gradient_relevance(self, pixels: np.ndarray, objectives: Sequence[Objective]) -> np.ndarray:
        batch = self._batch(pixels)
        with torch.enable_grad():
            batch.requires_grad_(True)  # so the graph exists even if the weights are frozen
            output = self.vision(pixel_values=batch, output_hidden_states=True)
            tokens = output.hidden_states[-2]  # (1, 1 + N, H)
            image = self.projection(output.pooler_output).float()[0]
            image = image / image.norm().clamp_min(1e-12)
            rows = []
            for objective in objectives:
                (grad,) = torch.autograd.grad(objective(image), tokens, retain_graph=True)
                rows.append(torch.relu((grad * tokens).sum(-1))[0, 1:].detach().float().cpu().numpy())
        return np.stack(rows)  # (T, N)
