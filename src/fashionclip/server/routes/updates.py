"""``POST /products/updates``: prices, stock, texts and new or removed products, applied to the
served index and seen by the next request (writes want the server's write key)."""

from __future__ import annotations

import time

from fastapi import APIRouter

from fashionclip.errors import CatalogError
from fashionclip.server.deps import WRITE_KEY_REQUIRED, StateDep
from fashionclip.server.errors import ApiError
from fashionclip.server.schemas import UpdateRequest, UpdateResponse, error_responses

router = APIRouter(dependencies=WRITE_KEY_REQUIRED)


@router.post("/products/updates", response_model=UpdateResponse, responses=error_responses(401, 403, 422))
def update_products(body: UpdateRequest, state: StateDep) -> UpdateResponse:
    """Apply rows keyed by id and remove products, as ``Catalog.update`` does: a row changes the
    columns it gives; every row and id is checked before anything is written."""
    if not body.rows and not body.delete:
        raise ApiError(422, "give rows to apply or ids to delete", "invalid_request")
    started = time.perf_counter()
    try:
        # the client's rows are data: never an image path the server would open, never a new column
        report = state.write(lambda catalog: catalog.update(body.rows, delete=body.delete, image_refs=False))
    except CatalogError as exc:
        raise ApiError(400, " ".join(str(exc).split())) from None
    return UpdateResponse(
        added=report.added,
        reembedded=report.reembedded,
        rows_updated=report.rows_updated,
        unchanged=report.unchanged,
        deleted=report.deleted,
        total=report.total,
        problems=[str(p) for p in report.problems],
        took_ms=round((time.perf_counter() - started) * 1000, 2),
    )
