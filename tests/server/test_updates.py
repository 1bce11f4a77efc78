"""``POST /products/updates``: refused without the write key, applied with it, seen by the next
``/search``, ``/facets`` and ``/products`` request; hostile rows and ids are data, refused with a
4xx that names them, and change nothing."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from fashionclip.search import Catalog
from fashionclip.server import ServerConfig, create_app
from fashionclip.server.schemas import MAX_UPDATES, MAX_VALUE
from fashionclip.testing import KeywordEncoder
from tests.search.conftest import ROWS, write_catalog

KEY = "write-key-123"
WRITER = {"X-API-Key": KEY}


@pytest.fixture(params=["memory", "lance"])
def shop(request, tmp_path) -> Catalog:
    catalog = Catalog.open(":memory:" if request.param == "memory" else tmp_path / "db", model=KeywordEncoder())
    catalog.index(write_catalog(tmp_path))
    return catalog


@pytest.fixture
def client(shop):
    with TestClient(create_app(shop, ServerConfig(write_key=KEY))) as made:
        yield made


def update(client: TestClient, body: dict, headers: dict[str, str] | None = None):
    return client.post("/products/updates", json=body, headers=WRITER if headers is None else headers)


def test_writes_are_off_without_a_write_key_and_want_it_with_one(shop) -> None:
    body = {"rows": [{"id": "d1", "price": 1}]}
    with TestClient(create_app(shop)) as off:
        refused = update(off, body)
        assert refused.status_code == 403 and "takes no writes" in refused.json()["error"]["message"]
    with TestClient(create_app(shop, ServerConfig(api_key="reader-key-1", write_key=KEY))) as guarded:
        assert update(guarded, body, headers={}).status_code == 401
        assert update(guarded, body, headers={"X-API-Key": "reader-key-1"}).status_code == 401  # reading is not writing
        assert update(guarded, body, headers={"Authorization": "Bearer wrong-key-1"}).status_code == 401
        assert guarded.get("/search", params={"q": "red"}, headers=WRITER).status_code == 401
        assert update(guarded, body, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert shop.store.get(["d1"])[0].metadata["price"] == 1


def test_a_price_change_shows_in_the_next_search_facets_and_product(client) -> None:
    assert client.get("/facets").json()["facets"]["price"]["max"] == 120  # cached now
    assert client.get("/search", params={"q": "red", "where": "price>500"}).json()["results"] == []
    answer = update(client, {"rows": [{"id": "d1", "price": 1000}, {"id": "b1", "price": 1}]})
    assert answer.status_code == 200
    assert {k: answer.json()[k] for k in ("rows_updated", "added", "reembedded", "deleted", "total")} == {
        "rows_updated": 2,
        "added": 0,
        "reembedded": 0,
        "deleted": 0,
        "total": len(ROWS),
    }
    price = client.get("/facets").json()["facets"]["price"]
    assert (price["min"], price["max"]) == (1, 1000)
    found = client.get("/search", params={"q": "red", "where": "price>500"}).json()["results"]
    assert [(r["id"], r["metadata"]["price"]) for r in found] == [("d1", 1000)]
    assert client.get("/products/b1").json()["metadata"]["price"] == 1


def test_new_products_texts_and_deletions(client) -> None:
    body = {"rows": [{"id": "n1", "title": "yellow shirt", "gender": "Men", "price": 9}], "delete": ["j1", "nope"]}
    answer = update(client, body).json()
    assert (answer["added"], answer["deleted"], answer["total"]) == (1, 1, len(ROWS))
    assert client.get("/search", params={"q": "yellow", "k": 1}).json()["results"][0]["id"] == "n1"
    assert client.get("/products/j1").status_code == 404
    assert client.get("/health").json()["products"] == len(ROWS)
    genders = client.get("/facets").json()["facets"]["gender"]
    assert dict(zip(genders["values"], genders["counts"], strict=True)) == {"Men": 4, "Women": 4}
    retitled = update(client, {"rows": [{"id": "s1", "title": "green shirt"}]}).json()
    assert retitled["reembedded"] == 1  # a new text: embedded again, from the product's own photo


LONG = "x" * (MAX_VALUE + 1)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"rows": [{"id": "d1", "image": "/etc/passwd"}]}, 400, "image references are not accepted"),
        ({"rows": [{"id": "d1", "price": "cheap"}]}, 400, "item 'd1': column 'price' holds 'cheap', not a number"),
        ({"rows": [{"id": "d1", "colour": "red"}]}, 400, "column 'colour' is not in the index"),
        ({"rows": [{"id": "d1", "price) OR (1=1": 1}]}, 400, "use letters, digits and _"),
        ({"rows": [{"id": "d1", "{0.__class__}": "x"}]}, 400, "use letters, digits and _"),
        ({"rows": [{"id": "d1", "content_hash": "x"}]}, 400, "a name the index keeps for itself"),
        ({"rows": [{"id": "x' OR '1'='1", "price": 1}]}, 400, "item \"x' OR '1'='1\": not in the index"),
        ({"rows": [{"id": "../../etc/passwd", "price": 1}]}, 400, "not in the index"),
        ({"rows": [{"id": "d\u00001", "price": 1}]}, 400, "control character"),
        ({"rows": [{"price": 1}]}, 400, "no id column"),
        ({"rows": [{"id": "d1", "price": 1}], "delete": ["d1"]}, 400, "both updated and deleted"),
        ({"rows": [{"id": "d1", "price": 1}, {"id": "d1", "price": 2}]}, 400, "given twice"),
        ({"rows": [{"id": "d1", "price": True}]}, 422, "rows.0.price"),
        ({"rows": [{"id": "d1", "gender": ["Women"]}]}, 422, "rows.0.gender"),
        ({"rows": [{"id": "d1", "gender": {"$ne": 1}}]}, 422, "rows.0.gender"),
        ({"rows": [{"id": "d1", "title": LONG}]}, 422, f"at most {MAX_VALUE} characters"),
        ({"rows": [{"id": "d1", "c" * 65: 1}]}, 422, "rows.0"),
        ({"rows": [{"id": f"i{n}", "price": 1} for n in range(MAX_UPDATES + 1)]}, 422, f"at most {MAX_UPDATES}"),
        ({"rows": [{}]}, 422, "rows.0"),
        ({"delete": [""]}, 422, "delete.0"),
        ({"delete": "d1"}, 422, "delete"),
        ({"rows": [], "delete": []}, 422, "give rows to apply or ids to delete"),
        ({"rows": [{"id": "d1", "price": 1}], "optimize": True}, 422, "optimize"),
    ],
)
def test_hostile_updates_are_refused_naming_the_problem_and_change_nothing(client, shop, body, status, message):
    before = shop.store.hashes(), [h.metadata for h in shop.store.get(sorted(shop.store.hashes()))]
    answer = update(client, body)
    assert answer.status_code == status, answer.json()
    assert message in answer.json()["error"]["message"]
    assert (shop.store.hashes(), [h.metadata for h in shop.store.get(sorted(shop.store.hashes()))]) == before


def test_non_finite_numbers_and_hostile_ids_to_delete_are_data(client, shop) -> None:
    nan = client.post(
        "/products/updates",
        content='{"rows": [{"id": "d1", "price": NaN}]}',
        headers={**WRITER, "content-type": "application/json"},
    )
    assert nan.status_code == 422
    hostile = ["x') OR 1=1 --", "*", "%", "' OR id IS NOT NULL OR '", "\\", '" || true || "']
    answer = update(client, {"delete": hostile})
    assert answer.status_code == 200 and answer.json()["deleted"] == 0 and len(shop) == len(ROWS)
    assert json.loads(client.get("/health").content)["products"] == len(ROWS)


def test_write_keys_are_checked() -> None:
    with pytest.raises(ValueError, match="a write key must be at least 8"):
        ServerConfig(write_key="short")
    with pytest.raises(ValueError, match="must differ from the API key"):
        ServerConfig(api_key="same-key-1", write_key="same-key-1")
