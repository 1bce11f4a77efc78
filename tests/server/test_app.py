"""The HTTP API in-process, with the library itself as the oracle for every result."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fashionclip.sample import sample_catalog
from fashionclip.server.app import STATIC
from tests.server.conftest import make_client

ROOT, ROWS = sample_catalog()
PHOTO = ROOT / "images" / "1163.jpg"


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def ids(response) -> list[str]:  # noqa: ANN001
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["results"]]


def test_health_and_docs(client) -> None:
    body = client.get("/health").json()
    assert body == {
        "status": "ok",
        "model": "fashion-clip-mini",
        "dim": 256,
        "products": len(ROWS),
        "api_key_required": False,
    }
    spec = client.get("/openapi.json").json()
    for path in ("/search", "/search/upload", "/embed", "/classify", "/products/{product_id}/similar", "/facets"):
        assert path in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_text_search_equals_the_library(client, catalog) -> None:
    expected = [h.id for h in catalog.search("black leather handbag", k=5)]
    assert ids(client.get("/search", params={"q": "black leather handbag", "k": 5})) == expected
    assert ids(client.post("/search", json={"text": "black leather handbag", "k": 5})) == expected
    page2 = ids(client.post("/search", json={"text": "black leather handbag", "k": 2, "offset": 2}))
    assert page2 == expected[2:4]
    assert client.get("/search", params={"q": "bag", "k": 5}).json()["has_more"] is True
    last = client.get("/search", params={"q": "bag", "k": 100, "offset": len(ROWS) - 100}).json()
    assert len(last["results"]) == 100 and last["has_more"] is False
    hit = client.get("/search", params={"q": "black leather handbag", "k": 1}).json()["results"][0]
    assert hit["image_url"] == f"/products/{expected[0]}/image"
    assert hit["metadata"]["articleType"]


def test_filters_hybrid_and_diversity_equal_the_library(client, catalog) -> None:
    where = {"gender": "Women", "masterCategory": ["Footwear", "Accessories"]}
    expected = [h.id for h in catalog.search("shoes", where=where, k=8)]
    got = client.post("/search", json={"text": "shoes", "filters": where, "k": 8})
    assert ids(got) == expected
    assert all(r["metadata"]["gender"] == "Women" for r in got.json()["results"])
    as_expressions = client.get("/search", params=[("q", "shoes"), ("filter", "gender=Women"), ("k", "8")])
    assert ids(as_expressions) == [h.id for h in catalog.search("shoes", where=["gender=Women"], k=8)]
    hybrid = client.post("/search", json={"text": "jeans", "keyword_weight": 0.5, "k": 6})
    assert ids(hybrid) == [h.id for h in catalog.search("jeans", keyword_weight=0.5, k=6)]
    keywords = client.get("/search", params={"q": "jeans", "keyword_weight": 1, "k": 6})
    assert ids(keywords) == [h.id for h in catalog.keyword_search("jeans", k=6)]
    diverse = client.post("/search", json={"text": "shirt", "diversity": 0.5, "k": 5})
    assert ids(diverse) == [h.id for h in catalog.search("shirt", diversity=0.5, k=5)]


def test_image_composed_and_upload_search(client, catalog) -> None:
    by_image = ids(client.post("/search", json={"image": b64(PHOTO), "k": 5}))
    assert by_image == [h.id for h in catalog.search(image=str(PHOTO), k=5)]
    assert by_image[0] == "1163"  # the same photo
    data_url = "data:image/jpeg;base64," + b64(PHOTO)
    assert ids(client.post("/search", json={"image": data_url, "k": 5})) == by_image
    composed = client.post("/search", json={"text": "red", "image": b64(PHOTO), "image_weight": 0.4, "k": 5})
    assert ids(composed) == [h.id for h in catalog.search("red", image=str(PHOTO), image_weight=0.4, k=5)]
    with PHOTO.open("rb") as handle:
        upload = client.post(
            "/search/upload",
            files={"image": ("photo.jpg", handle, "image/jpeg")},
            data={"text": "red", "image_weight": "0.4", "k": "5", "filters": '{"gender": "Men"}'},
        )
    where = {"gender": "Men"}
    assert ids(upload) == [h.id for h in catalog.search("red", image=str(PHOTO), image_weight=0.4, where=where, k=5)]


def test_products_similar_and_images(client, catalog) -> None:
    product = client.get("/products/1163").json()
    assert product["text"] == "Nike Sahara Team India Fanwear Round Neck Jersey"
    assert product["metadata"]["gender"] == "Men"
    assert product["tags"] is None
    tagged = client.get("/products/1163", params={"tags": "true"}).json()["tags"]
    assert set(tagged) == {"category", "colour", "pattern", "style"}
    assert all(0 <= t["score"] <= 1 for tags in tagged.values() for t in tags)
    similar = ids(client.get("/products/1163/similar", params={"k": 5}))
    assert similar == [h.id for h in catalog.search(like="1163", k=5)]
    assert "1163" not in similar
    image = client.get("/products/1163/image")
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/jpeg"
    assert image.content == PHOTO.read_bytes()


def test_images_outside_the_configured_roots_are_not_served(catalog, tmp_path: Path) -> None:
    with make_client(catalog, image_roots=(tmp_path,)) as client:
        response = client.get("/products/1163/image")
    assert response.status_code == 404
    assert "image folders" in response.json()["error"]["message"]


def test_embed_equals_the_encoder(client, mini_encoder) -> None:
    response = client.post("/embed", json={"texts": ["red dress", "jeans"], "images": [b64(PHOTO)]})
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "fashion-clip-mini" and body["dim"] == 256
    np.testing.assert_allclose(body["texts"], mini_encoder.encode_texts(["red dress", "jeans"]), atol=1e-5)
    np.testing.assert_allclose(body["images"], mini_encoder.encode_images([str(PHOTO)]), atol=1e-5)


def test_classify_labels_and_taxonomy(client, mini_encoder) -> None:
    from fashionclip.zeroshot import ZeroShotClassifier

    labels = ["t-shirt", "shoes", "handbag"]
    response = client.post("/classify", json={"labels": labels, "images": [b64(PHOTO)], "ids": ["1163"], "k": 3})
    assert response.status_code == 200
    items = response.json()["items"]
    expected = ZeroShotClassifier(mini_encoder, labels).predict([str(PHOTO)], k=3)[0]
    assert [p["label"] for p in items[0]["labels"]] == [p.label for p in expected]
    assert items[0]["input"] == "image #0" and items[1]["input"] == "1163"
    assert [p["label"] for p in items[1]["labels"]] == [p["label"] for p in items[0]["labels"]]
    taxonomy = {"attributes": {"colour": {"labels": ["blue", "red"]}, "kind": {"labels": ["top", "shoe"]}}}
    tagged = client.post("/classify", json={"taxonomy": taxonomy, "ids": ["1163"], "k": 1}).json()["items"][0]
    assert set(tagged) == {"input", "colour", "kind"}
    assert len(tagged["colour"]) == 1


def test_facets(client) -> None:
    facets = client.get("/facets").json()["facets"]
    gender = facets["gender"]
    assert gender["kind"] == "text" and gender["complete"]
    counts = dict(zip(gender["values"], gender["counts"], strict=True))
    assert counts == {g: sum(r["gender"] == g for r in ROWS) for g in {r["gender"] for r in ROWS}}


def test_metrics_count_routes_and_batches(client) -> None:
    client.get("/search", params={"q": "dress"})
    client.get("/products/nope")
    text = client.get("/metrics").text
    assert 'fashionclip_requests_total{method="GET",route="/search",status="200"} 1.0' in text
    assert 'route="/products/{product_id}",status="404"' in text
    assert 'fashionclip_batch_size_count{kind="text"}' in text
    assert "fashionclip_products 120.0" in text


def test_made_up_methods_share_one_metrics_label(client) -> None:
    for method in ("BREW", "PROPFIND", "X" * 60, "PATCH", "DELETE"):
        assert client.request(method, "/search").status_code == 405
    client.get("/metrics")
    text = client.get("/metrics").text
    assert set(re.findall(r'fashionclip_requests_total\{method="([^"]*)"', text)) == {"GET", "OTHER"}
    assert 'fashionclip_requests_total{method="OTHER",route="/search",status="405"} 5.0' in text


def test_the_schema_documents_every_status_and_content_type(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"200", "400", "413"} <= set(responses), (method, path)
            for status, response in responses.items():
                if status.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema["$ref"].endswith("/ErrorResponse"), (method, path, status)
    assert "422" in paths["/search"]["get"]["responses"] and "404" in paths["/search"]["get"]["responses"]
    assert {"401", "404", "415", "422"} <= set(paths["/classify"]["post"]["responses"])
    image = paths["/products/{product_id}/image"]["get"]["responses"]
    assert set(image["200"]["content"]) == {f"image/{t}" for t in ("jpeg", "png", "webp", "gif", "bmp", "tiff")}
    assert "307" in image and "404" in image
    assert set(paths["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}


def test_a_product_image_is_served_as_what_its_bytes_are(tmp_path: Path, mini_encoder) -> None:
    from fashionclip.search import Catalog

    (tmp_path / "images").mkdir()
    png = tmp_path / "images" / "a.jpg"  # a PNG under a .jpg name
    png.write_bytes(png_bytes(40, 50))
    (tmp_path / "c.csv").write_text("id,image,title\na,images/a.jpg,red shirt\n")
    catalog = Catalog.open(tmp_path / "c.lance", model=mini_encoder)
    catalog.index(tmp_path / "c.csv")
    with make_client(catalog) as client:
        served = client.get("/products/a/image")
        assert served.headers["content-type"] == "image/png" and served.content == png.read_bytes()
        assert served.headers["x-content-type-options"] == "nosniff"
        png.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n")  # replaced after indexing by something no image
        refused = client.get("/products/a/image")
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"


def test_api_key(catalog) -> None:
    with make_client(catalog, api_key="s3cret-key") as client:
        assert client.get("/health").json()["api_key_required"] is True
        assert client.get("/").status_code == 200  # the page asks for the key itself
        refused = client.get("/search", params={"q": "dress"})
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        assert client.get("/search", params={"q": "dress"}, headers={"X-API-Key": "wrong-key!"}).status_code == 401
        assert client.get("/metrics").status_code == 401
        assert client.get("/products/1163/image").status_code == 401
        assert client.get("/search", params={"q": "dress"}, headers={"X-API-Key": "s3cret-key"}).status_code == 200
        bearer = {"Authorization": "Bearer s3cret-key"}
        assert client.get("/products/1163", headers=bearer).status_code == 200


def test_short_api_keys_are_refused() -> None:
    from fashionclip.server import ServerConfig

    with pytest.raises(ValueError, match="at least 8"):
        ServerConfig(api_key="short")


def test_url_images_when_allowed_refuse_private_addresses(catalog) -> None:
    with make_client(catalog, allow_urls=True) as client:
        for url in ("http://127.0.0.1:8000/x.jpg", "http://169.254.169.254/latest/meta-data", "http://[::1]/a.png"):
            response = client.post("/search", json={"image": url})
            assert response.status_code == 400, url
            assert response.json()["error"]["code"] == "url_refused"


def test_the_page_and_its_assets_are_served(client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert '<script type="module" src="static/main.js">' in page.text
    modules = sorted(p.name for p in STATIC.glob("*.js"))
    assert {"api.js", "cards.js", "filters.js", "main.js", "search.js"} <= set(modules)
    for name in modules:
        script = client.get(f"/static/{name}")
        assert script.status_code == 200 and script.headers["cache-control"] == "no-cache"
        # a browser runs an ES module only when it comes as JavaScript
        assert script.headers["content-type"].startswith("text/javascript"), name
        for imported in re.findall(r'from "\./([\w-]+\.js)"', script.text):
            assert imported in modules, (name, imported)
    assert client.get("/static/../app.py").status_code == 404


def png_bytes(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_serving_from_milvus_lite(tmp_path: Path, mini_encoder) -> None:
    from fashionclip.search import Catalog

    catalog = Catalog.open(f"milvus-lite:{tmp_path}/shop.db", model=mini_encoder)
    catalog.index(ROOT / "catalog.csv")
    with make_client(catalog) as client:
        got = client.get("/search", params=[("q", "handbag"), ("filter", "gender=Women"), ("k", "5")])
        assert ids(got) == [h.id for h in catalog.search("handbag", where={"gender": "Women"}, k=5)]
        assert client.get("/products/1163/image").content == PHOTO.read_bytes()
        assert client.get("/facets").json()["facets"]["gender"]["complete"] is True
