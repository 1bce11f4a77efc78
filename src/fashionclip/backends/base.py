"""What every inference backend implements, and the capability some of them add."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

# a differentiable score of one unit image embedding (a torch tensor (D,) -> a scalar tensor)
Objective = Callable[[Any], Any]


@runtime_checkable
class ModelInternals(Protocol):
    """What a heatmap needs beyond forward passes: a ViT vision tower's patch tokens and
    gradients. Only backends that hold such a model in torch have it (see
    :meth:`Backend.internals`)."""

    def patch_embeddings(self, pixels: np.ndarray) -> np.ndarray:
        """One image's (3, S, S) pixels -> (N, D) float32 unit vectors, one per patch: each patch
        token entering the last layer taken through that layer's value and output projections
        only (no attention mixing, no residual, no MLP), then the post-norm and the projection into
        the joint space (MaskCLIP)."""
        ...

    def gradient_relevance(self, pixels: np.ndarray, objectives: Sequence[Objective]) -> np.ndarray:
        """One image's (3, S, S) pixels -> (T, N) float32 Grad-CAM relevance of each patch for each
        objective (a score of the unit image embedding): the gradient times the tokens entering the
        last layer, summed over channels, clipped at zero."""
        ...


@runtime_checkable
class Backend(Protocol):
    """Runs a checkpoint's two towers on already-preprocessed inputs.

    Both encode methods return unnormalised float32 embeddings, (B, D); the encoder
    does batching, normalisation and error handling. ``patch_size`` is the vision
    tower's patch side in pixels where the checkpoint says it (ViTs), else None.
    """

    embedding_dim: int
    logit_scale: float
    device: str
    patch_size: int | None

    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """(B, 3, S, S) float32 normalised pixels -> (B, D) float32."""
        ...

    def encode_tokens(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """(B, L) int64 token ids and mask -> (B, D) float32."""
        ...

    def internals(self) -> ModelInternals | None:
        """The model's internals for heatmaps, or None where this backend has no such access
        (an exported graph, a model of another structure)."""
        ...
