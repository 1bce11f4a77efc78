"""Heat from a vision tower's patch tokens (value-path projection) or their gradients (Grad-CAM),
through the encoder's :meth:`~fashionclip.encoder.EncoderProtocol.internals`."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from fashionclip.errors import ExplainError

if TYPE_CHECKING:
    from fashionclip.encoder import EncoderProtocol
    from fashionclip.explain.heatmap import Scorer


def patch_grids(
    encoder: EncoderProtocol, pixels: np.ndarray, scorer: Scorer, method: str
) -> tuple[list[np.ndarray], int]:
    """One ``(G, G)`` heat grid per text of ``scorer``, and the pixels the grid covers (``G * patch``).

    ``patch``: each patch token's own embedding (see
    :meth:`~fashionclip.backends.base.ModelInternals.patch_embeddings`), scored.
    ``gradient``: Grad-CAM of each text's score (see
    :meth:`~fashionclip.backends.base.ModelInternals.gradient_relevance`).
    """
    internals = encoder.internals()
    if internals is None:
        raise ExplainError(
            f"method {method!r} needs a transformers CLIP checkpoint (ViT vision tower); {encoder.name!r} is not "
            "one: use method 'crops' or 'occlusion', which work with every model"
        )
    if method == "patch":
        scores = scorer(internals.patch_embeddings(pixels)).T  # (T, N)
    else:
        objectives = [partial(scorer.differentiable, index=index) for index in range(len(scorer.texts))]
        scores = internals.gradient_relevance(pixels, objectives)  # (T, N)
    count = scores.shape[1]
    side = int(round(count**0.5))
    if side * side != count:
        raise ExplainError(f"method {method!r}: {count} patch tokens do not form a square grid")
    patch = pixels.shape[-1] // side
    return [row.reshape(side, side) for row in scores], side * patch
