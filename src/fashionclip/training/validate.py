"""Per-epoch validation: cross-modal Recall@k and zero-shot accuracy on an attribute."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

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


def recall_at_k(scores: np.ndarray, relevant: np.ndarray, ks: Sequence[int] = (1, 5, 10)) -> dict[int, float]:
    """Share of queries (rows) with a relevant item among their top k.

    ``relevant`` is a boolean matrix of the same shape. Ties are broken
    against the query: a relevant item tied with an irrelevant one counts
    below it, so a constant score matrix earns no credit.
    """
    best_relevant = np.where(relevant, scores, -np.inf).max(axis=1)  # (Q,)
    # irrelevant items scoring at least as high as the best relevant one
    ahead = (np.where(relevant, -np.inf, scores) >= best_relevant[:, None]).sum(axis=1)
    return {k: float(np.mean(ahead < k)) for k in ks}


def retrieval_metrics(image_emb: np.ndarray, text_emb: np.ndarray, captions: Sequence[str]) -> dict[str, float]:
    """Text→image and image→text Recall@1/5/10; items sharing a caption count as matches."""
    keys = np.asarray([c.lower() for c in captions])
    relevant = keys[:, None] == keys[None, :]
    np.fill_diagonal(relevant, True)
    scores = image_emb @ text_emb.T  # (images, texts)
    out: dict[str, float] = {}
    for k, v in recall_at_k(scores.T, relevant.T).items():
        out[f"text_to_image_R@{k}"] = v
    for k, v in recall_at_k(scores, relevant).items():
        out[f"image_to_text_R@{k}"] = v
    return out


def zero_shot_predictions(
    image_emb: np.ndarray, model: Any, tokenizer: Any, labels: Sequence[str], prompt: str, device: str
) -> np.ndarray:
    """Index of the best label for each image under ``prompt.format(label)``."""
    label_emb = embed_texts(model, tokenizer, [prompt.format(label) for label in labels], device)
    return (image_emb @ label_emb.T).argmax(axis=1)


def weighted_f1(truth: Sequence[int], predicted: Sequence[int], n_classes: int) -> tuple[float, np.ndarray]:
    """Support-weighted mean of per-class F1, and the per-class F1 array."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    tp = np.bincount(truth[truth == predicted], minlength=n_classes).astype(float)
    support = np.bincount(truth, minlength=n_classes).astype(float)
    predicted_count = np.bincount(predicted, minlength=n_classes).astype(float)
    denominator = support + predicted_count
    f1 = np.divide(2 * tp, denominator, out=np.zeros(n_classes), where=denominator > 0)
    weighted = float((f1 * support).sum() / support.sum()) if support.sum() else 0.0
    return weighted, f1
