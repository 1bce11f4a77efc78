"""Hostile filters: the filter cases of ``test_bad_inputs.py`` again through ``where`` (the name
every route documents; ``filter``/``filters`` are its aliases), and checks of more than one
request: SQL in a value matches nothing, a non-finite bound is refused on every path, an empty
filter is no filter."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.conftest import assert_clear_error, make_client, upload_request

WHERE_CASES: list[tuple[str, dict[str, Any], dict[str, Any], int, str]] = [
    (
        "where on an unknown column",
        {},
        {"method": "POST", "url": "/search", "json": {"text": "a", "where": {"brand": "Nike"}}},
        400,
        "bad_request",
    ),
    ("where with a bad operator", {}, {"method": "GET", "url": "/search?q=a&where=gender~Men"}, 400, "bad_request"),
    (
        "where of the wrong type",
        {},
        {"method": "POST", "url": "/search", "json": {"text": "a", "where": "gender=Men"}},
        422,
        "invalid_request",
    ),
    ("SQL in a where value", {}, {"method": "GET", "url": "/search?q=a&where=gender=Men' OR 1=1 --"}, 200, ""),
    (
        "where over 1000 characters",
        {},
        {"method": "GET", "url": "/search?q=a&where=" + "a" * 1001},
        422,
        "invalid_request",
    ),
    (
        "similar where over 1000 characters",
        {},
        {"method": "GET", "url": "/products/1163/similar?where=gender%3D" + "a" * 1001},
        422,
        "invalid_request",
    ),
    (
        "upload with a where that is not JSON",
        {},
        upload_request(where="gender=Men"),
        422,
        "invalid_request",
    ),
    ("upload where [1]", {}, upload_request(where="[1]"), 422, "invalid_request"),
    ("upload where a string", {}, upload_request(where='"gender=Women"'), 422, "invalid_request"),
    (
        "where and filter that differ",
        {},
        {"method": "GET", "url": "/search?q=a&where=gender=Men&filter=gender=Women"},
        422,
        "invalid_request",
    ),
]


@pytest.mark.parametrize(
    ("what", "settings", "request_", "status", "code"), WHERE_CASES, ids=[c[0] for c in WHERE_CASES]
)
def test_a_bad_where_gets_a_clear_error(catalog, what, settings, request_, status, code) -> None:  # noqa: ANN001
    assert_clear_error(catalog, settings, request_, status, code)


@pytest.mark.parametrize("name", ["where", "filter"])
def test_a_sql_injection_attempt_in_a_filter_matches_nothing(client, name: str) -> None:
    response = client.get("/search", params=[("q", "a"), (name, "gender=Men' OR 1=1 --")])
    assert response.json()["results"] == []


@pytest.mark.parametrize("bound", ["inf", "-inf", "1e309", "Infinity", "-Infinity", "nan", "1" + "0" * 400])
@pytest.mark.parametrize("keyword_weight", ["0", "0.5"])
def test_a_bound_that_is_not_a_finite_number_is_refused_on_every_path(priced_catalog, bound, keyword_weight) -> None:
    """The exact mask (vector only) and the SQL path (with keywords) refuse it alike."""
    before = priced_catalog.store.count()
    with make_client(priced_catalog) as client:
        response = client.get(
            "/search", params=[("q", "jersey"), ("keyword_weight", keyword_weight), ("filter", f"price<{bound}")]
        )
    assert response.status_code == 400, response.text
    assert (
        "finite number" in response.json()["error"]["message"] or "not a number" in response.json()["error"]["message"]
    )
    assert priced_catalog.store.count() == before


def test_a_json_bound_of_1e999_is_refused(priced_catalog) -> None:
    with make_client(priced_catalog) as client:
        for filters in ('{"price": {"<": 1e999}}', '["price<1e999"]', '{"price": [1, -1e999]}'):
            body = '{"text": "jersey", "keyword_weight": 0.5, "filters": ' + filters + "}"
            response = client.post("/search", content=body, headers={"content-type": "application/json"})
            assert response.status_code == 400, (filters, response.text)
        finite = client.get("/search", params=[("q", "jersey"), ("keyword_weight", "0.5"), ("filter", "price<1e300")])
        assert finite.status_code == 200 and finite.json()["results"]


def test_an_empty_filter_is_no_filter_on_similar_as_on_search(client) -> None:
    plain = client.get("/products/1163/similar").json()["results"]
    assert plain
    assert client.get("/products/1163/similar", params={"filter": ""}).json()["results"] == plain
    assert client.get("/products/1163/similar", params=[("filter", " "), ("filter", "")]).json()["results"] == plain
    searched = client.get("/search", params={"q": "jersey"}).json()["results"]
    assert client.get("/search", params={"q": "jersey", "filter": ""}).json()["results"] == searched
    assert client.get("/search", params={"q": "jersey", "where": ""}).json()["results"] == searched
    assert client.get("/products/1163/similar", params=[("where", " "), ("filter", "")]).json()["results"] == plain
