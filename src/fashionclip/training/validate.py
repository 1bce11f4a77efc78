"""Per-epoch validation: cross-modal Recall@k and zero-shot accuracy on an attribute."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from fashionclip.evaluation.metrics import caption_key, retrieval_scores, same_label
from fashionclip.training.model import image_features, text_features


@torch.no_grad()
def embed_pixels(model: Any, pixels: np.ndarray, device: str, batch_size: int = 256) -> np.ndarray:
    """L2-normalised image embeddings of preprocessed pixels (N, 3, S, S)."""
    out = []
    for start in range(0, len(pixels), batch_size):
        batch = torch.from_numpy(pixels[start : start + batch_size]).to(device)
        out.append(image_features(model, batch).float().cpu().numpy())
    return np.concatenate(out)


@torch.no_grad()
def embed_texts(model: Any, tokenizer: Any, texts: Sequence[str], device: str, batch_size: int = 512) -> np.ndarray:
    """L2-normalised text embeddings."""
    out = []
    for start in range(0, len(texts), batch_size):
        tokens = tokenizer(list(texts[start : start + batch_size]))
        ids = torch.from_numpy(tokens.input_ids).to(device)
        mask = torch.from_numpy(tokens.attention_mask).to(device)
        out.append(text_features(model, ids, mask).float().cpu().numpy())
    return np.concatenate(out)


def retrieval_metrics(image_emb: np.ndarray, text_emb: np.ndarray, captions: Sequence[str]) -> dict[str, float]:
    """Text→image and image→text Recall@1/5/10 (a match in the top k; ties count against the
    model); items sharing a caption (:func:`~fashionclip.evaluation.metrics.caption_key`) count
    as matches, as in the evaluation's retrieval tasks."""
    keys = [caption_key(c) for c in captions]
    relevant = same_label(keys, keys)
    out: dict[str, float] = {}
    for name, queries, items in (("text_to_image", text_emb, image_emb), ("image_to_text", image_emb, text_emb)):
        scores = retrieval_scores(queries, items, relevant, ks=(1, 5, 10))
        out.update({f"{name}_R@{k}": scores.mean(f"hit@{k}") for k in (1, 5, 10)})
    return out


def zero_shot_predictions(
    image_emb: np.ndarray, model: Any, tokenizer: Any, labels: Sequence[str], prompt: str, device: str
) -> np.ndarray:
    """Index of the best label for each image under ``prompt.format(label)``."""
    label_emb = embed_texts(model, tokenizer, [prompt.format(label) for label in labels], device)
    return (image_emb @ label_emb.T).argmax(axis=1)
