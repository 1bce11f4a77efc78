"""FastAPI dependencies every router shares: the app's :class:`~fashionclip.server.state.State`
and the API and write key checks."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from fashionclip.server.config import ServerConfig
from fashionclip.server.errors import ApiError
from fashionclip.server.state import State


def get_state(request: Request) -> State:
    """The state of the app serving ``request`` (set by ``create_app``)."""
    return request.app.state.fashionclip


def get_config(request: Request) -> ServerConfig:
    """The settings of the app serving ``request``."""
    return get_state(request).config


def require_key(request: Request) -> None:
    """Refuse the request (401) unless it carries the server's API key, when it has one, in
    ``X-API-Key`` or ``Authorization: Bearer``."""
    expected = get_config(request).api_key
    if expected is None:
        return
    if not _carries(request, expected):
        raise ApiError(401, "a valid API key is needed (X-API-Key header or Authorization: Bearer)")


def require_write_key(request: Request) -> None:
    """Refuse a write: 403 when the server takes none (no write key), 401 unless the request
    carries the write key in ``X-API-Key`` or ``Authorization: Bearer``."""
    expected = get_config(request).write_key
    if expected is None:
        raise ApiError(403, "this server takes no writes; start it with a write key (FASHIONCLIP_WRITE_KEY)")
    if not _carries(request, expected):
        raise ApiError(401, "a valid write key is needed (X-API-Key header or Authorization: Bearer)")


def _carries(request: Request, expected: str) -> bool:
    given = request.headers.get("x-api-key") or ""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if not given and scheme.lower() == "bearer":
        given = token.strip()
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


StateDep = Annotated[State, Depends(get_state)]
KEY_REQUIRED = [Depends(require_key)]  # a router's dependencies: every route of it wants the key
WRITE_KEY_REQUIRED = [Depends(require_write_key)]
