"""``/search`` with Chinese queries: by vector, by keywords (the index's n-gram tokenizer) and both,
over a catalogue with Chinese titles and a model that reads Chinese (the keyword stand-in)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fashionclip.search import Catalog
from fashionclip.testing import KeywordEncoder
from tests.search.conftest import write_catalog
from tests.search.test_catalog import CHINESE_ROWS
from tests.server.conftest import make_client


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    folder: Path = tmp_path_factory.mktemp("search-chinese")
    catalog = Catalog.open(folder / "shop.lance", model=KeywordEncoder())
    catalog.index(write_catalog(folder, CHINESE_ROWS))
    with make_client(catalog) as test_client:
        yield test_client


def ids(response) -> list[str]:  # noqa: ANN001
    assert response.status_code == 200, response.text
    return [hit["id"] for hit in response.json()["results"]]


def test_a_chinese_text_query(client) -> None:
    assert set(ids(client.post("/search", json={"text": "红色连衣裙", "k": 2}))) == {"d1", "d3"}
    assert set(ids(client.get("/search", params={"q": "红色连衣裙", "k": 2}))) == {"d1", "d3"}


def test_chinese_keywords_and_hybrid(client) -> None:
    assert set(ids(client.get("/search", params={"q": "中长连衣裙", "keyword_weight": 1, "k": 2}))) == {"d1", "d2"}
    assert ids(client.post("/search", json={"text": "皮革", "keyword_weight": 1, "k": 5})) == ["b1"]
    assert set(ids(client.post("/search", json={"text": "中长", "keyword_weight": 0.5, "k": 2}))) == {"d1", "d2"}
    filtered = client.post("/search", json={"text": "衬衫", "keyword_weight": 1, "where": {"gender": "Men"}, "k": 5})
    assert set(ids(filtered)) == {"s1", "s2"}
