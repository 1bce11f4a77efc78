"""One filter vocabulary over HTTP: ``where`` on every route that filters (query parameter, JSON
field, form field), as in ``Catalog.search(where=...)`` and ``--where``; ``filter`` and ``filters``
kept as deprecated aliases; both with different values is a 422."""

from __future__ import annotations

import json

import pytest

from fashionclip.sample import sample_catalog
from fashionclip.server.where import form_where, query_where

ROOT, _ = sample_catalog()
PHOTO = ROOT / "images" / "1163.jpg"
WHERE = {"gender": "Women", "masterCategory": ["Footwear", "Accessories"]}


def ids(response) -> list[str]:  # noqa: ANN001
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["results"]]


def refused(response) -> str:  # noqa: ANN001
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    return error["message"]


def test_where_in_a_json_body_equals_the_library_and_the_alias(client, catalog) -> None:
    expected = [h.id for h in catalog.search("shoes", where=WHERE, k=8)]
    assert expected
    assert ids(client.post("/search", json={"text": "shoes", "where": WHERE, "k": 8})) == expected
    assert ids(client.post("/search", json={"text": "shoes", "filters": WHERE, "k": 8})) == expected
    # both, with the same value: no conflict
    assert ids(client.post("/search", json={"text": "shoes", "where": WHERE, "filters": WHERE, "k": 8})) == expected


def test_where_in_the_query_string_of_search_and_similar(client, catalog) -> None:
    expected = [h.id for h in catalog.search("bag", where=["gender=Women", "season=Summer"], k=6)]
    for name in ("where", "filter"):
        params = [("q", "bag"), (name, "gender=Women"), (name, "season=Summer"), ("k", "6")]
        assert ids(client.get("/search", params=params)) == expected
    similar = [h.id for h in catalog.search(like="1163", where=["gender=Men"], k=5)]
    for name in ("where", "filter"):
        assert ids(client.get("/products/1163/similar", params=[(name, "gender=Men"), ("k", "5")])) == similar
    both = [("where", "gender=Men"), ("filter", "gender=Men"), ("k", "5")]
    assert ids(client.get("/products/1163/similar", params=both)) == similar


def test_where_in_an_upload_form(client, catalog) -> None:
    expected = [h.id for h in catalog.search("red", image=str(PHOTO), where={"gender": "Men"}, k=5)]
    for name in ("where", "filters"):
        with PHOTO.open("rb") as handle:
            response = client.post(
                "/search/upload",
                files={"image": ("photo.jpg", handle, "image/jpeg")},
                data={"text": "red", "k": "5", name: '{"gender": "Men"}'},
            )
        assert ids(response) == expected


@pytest.mark.parametrize(
    "request_",
    [
        {
            "method": "GET",
            "url": "/search",
            "params": [("q", "a"), ("where", "gender=Men"), ("filter", "gender=Women")],
        },
        {
            "method": "GET",
            "url": "/products/1163/similar",
            "params": [("where", "gender=Men"), ("filter", "season=Fall")],
        },
        {
            "method": "POST",
            "url": "/search",
            "json": {"text": "a", "where": ["gender=Men"], "filters": ["gender=Women"]},
        },
        {"method": "POST", "url": "/search", "json": {"text": "a", "where": {"gender": "Men"}, "filters": []}},
    ],
    ids=["search query", "similar query", "search body", "search body, empty alias"],
)
def test_where_and_an_alias_that_differ_are_refused(client, request_) -> None:  # noqa: ANN001
    message = refused(client.request(**request_))
    assert "where" in message and "alias" in message and ("filter" in message)


def test_where_and_filters_that_differ_in_an_upload_are_refused(client) -> None:
    with PHOTO.open("rb") as handle:
        response = client.post(
            "/search/upload",
            files={"image": ("photo.jpg", handle, "image/jpeg")},
            data={"where": '{"gender": "Men"}', "filters": '["gender=Women"]'},
        )
    assert "deprecated alias filters" in refused(response)


def test_the_schema_documents_where_and_marks_the_aliases_deprecated(client) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/search", "/products/{product_id}/similar"):
        parameters = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
        assert not parameters["where"].get("deprecated")
        assert parameters["filter"]["deprecated"] is True
    schemas = spec["components"]["schemas"]
    upload = next(s for name, s in schemas.items() if name.startswith("Body_search_upload") or name == "UploadForm")
    for properties in (schemas["SearchRequest"]["properties"], upload["properties"]):
        assert "deprecated" not in properties["where"]
        assert properties["filters"]["deprecated"] is True


def test_the_helpers_drop_blank_filters_and_read_json() -> None:
    assert query_where(["", " "], None) is None
    assert query_where(None, ["gender=Men", ""]) == ["gender=Men"]
    assert query_where(["gender=Men"], [" "]) == ["gender=Men"]  # a blank alias is no alias
    assert form_where(" ", json.dumps({"gender": "Men"})) == {"gender": "Men"}
    assert form_where('["a=b"]', '["a=b"]') == ["a=b"]
