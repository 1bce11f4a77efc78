import math

import pytest
import torch
import torch.nn.functional as F

from fashionclip.training.losses import clip_loss, siglip_loss


def _embeddings(n: int = 6, d: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (
        F.normalize(torch.randn(n, d, generator=g), dim=-1),
        F.normalize(torch.randn(n, d, generator=g), dim=-1),
    )


def test_clip_loss_with_unique_captions_is_the_textbook_infonce():
    image, text = _embeddings()
    scale = torch.tensor(math.log(20.0))
    logits = 20.0 * image @ text.t()
    labels = torch.arange(6)
    expected = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
    identity = torch.eye(6, dtype=torch.bool)
    assert torch.allclose(clip_loss(image, text, scale), expected, atol=1e-6)
    assert torch.allclose(clip_loss(image, text, scale, identity), expected, atol=1e-6)


def test_clip_loss_shares_the_target_between_identical_captions():
    image, text = _embeddings(n=3)
    positives = torch.tensor([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.bool)
    scale = torch.tensor(0.0)  # temperature 1
    logits = image @ text.t()
    # hand-written: row i's target is uniform over its positives, both directions
    total = 0.0
    for matrix in (logits, logits.t()):
        log_p = torch.log_softmax(matrix, dim=1)
        total += -(0.5 * (log_p[0, 0] + log_p[0, 1]) + 0.5 * (log_p[1, 0] + log_p[1, 1]) + log_p[2, 2]) / 3
    assert torch.allclose(clip_loss(image, text, scale, positives), total / 2, atol=1e-6)


def test_clip_loss_gradient_reaches_the_temperature():
    image, text = _embeddings()
    scale = torch.tensor(math.log(10.0), requires_grad=True)
    clip_loss(image, text, scale).backward()
    assert scale.grad is not None and scale.grad.abs() > 0


def test_siglip_loss_matches_a_naive_pairwise_sum():
    image, text = _embeddings(n=4)
    scale, bias = torch.tensor(math.log(10.0)), torch.tensor(-10.0)
    expected = 0.0
    for i in range(4):
        for j in range(4):
            z = 10.0 * float(image[i] @ text[j]) - 10.0
            label = 1.0 if i == j else -1.0
            expected += -math.log(1 / (1 + math.exp(-label * z)))
    assert siglip_loss(image, text, scale, bias).item() == pytest.approx(expected / 4, rel=1e-5)
