"""Every failure becomes a JSON error ``{"error": {"code", "message"}}`` with the right status:
4xx for anything a client sent, and 500 only for our own bugs (logged, never shown)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fashionclip.errors import (
    FashionClipError,
    ImageLoadError,
    ImageTooLargeError,
    ModelMismatchError,
    UrlFetchError,
    UrlRefused,
)

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}


class ApiError(Exception):
    """A client error with its status, a short code and a message naming the bad input."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message


class BodyTooLarge(HTTPException):
    """Raised from the request stream once a body passes the upload limit (an HTTPException, which
    FastAPI lets through while it parses a body, where it turns other errors into a bare 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over the limit of {limit} bytes")


def error_response(status: int, code: str, message: str, details: list[Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers that turn exceptions into JSON errors."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # the offending input is left out: it may be megabytes of base64
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p != "body") or "request"
        if first.get("type") == "json_invalid":  # its location is a character offset, not a field
            where = "request body (not valid JSON)"
        return error_response(422, "invalid_request", f"{where}: {first['msg']}", details)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.url.path}"
        return error_response(exc.status_code, _CODES.get(exc.status_code, "error"), message)

    @app.exception_handler(FashionClipError)
    async def library_error(request: Request, exc: FashionClipError) -> JSONResponse:
        if isinstance(exc, ImageTooLargeError):
            return error_response(413, "image_too_large", str(exc))
        if isinstance(exc, ImageLoadError):
            return error_response(400, "bad_image", str(exc))
        if isinstance(exc, ModelMismatchError):
            return error_response(409, "model_mismatch", str(exc))
        return error_response(400, "bad_request", " ".join(str(exc).split()))

    @app.exception_handler(UrlRefused)
    async def url_refused(request: Request, exc: UrlRefused) -> JSONResponse:
        return error_response(400, "url_refused", str(exc))

    @app.exception_handler(UrlFetchError)
    async def url_failed(request: Request, exc: UrlFetchError) -> JSONResponse:
        return error_response(400, "url_fetch_failed", str(exc))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "internal error; the server log has the details")


class BodyLimit:
    """ASGI middleware: refuse bodies over ``limit`` bytes, from the Content-Length header when
    there is one, else while the body streams in (chunked uploads have no length to check)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            status, message = 413, f"request body over the limit of {self.limit} bytes"
            if not length.isdigit():
                status, message = 400, "malformed Content-Length header"
            await error_response(status, _CODES[status], message)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, counted, send)
