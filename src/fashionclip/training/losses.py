"""Contrastive losses over a batch of L2-normalised image and text embeddings.

Both take a boolean ``positives`` matrix instead of assuming the diagonal:
an attribute-template caption ("a photo of a Tshirts") is true of every
T-shirt in the batch, and treating those pairs as negatives would push apart
exactly the items that should match (``training.data.batch_positives`` builds
the matrix). With unique captions the matrix is the identity and the losses
are the textbook ones.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def clip_loss(
    image: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor, positives: torch.Tensor | None = None
) -> torch.Tensor:
    """Symmetric InfoNCE (CLIP) with a learnable temperature; several positives share the target mass."""
    logits = logit_scale.exp() * image @ text.t()  # (B, B), image rows
    if positives is None:
        labels = torch.arange(len(image), device=image.device)
        return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
    target = positives.float()
    image_to_text = -(target / target.sum(1, keepdim=True) * F.log_softmax(logits, dim=1)).sum(1).mean()
    target_t = target.t()
    text_to_image = -(target_t / target_t.sum(1, keepdim=True) * F.log_softmax(logits.t(), dim=1)).sum(1).mean()
    return (image_to_text + text_to_image) / 2


def siglip_loss(
    image: torch.Tensor,
    text: torch.Tensor,
    logit_scale: torch.Tensor,
    logit_bias: torch.Tensor,
    positives: torch.Tensor | None = None,
) -> torch.Tensor:
    """SigLIP's pairwise sigmoid loss (Zhai et al. 2023), summed over texts and averaged over images."""
    logits = logit_scale.exp() * image @ text.t() + logit_bias
    if positives is None:
        positives = torch.eye(len(image), dtype=torch.bool, device=image.device)
    signs = positives.float() * 2 - 1
    return -F.logsigmoid(signs * logits).sum() / len(image)
