"""Every bad input gets a clear 4xx JSON error naming the problem, never a 500, and nothing indexed
is lost. ``CASES`` is also printed as a table by ``scripts/bad_inputs.py``."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from fashionclip.preprocess.image import ImageLimits
from fashionclip.sample import sample_catalog
from tests.server.conftest import assert_clear_error, make_client, png_bytes, upload_request

ROOT, ROWS = sample_catalog()
PHOTO_B64 = base64.b64encode((ROOT / "images" / "1163.jpg").read_bytes()).decode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nnewpath 0 0 moveto 8 8 lineto stroke\nshowpage\n"


def _classify(**body: Any) -> dict[str, Any]:
    return {"method": "POST", "url": "/classify", "json": {"ids": ["1163"], **body}}


def _taxonomy(**attribute: Any) -> dict[str, Any]:
    return {"attributes": {"colour": {"labels": ["red", "blue"], **attribute}}}


def _chunks(total: int):  # noqa: ANN202
    """A well-formed multipart upload, streamed without a Content-Length, that grows past the limit."""
    yield b'--x\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    for _ in range(total // 65536):
        yield b"x" * 65536


# (what, server settings, request, status, error code)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], int, str]] = [
    ("k = 0", {}, {"method": "GET", "url": "/search?q=dress&k=0"}, 422, "invalid_request"),
    ("k not a number", {}, {"method": "GET", "url": "/search?q=dress&k=ten"}, 422, "invalid_request"),
    ("k over the server's max_k", {}, {"method": "GET", "url": "/search?q=dress&k=5000"}, 400, "bad_request"),
    ("negative offset", {}, {"method": "GET", "url": "/search?q=dress&offset=-1"}, 422, "invalid_request"),
    ("k + offset too deep", {}, {"method": "GET", "url": "/search?q=dress&k=10&offset=20000"}, 400, "bad_request"),
    ("no query at all", {}, {"method": "POST", "url": "/search", "json": {}}, 400, "bad_request"),
    ("empty text", {}, {"method": "POST", "url": "/search", "json": {"text": "   "}}, 400, "bad_request"),
    (
        "text over 1000 characters",
        {},
        {"method": "POST", "url": "/search", "json": {"text": "a" * 1001}},
        422,
        "invalid_request",
    ),
    (
        "image_weight 2",
        {},
        {"method": "POST", "url": "/search", "json": {"text": "a", "image_weight": 2}},
        422,
        "invalid_request",
    ),
    (
        "keyword search without text",
        {},
        {"method": "POST", "url": "/search", "json": {"like": "1163", "keyword_weight": 0.5}},
        400,
        "bad_request",
    ),
    (
        "unknown field",
        {},
        {"method": "POST", "url": "/search", "json": {"text": "a", "colour": "red"}},
        422,
        "invalid_request",
    ),
    (
        "filter on an unknown column",
        {},
        {"method": "POST", "url": "/search", "json": {"text": "a", "filters": {"brand": "Nike"}}},
        400,
        "bad_request",
    ),
    ("filter with a bad operator", {}, {"method": "GET", "url": "/search?q=a&filter=gender~Men"}, 400, "bad_request"),
    (
        "filter of the wrong type",
        {},
        {"method": "POST", "url": "/search", "json": {"text": "a", "filters": "gender=Men"}},
        422,
        "invalid_request",
    ),
    ("SQL in a filter value", {}, {"method": "GET", "url": "/search?q=a&filter=gender=Men' OR 1=1 --"}, 200, ""),
    (
        "malformed JSON",
        {},
        {"method": "POST", "url": "/search", "content": b"{text: ", "headers": {"content-type": "application/json"}},
        422,
        "invalid_request",
    ),
    (
        "form data instead of JSON",
        {},
        {"method": "POST", "url": "/search", "data": {"text": "a"}},
        422,
        "invalid_request",
    ),
    (
        "unknown product in like",
        {},
        {"method": "POST", "url": "/search", "json": {"like": "no-such-id"}},
        404,
        "not_found",
    ),
    ("image not base64", {}, {"method": "POST", "url": "/search", "json": {"image": "not base64!"}}, 400, "bad_image"),
    (
        "image bytes that are not an image",
        {},
        {"method": "POST", "url": "/search", "json": {"image": _b64(b"hello world")}},
        415,
        "bad_image",
    ),
    (
        "a server file path as image",
        {},
        {"method": "POST", "url": "/search", "json": {"image": "/etc/passwd"}},
        400,
        "bad_image",
    ),
    (
        "a file:// URL as image",
        {},
        {"method": "POST", "url": "/search", "json": {"image": "file:///etc/passwd"}},
        400,
        "bad_image",
    ),
    (
        "an s3:// URL as image",
        {},
        {"method": "POST", "url": "/search", "json": {"image": "s3://bucket/key.jpg"}},
        400,
        "bad_image",
    ),
    (
        "an http URL while URLs are disabled",
        {},
        {"method": "POST", "url": "/search", "json": {"image": "https://example.com/a.jpg"}},
        400,
        "url_refused",
    ),
    (
        "a loopback URL",
        {"allow_urls": True},
        {"method": "POST", "url": "/search", "json": {"image": "http://127.0.0.1:8000/a.jpg"}},
        400,
        "url_refused",
    ),
    (
        "the cloud metadata address",
        {"allow_urls": True},
        {"method": "POST", "url": "/search", "json": {"image": "http://169.254.169.254/latest/"}},
        400,
        "url_refused",
    ),
    (
        "a private network URL",
        {"allow_urls": True},
        {"method": "POST", "url": "/search", "json": {"image": "http://10.0.0.8/a.jpg"}},
        400,
        "url_refused",
    ),
    (
        "localhost by name",
        {"allow_urls": True},
        {"method": "POST", "url": "/search", "json": {"image": "http://localhost/a.jpg"}},
        400,
        "url_refused",
    ),
    (
        "an ftp URL",
        {"allow_urls": True},
        {"method": "POST", "url": "/search", "json": {"image": "ftp://example.com/a.jpg"}},
        400,
        "bad_image",
    ),
    (
        "image over max_pixels (header only)",
        {"limits": ImageLimits(max_pixels=1_000_000, max_bytes=10_000_000, url_timeout=10.0)},
        {"method": "POST", "url": "/search", "json": {"image": _b64(png_bytes(2000, 2000))}},
        413,
        "image_too_large",
    ),
    (
        "body over max_upload_bytes",
        {"max_upload_bytes": 50_000},
        {"method": "POST", "url": "/search", "json": {"image": PHOTO_B64 * 20}},
        413,
        "too_large",
    ),
    (
        "chunked body over max_upload_bytes",
        {"max_upload_bytes": 100_000},
        {
            "method": "POST",
            "url": "/search/upload",
            "content": _chunks(400_000),
            "headers": {"content-type": "multipart/form-data; boundary=x"},
        },
        413,
        "too_large",
    ),
    (
        "upload without a file",
        {},
        {"method": "POST", "url": "/search/upload", "data": {"text": "red"}},
        422,
        "invalid_request",
    ),
    (
        "upload of a text file",
        {},
        {"method": "POST", "url": "/search/upload", "files": {"image": ("a.jpg", b"just text", "image/jpeg")}},
        415,
        "bad_image",
    ),
    (
        "upload of an empty file",
        {},
        {"method": "POST", "url": "/search/upload", "files": {"image": ("a.jpg", b"", "image/jpeg")}},
        400,
        "bad_image",
    ),
    (
        "upload with filters that are not JSON",
        {},
        {
            "method": "POST",
            "url": "/search/upload",
            "files": {"image": ("a.png", png_bytes(8, 8), "image/png")},
            "data": {"filters": "gender=Men"},
        },
        422,
        "invalid_request",
    ),
    ("unknown product", {}, {"method": "GET", "url": "/products/no-such-id"}, 404, "not_found"),
    (
        "path traversal in a product id",
        {},
        {"method": "GET", "url": "/products/..%2F..%2Fetc%2Fpasswd/image"},
        404,
        "not_found",
    ),
    ("similar to an unknown product", {}, {"method": "GET", "url": "/products/no-such-id/similar"}, 404, "not_found"),
    (
        "embed a number as text",
        {},
        {"method": "POST", "url": "/embed", "json": {"texts": ["ok", 3]}},
        422,
        "invalid_request",
    ),
    (
        "embed too many texts",
        {},
        {"method": "POST", "url": "/embed", "json": {"texts": ["a"] * 257}},
        422,
        "invalid_request",
    ),
    (
        "classify with labels and a taxonomy",
        {},
        {
            "method": "POST",
            "url": "/classify",
            "json": {"labels": ["a", "b"], "taxonomy": {"attributes": {}}, "ids": ["1163"]},
        },
        422,
        "invalid_request",
    ),
    (
        "classify with nothing to classify",
        {},
        {"method": "POST", "url": "/classify", "json": {"labels": ["a", "b"]}},
        422,
        "invalid_request",
    ),
    (
        "classify with no labels",
        {},
        {"method": "POST", "url": "/classify", "json": {"labels": [], "ids": ["1163"]}},
        400,
        "bad_request",
    ),
    (
        "classify with duplicate labels",
        {},
        {"method": "POST", "url": "/classify", "json": {"labels": ["shirt", "shirt"], "ids": ["1163"]}},
        400,
        "bad_request",
    ),
    (
        "classify with a broken taxonomy",
        {},
        {
            "method": "POST",
            "url": "/classify",
            "json": {"taxonomy": {"attributes": {"a": {"labels": ["x"], "parent": "zz"}}}, "ids": ["1163"]},
        },
        400,
        "bad_request",
    ),
    (
        "classify an unknown product",
        {},
        {"method": "POST", "url": "/classify", "json": {"labels": ["a", "b"], "ids": ["no-such-id"]}},
        404,
        "not_found",
    ),
    (
        "classify with a template lacking {}",
        {},
        {"method": "POST", "url": "/classify", "json": {"labels": ["a", "b"], "templates": "a photo", "ids": ["1163"]}},
        400,
        "bad_request",
    ),
    # a client's template or taxonomy is data: never a path on the server, never a format string
    (
        "templates naming a server file",
        {},
        _classify(labels=["red", "blue"], templates="/etc/passwd"),
        400,
        "bad_request",
    ),
    (
        "templates naming a relative file",
        {},
        _classify(labels=["a", "b"], templates="../../etc/passwd"),
        400,
        "bad_request",
    ),
    (
        "templates naming a missing file",
        {},
        _classify(labels=["a", "b"], templates="/no/such/file"),
        400,
        "bad_request",
    ),
    (
        "taxonomy templates naming a server file",
        {},
        _classify(taxonomy={"templates": "/etc/passwd", **_taxonomy()}),
        400,
        "bad_request",
    ),
    (
        "attribute templates naming a server file",
        {},
        _classify(taxonomy=_taxonomy(templates="/etc/passwd")),
        400,
        "bad_request",
    ),
    ("template with a stray {", {}, _classify(labels=["a", "b"], templates="{} {"), 400, "bad_request"),
    ("template with a stray }", {}, _classify(labels=["a", "b"], templates="a {} }"), 400, "bad_request"),
    ("template with a named field", {}, _classify(labels=["a", "b"], templates="{}{x}"), 400, "bad_request"),
    ("template with a numbered field", {}, _classify(labels=["a", "b"], templates="{}{0}"), 400, "bad_request"),
    (
        "template reaching an attribute",
        {},
        _classify(labels=["a", "b"], templates="{} {.__class__}"),
        400,
        "bad_request",
    ),
    (
        "template list with a bad one",
        {},
        _classify(labels=["a", "b"], templates=["a {}", "{!r}"]),
        400,
        "bad_request",
    ),
    ("templates of the wrong type", {}, _classify(labels=["a", "b"], templates=5), 422, "invalid_request"),
    ("taxonomy prompts as a string", {}, _classify(taxonomy=_taxonomy(prompts="abc")), 400, "bad_request"),
    ("taxonomy prompts as a number", {}, _classify(taxonomy=_taxonomy(prompts=5)), 400, "bad_request"),
    ("taxonomy prompt not a text", {}, _classify(taxonomy=_taxonomy(prompts={"red": 5})), 400, "bad_request"),
    ("taxonomy prompt for no label", {}, _classify(taxonomy=_taxonomy(prompts={"x": ["a x"]})), 400, "bad_request"),
    (
        "taxonomy templates a number",
        {},
        _classify(taxonomy={"templates": 5, **_taxonomy()}),
        400,
        "bad_request",
    ),
    ("taxonomy label a mapping", {}, _classify(taxonomy=_taxonomy(labels=["red", {"a": 1}])), 400, "bad_request"),
    ("taxonomy thresholds a list", {}, _classify(taxonomy=_taxonomy(thresholds=[1])), 400, "bad_request"),
    (
        "taxonomy label over 1000 characters",
        {},
        _classify(taxonomy=_taxonomy(labels=["red", "x" * 1001])),
        400,
        "bad_request",
    ),
    ("classify label over 1000 characters", {}, _classify(labels=["red", "x" * 1001]), 422, "invalid_request"),
    ("classify multi_label 1", {}, _classify(labels=["a", "b"], multi_label=1), 422, "invalid_request"),
    # a body model built by hand validates as a JSON body does
    ("upload filters [1]", {}, upload_request(filters="[1]"), 422, "invalid_request"),
    ("upload filters [null]", {}, upload_request(filters="[null]"), 422, "invalid_request"),
    ("upload filters nested list", {}, upload_request(filters='[["gender=Women"]]'), 422, "invalid_request"),
    ("upload filters list of objects", {}, upload_request(filters='[{"gender": "Women"}]'), 422, "invalid_request"),
    ("upload filters a string", {}, upload_request(filters='"gender=Women"'), 422, "invalid_request"),
    # only JPEG, PNG, WebP, GIF, BMP and TIFF reach Pillow (EPS would run Ghostscript)
    (
        "upload of an EPS file",
        {},
        {"method": "POST", "url": "/search/upload", "files": {"image": ("a.eps", EPS, "image/jpeg")}},
        415,
        "bad_image",
    ),
    ("an EPS file as base64", {}, {"method": "POST", "url": "/search", "json": {"image": _b64(EPS)}}, 415, "bad_image"),
    (
        "an SVG file as base64",
        {},
        {"method": "POST", "url": "/embed", "json": {"images": [_b64(b"<svg xmlns='http://www.w3.org/2000/svg'/>")]}},
        415,
        "bad_image",
    ),
    (
        "a truncated PNG",
        {},
        {"method": "POST", "url": "/search", "json": {"image": _b64(png_bytes(8, 8)[:20])}},
        415,
        "bad_image",
    ),
    (
        "embed a 1 MB text",
        {},
        {"method": "POST", "url": "/embed", "json": {"texts": ["a" * 1_000_000]}},
        422,
        "invalid_request",
    ),
    (
        "embed normalize 0",
        {},
        {"method": "POST", "url": "/embed", "json": {"texts": ["a"], "normalize": 0}},
        422,
        "invalid_request",
    ),
    (
        "search offset false",
        {},
        {"method": "POST", "url": "/search", "json": {"text": "a", "offset": False}},
        422,
        "invalid_request",
    ),
    (
        "search k as a string",
        {},
        {"method": "POST", "url": "/search", "json": {"text": "a", "k": "5"}},
        422,
        "invalid_request",
    ),
    (
        "search like over 1000 characters",
        {},
        {"method": "GET", "url": "/search?like=" + "x" * 1001},
        422,
        "invalid_request",
    ),
    (
        "filter over 1000 characters",
        {},
        {"method": "GET", "url": "/search?q=a&filter=" + "a" * 1001},
        422,
        "invalid_request",
    ),
    (
        "similar filter over 1000 characters",
        {},
        {"method": "GET", "url": "/products/1163/similar?filter=gender%3D" + "a" * 1001},
        422,
        "invalid_request",
    ),
    ("unknown route", {}, {"method": "GET", "url": "/admin"}, 404, "not_found"),
    ("wrong method", {}, {"method": "DELETE", "url": "/search"}, 405, "method_not_allowed"),
    ("no API key", {"api_key": "0123456789"}, {"method": "GET", "url": "/search?q=dress"}, 401, "unauthorized"),
    (
        "wrong API key",
        {"api_key": "0123456789"},
        {"method": "GET", "url": "/facets", "headers": {"X-API-Key": "9876543210"}},
        401,
        "unauthorized",
    ),
]


@pytest.mark.parametrize(("what", "settings", "request_", "status", "code"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(catalog, what, settings, request_, status, code) -> None:  # noqa: ANN001
    assert_clear_error(catalog, settings, request_, status, code)


def test_a_template_file_on_the_server_is_never_read(catalog, tmp_path, monkeypatch) -> None:
    """A canary file, by absolute and relative path, through every field that takes templates: its
    content never comes back, and an existing file answers exactly as a missing one does."""
    canary = tmp_path / "canary.txt"
    canary.write_text("CANARY-51c9 {}\n")
    monkeypatch.chdir(tmp_path)
    messages = set()
    with make_client(catalog) as client:
        for path in (str(canary), "canary.txt", "./canary.txt", f"../{tmp_path.name}/canary.txt", "nothere.txt"):
            for body in (
                {"labels": ["red", "blue"], "templates": path},
                {"labels": ["red", "blue"], "templates": [path]},
                {"taxonomy": {"templates": path, **_taxonomy()}},
                {"taxonomy": _taxonomy(templates=path)},
            ):
                response = client.post("/classify", json={**body, "ids": ["1163"]})
                assert response.status_code == 400, response.text
                assert "CANARY" not in response.text
                message = response.json()["error"]["message"]
                reason = message.rsplit(": ", 1)[-1]  # what follows the (shortened) path
                messages.add((str(body)[:20], re.sub(r"'[^']*'", "PATH", reason)))
    assert len(messages) == 4, messages  # one answer per field, whatever the path
