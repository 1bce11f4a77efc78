"""The page, and what the server says about itself: health (open), metrics, facets and the page's
configuration (behind the API key when there is one)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from fashionclip.server.deps import KEY_REQUIRED, StateDep
from fashionclip.server.schemas import PageConfig, error_responses

STATIC = Path(str(resources.files("fashionclip").joinpath("server/static")))

public = APIRouter()
router = APIRouter(dependencies=KEY_REQUIRED)


@public.get("/", include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


@public.get("/health", responses=error_responses())
def health(state: StateDep) -> dict[str, Any]:
    """Liveness and what is served (no API key needed)."""
    count = state.catalog.store.count()
    state.metrics.products.set(count)
    return {
        "status": "ok",
        "model": state.encoder.name,
        "dim": state.encoder.embedding_dim,
        "products": count,
        "api_key_required": state.config.api_key is not None,
    }


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text format"},
        **error_responses(401),
    },
)
def prometheus(state: StateDep) -> Response:
    state.metrics.products.set(state.catalog.store.count())
    return Response(state.metrics.render(), media_type="text/plain; version=0.0.4")


@router.get("/facets", responses=error_responses(401))
def facets(state: StateDep) -> dict[str, Any]:
    """Each metadata column's values (text) or range (numeric), for filter controls."""
    return {"facets": state.facets()}


@router.get("/page-config", response_model=PageConfig, responses=error_responses(401))
def page_config(state: StateDep) -> PageConfig:
    """What the search page shows on result cards and offers as example queries, from the index's
    own columns (or the server's settings)."""
    return state.page()
