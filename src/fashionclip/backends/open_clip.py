"""Adapter for open_clip-format checkpoints (Marqo-FashionCLIP, Marqo-FashionSigLIP, ...).

open_clip builds the model and its tokenizer; the pixels still come from our
own preprocessing, configured from the checkpoint's ``preprocess_cfg`` so they
match open_clip's transforms (including torchvision's rounded crop offset).
Needs the ``openclip`` extra (open_clip_torch, which itself needs torchvision).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fashionclip._extras import require
from fashionclip.backends.torch_hf import TorchPrecision
from fashionclip.config import ModelSpec, PreprocessConfig
from fashionclip.errors import ModelNotAvailableError
from fashionclip.preprocess.text import Tokens, check_texts


class OpenClipTokenizer:
    """open_clip's tokenizer (fixed-length ids) behind our Tokenizer protocol."""

    def __init__(self, tokenizer: Any, context_length: int) -> None:
        self.tokenizer = tokenizer
        self.context_length = context_length

    def __call__(self, texts: Sequence[str]) -> Tokens:
        ids = np.asarray(self.tokenizer(check_texts(texts)), dtype=np.int64)  # (B, L)
        return Tokens(ids, np.ones_like(ids))


class OpenClipBackend(TorchPrecision):
    """Runs ``model.encode_image`` / ``model.encode_text`` of an open_clip model."""

    # heatmaps' patch tokens and gradients are read from transformers CLIP models only
    patch_size: int | None = None

    def internals(self) -> None:
        """None: open_clip models do not give heatmaps their patch tokens."""
        return None

    def __init__(self, model: Any, *, device: str, dtype: torch.dtype) -> None:
        self.model = model.to(device=device, dtype=dtype).eval()
        self.device = device
        self.dtype = dtype
        with torch.inference_mode():
            probe = model.encode_text(torch.zeros((1, _context_length(model)), dtype=torch.long, device=device))
        self.embedding_dim = int(probe.shape[-1])
        self.logit_scale = float(model.logit_scale.detach().float().exp().reshape(-1)[0])

    @torch.inference_mode()
    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        batch = torch.from_numpy(pixels).to(device=self.device, dtype=self.dtype)  # (B, 3, S, S)
        with self._context():
            return self.model.encode_image(batch).float().cpu().numpy()  # (B, D)

    @torch.inference_mode()
    def encode_tokens(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        ids = torch.from_numpy(input_ids).to(self.device)  # (B, L); open_clip needs no mask
        with self._context():
            return self.model.encode_text(ids).float().cpu().numpy()  # (B, D)


def _context_length(model: Any) -> int:
    return int(getattr(model, "context_length", None) or 77)


def preprocess_from_open_clip(
    base: PreprocessConfig, cfg: dict[str, Any], model_cfg: dict[str, Any]
) -> PreprocessConfig:
    """Our PreprocessConfig equivalent to an open_clip ``preprocess_cfg`` (and model image size)."""
    size = cfg.get("size", model_cfg.get("vision_cfg", {}).get("image_size", base.image_size))
    if isinstance(size, (list, tuple)):
        if size[0] != size[1]:
            raise ValueError(f"non-square image size {size} is not supported")
        size = size[0]
    mode = cfg.get("resize_mode", "shortest")
    if mode not in ("shortest", "squash"):
        raise ValueError(f"open_clip resize_mode {mode!r} is not supported (only 'shortest' and 'squash')")
    return replace(
        base,
        image_size=int(size),
        resize=int(size),
        resize_mode=mode,
        interpolation=cfg.get("interpolation", "bicubic"),
        mean=tuple(cfg.get("mean", base.mean)),
        std=tuple(cfg.get("std", base.std)),
        context_length=int(model_cfg.get("text_cfg", {}).get("context_length", base.context_length)),
        crop_offset="round",
    )


def load_open_clip(
    path: Path, spec: ModelSpec, *, device: str, dtype: torch.dtype
) -> tuple[OpenClipBackend, OpenClipTokenizer, PreprocessConfig]:
    """Build backend, tokenizer and preprocessing for an open_clip checkpoint directory."""
    open_clip = require("open_clip", "openclip", feature=f"model {spec.name!r} is in open_clip format; open_clip_torch")
    config_path = path / "open_clip_config.json"
    if not config_path.exists():
        raise ModelNotAvailableError(f"model {spec.name!r}: {path} has no open_clip_config.json")
    config = json.loads(config_path.read_text())
    model_cfg = config.get("model_cfg", {})
    try:
        preprocess = preprocess_from_open_clip(spec.preprocess, config.get("preprocess_cfg", {}), model_cfg)
        model = open_clip.create_model(f"local-dir:{path}", device=device)
        tokenizer = open_clip.get_tokenizer(f"local-dir:{path}")
    except Exception as exc:
        raise ModelNotAvailableError(f"model {spec.name!r}: cannot load open_clip checkpoint {path}: {exc}") from None
    backend = OpenClipBackend(model, device=device, dtype=dtype)
    return backend, OpenClipTokenizer(tokenizer, preprocess.context_length), preprocess
