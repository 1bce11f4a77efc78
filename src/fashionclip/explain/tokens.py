"""Heat from a transformers CLIP vision tower's patch tokens: value-path projection or Grad-CAM."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from fashionclip.errors import ExplainError

if TYPE_CHECKING:
    from fashionclip.encoder import Encoder
    from fashionclip.explain.heatmap import Scorer


def _clip_towers(encoder: Encoder, method: str) -> tuple[Any, Any]:
    model = getattr(encoder.backend, "model", None)
    vision = getattr(model, "vision_model", None)
    projection = getattr(model, "visual_projection", None)
    layers = getattr(getattr(vision, "encoder", None), "layers", None)
    if vision is None or projection is None or not layers or not hasattr(layers[-1], "self_attn"):
        raise ExplainError(
            f"method {method!r} needs a transformers CLIP checkpoint (ViT vision tower); {encoder.name!r} is not "
            "one: use method 'crops' or 'occlusion', which work with every model"
        )
    return vision, projection


def patch_grids(encoder: Encoder, pixels: np.ndarray, scorer: Scorer, method: str) -> tuple[list[np.ndarray], int]:
    """One ``(G, G)`` heat grid per text of ``scorer``, and the pixels the grid covers (``G * patch``).

    ``patch``: each patch token entering the last layer goes through that
    layer's value and output projections only (no attention mixing, no residual,
    no MLP), then the post-norm and projection into the joint space, and is
    scored. ``gradient``: Grad-CAM, the gradient of the
    image-text score times the tokens entering the last layer, summed over
    channels and clipped at zero.
    """
    vision, projection = _clip_towers(encoder, method)
    backend = encoder.backend
    batch = torch.from_numpy(pixels[None]).to(device=backend.device, dtype=getattr(backend, "dtype", torch.float32))
    if method == "patch":
        with torch.inference_mode():
            tokens = vision(pixel_values=batch, output_hidden_states=True).hidden_states[-2][0, 1:]  # (N, H)
            last = vision.encoder.layers[-1]
            values = last.self_attn.out_proj(last.self_attn.v_proj(last.layer_norm1(tokens)))
            features = projection(vision.post_layernorm(values)).float()  # (N, D)
            features = features / features.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        scores = scorer(features.cpu().numpy()).T  # (T, N)
    else:
        with torch.enable_grad():
            batch.requires_grad_(True)  # so the graph exists even if the weights are frozen
            output = vision(pixel_values=batch, output_hidden_states=True)
            tokens = output.hidden_states[-2]  # (1, 1 + N, H)
            image = projection(output.pooler_output).float()[0]
            image = image / image.norm().clamp_min(1e-12)
            rows = []
            for index in range(len(scorer.texts)):
                (grad,) = torch.autograd.grad(scorer.differentiable(image, index), tokens, retain_graph=True)
                rows.append(torch.relu((grad * tokens).sum(-1))[0, 1:].detach().float().cpu().numpy())
            scores = np.stack(rows)  # (T, N)
    count = scores.shape[1]
    side = int(round(count**0.5))
    if side * side != count:
        raise ExplainError(f"method {method!r}: {count} patch tokens do not form a square grid")
    patch = pixels.shape[-1] // side
    return [row.reshape(side, side) for row in scores], side * patch
