"""Tiny randomly initialised checkpoints in Hugging Face CLIP format.

They load through the same :func:`fashionclip.load_model` path as real
checkpoints and carry the real CLIP tokenizer, so every code path can be
exercised offline. Their embeddings mean nothing.
"""

from __future__ import annotations

from pathlib import Path

from fashionclip.loading import quiet_transformers
from fashionclip.preprocess.text import clip_tokenizer


def write_tiny_clip(
    path: str | Path,
    *,
    seed: int = 0,
    image_size: int = 32,
    patch_size: int = 8,
    width: int = 32,
    layers: int = 2,
    projection_dim: int = 16,
    context_length: int = 77,
) -> Path:
    """Write a random CLIP checkpoint (config, safetensors, tokenizer, preprocessor) to ``path``."""
    import torch
    from transformers import CLIPConfig, CLIPModel

    try:
        from transformers import CLIPImageProcessorPil as ImageProcessor
    except ImportError:  # transformers 4.x
        from transformers import CLIPImageProcessor as ImageProcessor

    path = Path(path)
    common = dict(hidden_size=width, intermediate_size=2 * width, num_hidden_layers=layers, num_attention_heads=2)
    config = CLIPConfig(
        text_config=dict(vocab_size=49408, max_position_embeddings=context_length, eos_token_id=49407, **common),
        vision_config=dict(image_size=image_size, patch_size=patch_size, **common),
        projection_dim=projection_dim,
    )
    torch.manual_seed(seed)
    model = CLIPModel(config).eval()
    with quiet_transformers():
        model.save_pretrained(path, safe_serialization=True)
    clip_tokenizer().save_pretrained(path)
    ImageProcessor(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    ).save_pretrained(path)
    return path
