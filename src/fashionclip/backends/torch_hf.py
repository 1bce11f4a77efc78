"""PyTorch backend for Hugging Face-format CLIP-family checkpoints (CLIP, SigLIP, SigLIP 2, Chinese-CLIP,
AltCLIP)."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import torch

from fashionclip.backends.clip_internals import ClipInternals
from fashionclip.preprocess.image import naflex_inputs


def pooled(output: Any) -> torch.Tensor:
    """The embedding tensor of a transformers ``get_*_features`` call."""
    # transformers 4.x returns a tensor, 5.x a ModelOutput with pooler_output
    return output if isinstance(output, torch.Tensor) else output.pooler_output


class TorchPrecision:
    """Precision handling shared by the torch backends: ``dtype`` of the weights, and an
    optional ``autocast`` type for the matmuls (bf16 on CPUs that multiply it natively)."""

    device: str
    dtype: torch.dtype
    autocast: torch.dtype | None = None

    @property
    def precision(self) -> str:
        if self.autocast is not None:
            return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.autocast, str(self.autocast))
        return {torch.float32: "fp32", torch.bfloat16: "bf16-weights", torch.float16: "fp16"}.get(
            self.dtype, str(self.dtype)
        )

    def _context(self) -> Any:
        if self.autocast is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.split(":")[0], dtype=self.autocast)


class TorchHFBackend(TorchPrecision):
    """Wraps a transformers ``CLIPModel`` (or any model with the same two feature methods)."""

    def __init__(
        self,
        model: Any,
        *,
        device: str = "cpu",
        dtype: torch.dtype = torch.float32,
        autocast: torch.dtype | None = None,
    ) -> None:
        self.model = model.to(device=device, dtype=dtype).eval()
        self.device = device
        self.dtype = dtype
        # bf16 on CPUs with AMX / AVX-512 BF16: matmuls in bf16, weights and sums kept in fp32
        self.autocast = autocast
        config = model.config
        self.embedding_dim = int(getattr(config, "projection_dim", 0) or config.text_config.hidden_size)
        scale = getattr(model, "logit_scale", None)
        self.logit_scale = float(scale.detach().float().exp()) if scale is not None else 1.0
        patch = getattr(getattr(config, "vision_config", None), "patch_size", None)
        self.patch_size = int(patch) if isinstance(patch, int) else None
        # SigLIP 2 NaFlex takes patch sequences with a mask and grid shapes, not square images
        self.naflex = getattr(config, "model_type", None) == "siglip2"

    def internals(self) -> ClipInternals | None:
        """Patch tokens and gradients of the vision tower (CLIP checkpoints; None for others)."""
        return ClipInternals.of(self.model, device=self.device, dtype=self.dtype)

    @torch.inference_mode()
    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        if self.naflex:
            values, mask, shapes = naflex_inputs(pixels)
            inputs = {
                "pixel_values": torch.from_numpy(values).to(device=self.device, dtype=self.dtype),  # (B, N, P)
                "pixel_attention_mask": torch.from_numpy(mask).to(self.device),
                "spatial_shapes": torch.from_numpy(shapes).to(self.device),
            }
        else:
            inputs = {"pixel_values": torch.from_numpy(pixels).to(device=self.device, dtype=self.dtype)}  # (B, 3, S, S)
        with self._context():
            features = pooled(self.model.get_image_features(**inputs))  # (B, D)
        return features.float().cpu().numpy()

    @torch.inference_mode()
    def encode_tokens(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        ids = torch.from_numpy(input_ids).to(self.device)  # (B, L)
        mask = torch.from_numpy(attention_mask).to(self.device)
        with self._context():
            features = pooled(self.model.get_text_features(input_ids=ids, attention_mask=mask))  # (B, D)
        return features.float().cpu().numpy()
