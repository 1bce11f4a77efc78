"""What the search and product routes share: running a search request against the catalogue and
turning stored hits into API products."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from fashionclip.server.errors import ApiError
from fashionclip.server.images import check_image, image_bytes
from fashionclip.server.schemas import Product, SearchRequest, SearchResponse
from fashionclip.server.state import State
from fashionclip.store.base import Hit, shown_value

MAX_DEPTH = 10_000  # k + offset: deeper pages cost the store more than any page needs


def run_search(state: State, request: SearchRequest, image: bytes | None = None) -> SearchResponse:
    """One page of results for ``request`` (``image``: an uploaded photo, already checked)."""
    config = state.config
    if request.k > config.max_k:
        raise ApiError(400, f"k must be at most {config.max_k}, got {request.k}")
    if request.k + request.offset > MAX_DEPTH:
        raise ApiError(400, f"k + offset must be at most {MAX_DEPTH}")
    if image is None and request.image is not None:
        image = check_image(image_bytes(request.image, config), config)
    if request.like is not None:
        find_product(state, request.like)
    started = time.perf_counter()
    hits = state.catalog.search(
        request.text,
        image=image,
        like=request.like,
        image_weight=request.image_weight,
        where=request.where,
        k=request.k + 1,  # one more than asked tells whether there is a next page
        offset=request.offset,
        keyword_weight=request.keyword_weight,
        diversity=request.diversity,
        dedupe=request.dedupe,
    )
    took = (time.perf_counter() - started) * 1000
    return SearchResponse(
        results=[to_product(h) for h in hits[: request.k]],
        k=request.k,
        offset=request.offset,
        has_more=len(hits) > request.k,
        took_ms=round(took, 2),
    )


def search_request(**fields: Any) -> SearchRequest:
    """A search request from query or form fields, with the same 422 as a JSON body when one does
    not fit (never a 500 from a model built by hand)."""
    try:
        return SearchRequest.model_validate(fields)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False, include_url=False)) from None


def find_product(state: State, product_id: str, with_vector: bool = False) -> Hit:
    """The stored product ``product_id``, or a 404."""
    found = state.catalog.store.get([product_id], with_vectors=with_vector)
    if not found:
        raise ApiError(404, f"no product with id {product_id!r} in the index")
    return found[0]


def to_product(hit: Hit, score: bool = True) -> Product:
    """A stored hit as the API shows it: its image as a URL this server (or its own host) serves."""
    if not hit.image:
        url = None
    elif hit.image.lower().startswith(("http://", "https://")):
        url = hit.image
    else:
        url = f"/products/{quote(hit.id, safe='')}/image"
    return Product(
        id=hit.id,
        score=round(hit.score, 6) if score else None,
        text=hit.text,
        image_url=url,
        metadata={k: shown_value(v) for k, v in hit.metadata.items()},
    )


def client_images(refs: list[str], state: State) -> list[bytes]:
    """The checked bytes of a request's images (base64, or URLs where allowed)."""
    return [
        check_image(image_bytes(ref, state.config, f"image #{i}"), state.config, f"image #{i}")
        for i, ref in enumerate(refs)
    ]
