"""``POST /classify``: zero-shot labels or a taxonomy's attributes for images and stored products."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter

from fashionclip.server.deps import KEY_REQUIRED, StateDep
from fashionclip.server.errors import ApiError
from fashionclip.server.schemas import ClassifyRequest, ClassifyResponse, error_responses
from fashionclip.server.searching import client_images
from fashionclip.zeroshot.taxonomy import Tagger

router = APIRouter(dependencies=KEY_REQUIRED)


@router.post("/classify", response_model=ClassifyResponse, responses=error_responses(401, 404, 415, 422))
def classify(body: ClassifyRequest, state: StateDep) -> ClassifyResponse:
    """Zero-shot labels (``labels``) or a taxonomy's attributes for images and/or stored products."""
    if (body.labels is None) == (body.taxonomy is None):
        raise ApiError(422, "give exactly one of labels or taxonomy", "invalid_request")
    if not body.images and not body.ids:
        raise ApiError(422, "give images or product ids to classify", "invalid_request")
    vectors = []
    if body.images:
        vectors.append(np.atleast_2d(state.encoder.encode_images(client_images(body.images, state))))
    if body.ids:
        found = {h.id: h for h in state.catalog.store.get(body.ids, with_vectors=True)}
        missing = [i for i in body.ids if i not in found]
        if missing:
            raise ApiError(404, f"no product with id {missing[0]!r} in the index")
        vectors.append(np.stack([found[i].vector for i in body.ids]))  # type: ignore[misc]
    embeddings = np.concatenate(vectors).astype(np.float32)
    names = [f"image #{i}" for i in range(len(body.images))] + list(body.ids)
    model = state.classifier(body)
    items: list[dict[str, Any]] = []
    if isinstance(model, Tagger):
        for name, tags in zip(names, model.tag_embeddings(embeddings, k=body.k), strict=True):
            items.append({"input": name, **{a: _predictions(p) for a, p in tags.items()}})
    else:
        for name, predictions in zip(names, model.predict_embeddings(embeddings, k=body.k), strict=True):
            items.append({"input": name, "labels": _predictions(predictions)})
    return ClassifyResponse(model=state.encoder.name, items=items)


def _predictions(predictions: list[Any]) -> list[dict[str, Any]]:
    return [{"label": p.label, "score": round(float(p.score), 4)} for p in predictions]
