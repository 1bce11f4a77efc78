"""The HTTP app: the API over a :class:`~fashionclip.search.Catalog`, and the search page.

``create_app`` builds the shared :class:`~fashionclip.server.state.State`, installs the error
handlers and middleware, and includes one router per resource (:mod:`fashionclip.server.routes`).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from fashionclip.search import Catalog
from fashionclip.server import errors
from fashionclip.server.config import ServerConfig
from fashionclip.server.errors import BodyLimit
from fashionclip.server.metrics import Metrics, MetricsMiddleware
from fashionclip.server.routes import ROUTERS
from fashionclip.server.routes.meta import STATIC
from fashionclip.server.state import DEFAULT_TAXONOMY, State
from fashionclip.version import __version__

__all__ = ["DEFAULT_TAXONOMY", "STATIC", "State", "create_app"]


def create_app(catalog: Catalog, config: ServerConfig | None = None) -> FastAPI:
    """The FastAPI app serving ``catalog``. Run it with uvicorn (``fashionclip serve`` does)."""
    config = config or ServerConfig()
    metrics = Metrics()
    state = State(catalog, config, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        try:
            yield
        finally:  # uvicorn lets in-flight requests finish first, then the batch workers stop
            state.close()

    app = FastAPI(
        title="fashionclip",
        version=__version__,
        description="Search, embed and tag a fashion catalogue with CLIP-family models.",
        lifespan=lifespan,
    )
    app.state.fashionclip = state
    errors.install(app)
    app.add_middleware(BodyLimit, limit=config.max_upload_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.mount("/static", PageAssets(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
    return app


class PageAssets(StaticFiles):
    """The page's assets, revalidated on every load (cheap: ETags), so an upgraded server never
    runs a cached old script against its new page; scripts always as JavaScript (a browser runs
    an ES module only with a JavaScript media type, whatever the system's MIME table says)."""

    def file_response(self, full_path: Any, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(full_path, *args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        if str(full_path).endswith((".js", ".mjs")):
            response.headers["Content-Type"] = "text/javascript; charset=utf-8"
        return response
