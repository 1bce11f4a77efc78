"""``/search``: by query parameters, by a JSON body, or by an uploaded photo."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query

from fashionclip.server.deps import KEY_REQUIRED, StateDep
from fashionclip.server.images import check_image
from fashionclip.server.schemas import MAX_TEXT, SearchRequest, SearchResponse, UploadForm, error_responses
from fashionclip.server.searching import run_search, search_request
from fashionclip.server.where import FilterQuery, WhereQuery, form_where, query_where

router = APIRouter(dependencies=KEY_REQUIRED)


@router.get("/search", response_model=SearchResponse, responses=error_responses(401, 404, 422))
def search_get(
    state: StateDep,
    q: Annotated[str | None, Query(max_length=MAX_TEXT, description="text query")] = None,
    like: Annotated[str | None, Query(max_length=MAX_TEXT, description="product id: more like this")] = None,
    where: WhereQuery = None,
    filter_alias: FilterQuery = None,
    keyword_weight: Annotated[float, Query(ge=0, le=1)] = 0.0,
    k: Annotated[int, Query(ge=1)] = 10,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SearchResponse:
    """Search with query parameters (a storefront's simplest call)."""
    request = search_request(
        text=q,
        like=like,
        where=query_where(where, filter_alias),
        keyword_weight=keyword_weight,
        k=k,
        offset=offset,
    )
    return run_search(state, request)


@router.post("/search", response_model=SearchResponse, responses=error_responses(401, 404, 415, 422))
def search_post(body: SearchRequest, state: StateDep) -> SearchResponse:
    """Text, image (base64 or URL), product (``like``), or text and image composed; filters
    (``where``), hybrid keyword weight, diversity, paging."""
    return run_search(state, body)


@router.post("/search/upload", response_model=SearchResponse, responses=error_responses(401, 415, 422))
def search_upload(
    form: Annotated[UploadForm, Form(media_type="multipart/form-data")], state: StateDep
) -> SearchResponse:
    """Search by an uploaded photo (multipart), optionally composed with a text."""
    image = form.image
    limit = state.config.max_upload_bytes
    data = check_image(image.file.read(limit + 1), state.config, f"upload {image.filename!r}")
    request = search_request(
        text=form.text or None,
        image_weight=form.image_weight,
        where=form_where(form.where, form.filters),
        keyword_weight=form.keyword_weight,
        k=form.k,
        offset=form.offset,
    )
    return run_search(state, request, image=data)
