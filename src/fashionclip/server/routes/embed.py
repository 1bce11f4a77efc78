"""``POST /embed``: embeddings of texts and images."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter

from fashionclip.server.deps import KEY_REQUIRED, StateDep
from fashionclip.server.schemas import EmbedRequest, EmbedResponse, error_responses
from fashionclip.server.searching import client_images

router = APIRouter(dependencies=KEY_REQUIRED)


@router.post("/embed", response_model=EmbedResponse, responses=error_responses(401, 415, 422))
def embed(body: EmbedRequest, state: StateDep) -> EmbedResponse:
    """Embeddings of texts and images (base64, or URLs where allowed), in one space."""
    encoder = state.encoder
    texts = encoder.encode_texts(body.texts, normalize=body.normalize) if body.texts else np.zeros((0, 0))
    images = client_images(body.images, state) if body.images else []
    image_vectors = encoder.encode_images(images, normalize=body.normalize) if images else np.zeros((0, 0))
    return EmbedResponse(
        model=encoder.name,
        dim=encoder.embedding_dim,
        texts=np.asarray(texts).tolist(),
        images=np.asarray(image_vectors).tolist(),
    )
