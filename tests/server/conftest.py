"""Server fixtures: the bundled sample catalogue indexed once with the bundled model, the app
in-process, and the same app served for real by uvicorn on 127.0.0.1 for the browser test."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from fashionclip.sample import sample_catalog
from fashionclip.search import Catalog
from fashionclip.server import ServerConfig, create_app
from fashionclip.server.background import BackgroundServer


@pytest.fixture(scope="session")
def mini_encoder():
    from fashionclip import load_model

    return load_model("fashion-clip-mini", backend="torch", precision="fp32")


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory, mini_encoder) -> Path:
    """The 120-product sample catalogue in a LanceDB index on disk."""
    db = tmp_path_factory.mktemp("server") / "sample.lance"
    root, _ = sample_catalog()
    Catalog.open(db, model=mini_encoder).index(root / "catalog.csv")
    return db


@pytest.fixture(scope="session")
def priced_db(tmp_path_factory: pytest.TempPathFactory, mini_encoder) -> Path:
    """The sample catalogue with a numeric ``price`` column (a few missing), in a LanceDB index:
    numbers reach the SQL path and the facets' ranges."""
    import csv

    root, rows = sample_catalog()
    folder = tmp_path_factory.mktemp("priced")
    with (folder / "catalog.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, [*rows[0], "price"])
        writer.writeheader()
        for i, row in enumerate(rows):
            price = "" if i % 9 == 0 else f"{(int(row['id']) % 97) * 1.5 + 4.99:.2f}"
            writer.writerow({**row, "image": str(root / row["image"]), "price": price})
    db = folder / "priced.lance"
    Catalog.open(db, model=mini_encoder).index(folder / "catalog.csv")
    return db


@pytest.fixture()
def priced_catalog(priced_db: Path, mini_encoder) -> Catalog:
    return Catalog.open(priced_db, model=mini_encoder)


@pytest.fixture()
def catalog(sample_db: Path, mini_encoder) -> Catalog:
    return Catalog.open(sample_db, model=mini_encoder)


def make_client(catalog: Catalog, **config):
    from fastapi.testclient import TestClient

    return TestClient(create_app(catalog, ServerConfig(**config)))


@pytest.fixture()
def client(catalog: Catalog):
    with make_client(catalog) as test_client:
        yield test_client


def assert_clear_error(
    catalog: Catalog, settings: dict[str, Any], request: dict[str, Any], status: int, code: str
) -> None:
    """``request`` to a server with ``settings`` gets ``status`` and a JSON error ``code`` with a
    message, never a line of a server file, and the index keeps every item."""
    before = catalog.store.count()
    with make_client(catalog, **settings) as client:
        response = client.request(**request)
    assert response.status_code == status, response.text
    if code:
        error = response.json()["error"]
        assert error["code"] == code
        assert len(error["message"]) > 10
    assert "root:" not in response.text  # no line of /etc/passwd ever comes back
    assert catalog.store.count() == before


def png_bytes(width: int, height: int) -> bytes:
    """A black PNG of that size."""
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def upload_request(**data: str) -> dict[str, Any]:
    """A POST /search/upload of a small PNG with these form fields."""
    return {
        "method": "POST",
        "url": "/search/upload",
        "files": {"image": ("a.png", png_bytes(8, 8), "image/png")},
        "data": data,
    }


LiveServer = BackgroundServer  # the name the tests use


@pytest.fixture()
def live_server(catalog: Catalog) -> Iterator[LiveServer]:
    with LiveServer(create_app(catalog, ServerConfig())) as server:
        yield server
