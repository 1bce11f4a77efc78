"""``/products/{product_id}``: one product (with its tags), products like it, and its photo."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, RedirectResponse, Response

from fashionclip.server.deps import KEY_REQUIRED, StateDep
from fashionclip.server.errors import ApiError
from fashionclip.server.images import IMAGE_MEDIA, image_media_type
from fashionclip.server.schemas import Product, SearchResponse, error_responses
from fashionclip.server.searching import find_product, run_search, search_request, to_product
from fashionclip.server.where import FilterQuery, WhereQuery, query_where

router = APIRouter(dependencies=KEY_REQUIRED)
_BINARY = {"type": "string", "format": "binary"}


@router.get("/products/{product_id}", response_model=Product, responses=error_responses(401, 404, 422))
def product(product_id: str, state: StateDep, tags: bool = False) -> Product:
    """One product; with ``tags=true``, its zero-shot tags from the server's taxonomy."""
    hit = find_product(state, product_id, with_vector=tags)
    out = to_product(hit, score=False)
    if tags:
        found = state.tagger().tag_embeddings(hit.vector[None, :], k=3)[0]  # type: ignore[index]
        out.tags = {
            name: [{"label": p.label, "score": round(p.score, 4)} for p in preds] for name, preds in found.items()
        }
    return out


@router.get("/products/{product_id}/similar", response_model=SearchResponse, responses=error_responses(401, 404, 422))
def similar(
    product_id: str,
    state: StateDep,
    where: WhereQuery = None,
    filter_alias: FilterQuery = None,
    k: Annotated[int, Query(ge=1)] = 10,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SearchResponse:
    """Products that look like this one (the product itself left out)."""
    find_product(state, product_id)
    request = search_request(like=product_id, where=query_where(where, filter_alias), k=k, offset=offset)
    return run_search(state, request)


@router.get(
    "/products/{product_id}/image",
    response_class=Response,
    responses={
        200: {
            "content": {media: {"schema": _BINARY} for media in IMAGE_MEDIA.values()},
            "description": "the photo, from the catalogue's own image folders",
        },
        307: {"description": "the product's own image URL (Location header)"},
        **error_responses(401, 404, 422),
    },
)
def product_image(product_id: str, state: StateDep) -> Response:
    """The product's photo, only from the catalogue's own image folders (or its own URL), and
    only when it is an image in an accepted format."""
    hit = find_product(state, product_id)
    if not hit.image:
        raise ApiError(404, f"product {product_id!r} has no image")
    if hit.image.lower().startswith(("http://", "https://")):
        return RedirectResponse(hit.image, status_code=307)
    path = state.folders().resolve(hit.image)
    if path is None:
        raise ApiError(404, f"product {product_id!r}: its image is not in the catalogue's image folders")
    media = image_media_type(path)
    if media is None:
        raise ApiError(404, f"product {product_id!r}: its image file is not in an accepted image format")
    return FileResponse(
        path, media_type=media, headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"}
    )
