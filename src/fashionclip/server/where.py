"""The filter vocabulary over HTTP: ``where`` everywhere (query parameter, JSON field, form field),
as ``where=`` in Python and ``--where`` on the command line. The older spellings, ``filter`` (query)
and ``filters`` (JSON body, upload form), stay accepted as deprecated aliases; sending both with
different values is a 422."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Query

from fashionclip.server.errors import ApiError
from fashionclip.server.schemas import Text

WhereQuery = Annotated[
    list[Text] | None, Query(description="a filter expression, e.g. gender=Women or price<100 (repeat for more)")
]
FilterQuery = Annotated[
    list[Text] | None, Query(alias="filter", deprecated=True, description="deprecated alias of where")
]


def _conflict(alias: str) -> ApiError:
    return ApiError(422, f"where and its deprecated alias {alias} differ: send only where", "invalid_request")


def query_where(where: list[str] | None, alias: list[str] | None) -> list[str] | None:
    """Query-string filters (``?where=`` or the alias ``?filter=``) with blank ones dropped: a
    blank filter is no filter."""
    given, old = _kept(where), _kept(alias)
    if given is not None and old is not None and given != old:
        raise _conflict("filter")
    return given if given is not None else old


def form_where(where: str | None, alias: str | None) -> Any:
    """The filter of a multipart form: JSON in ``where`` or the alias ``filters``."""
    given, old = _json_filter(where, "where"), _json_filter(alias, "filters")
    if given is not None and old is not None and given != old:
        raise _conflict("filters")
    return given if given is not None else old


def _kept(filters: list[str] | None) -> list[str] | None:
    kept = [f for f in filters or [] if f.strip()]
    return kept or None


def _json_filter(text: str | None, name: str) -> Any:
    if text is None or not text.strip():
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(422, f"{name}: not valid JSON ({exc.msg})", "invalid_request") from None
    if not isinstance(parsed, (dict, list)):
        raise ApiError(422, f"{name}: expected a JSON object or a list of expressions", "invalid_request")
    return parsed
