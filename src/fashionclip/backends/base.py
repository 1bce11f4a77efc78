"""The protocol every inference backend implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Backend(Protocol):
    """Runs a checkpoint's two towers on already-preprocessed inputs.

    Both methods return unnormalised float32 embeddings, (B, D); the encoder
    does batching, normalisation and error handling.
    """

    embedding_dim: int
    logit_scale: float
    device: str

    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """(B, 3, S, S) float32 normalised pixels -> (B, D) float32."""
        ...

    def encode_tokens(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """(B, L) int64 token ids and mask -> (B, D) float32."""
        ...
