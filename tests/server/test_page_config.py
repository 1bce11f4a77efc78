"""The page's card fields and example queries come from the index's own columns (or the settings),
never from one catalogue's column names."""

from __future__ import annotations

import csv
from pathlib import Path

from fashionclip.catalog.reader import ColumnMap
from fashionclip.sample import sample_catalog
from fashionclip.search import Catalog
from fashionclip.server.page_config import DEFAULT_EXAMPLES, categorical_columns, page_config
from tests.server.conftest import make_client


def text_facet(counts: dict[str, int], complete: bool = True) -> dict:
    ordered = sorted(counts.items(), key=lambda item: -item[1])
    return {"kind": "text", "values": [v for v, _ in ordered], "counts": [c for _, c in ordered], "complete": complete}


FACETS = {
    "title": text_facet({f"title {i}": 1 for i in range(48)} | {"twin": 2}),  # nearly unique
    "name": text_facet({f"name {i}": 1 for i in range(8)} | {"twin": 2}, complete=False),  # the top of many
    "colour": text_facet({"red": 20, "blue": 15, "green": 10, "black": 5}),
    "material": text_facet({"cotton": 30, "wool": 20}),
    "fit": text_facet({"slim": 40, "loose": 10}),
    "sku": text_facet({f"sku-{i}": 1 for i in range(50)}, complete=False),  # an identifier
    "only": text_facet({"same": 50}),  # one value: sorts nothing
    "price": {"kind": "numeric", "min": 1.0, "max": 99.0},
}


def test_card_fields_are_the_categorical_columns_most_varied_first() -> None:
    assert categorical_columns(FACETS, products=50) == ["colour", "material", "fit"]
    config = page_config(FACETS, products=50)
    assert config.card_fields == ["colour", "material", "fit"]
    assert config.examples == ["red", "blue", "green", "black"]  # the most frequent values of the first


def test_the_settings_win_and_no_category_falls_back() -> None:
    given = page_config(FACETS, 50, card_fields=["fit"], examples=["a wool coat"])
    assert given.card_fields == ["fit"] and given.examples == ["a wool coat"]
    assert page_config(FACETS, 50, card_fields=["fit"]).examples == ["slim", "loose"]
    bare = page_config({"price": FACETS["price"], "title": FACETS["title"]}, 50)
    assert bare.card_fields == [] and bare.examples == list(DEFAULT_EXAMPLES)
    assert page_config({}, 0).examples == list(DEFAULT_EXAMPLES)


def test_the_sample_catalogue_shows_its_own_columns(client) -> None:
    page = client.get("/page-config").json()
    assert page["card_fields"] == ["articleType", "baseColour", "subCategory"]
    _, rows = sample_catalog()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["articleType"]] = counts.get(row["articleType"], 0) + 1
    assert set(page["examples"]) <= set(counts) and len(page["examples"]) == 5
    assert counts[page["examples"][0]] == max(counts.values())


def test_a_catalogue_with_other_columns(tmp_path: Path, mini_encoder) -> None:
    """No Kaggle column at all: the page still gets fields and examples, from this catalogue."""
    root, rows = sample_catalog()
    source = tmp_path / "shop.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "photo", "name", "audience", "colourway", "only", "rrp"])
        for i, row in enumerate(rows[:40]):
            photo = str(root / row["image"])
            writer.writerow(
                [row["id"], photo, row["title"], row["gender"], row["baseColour"], row["masterCategory"], i]
            )
    catalog = Catalog.open(tmp_path / "shop.lance", model=mini_encoder)
    catalog.index(source, ColumnMap(id_column="sku", image_column="photo", text_columns="name"))
    with make_client(catalog) as client:
        page = client.get("/page-config").json()
        # 10 colours, 3 audiences; a column with one value and a numeric one are no card fields
        assert page["card_fields"] == ["colourway", "audience"]
        colours = [row["baseColour"] for row in rows[:40]]
        assert page["examples"][0] == max(set(colours), key=colours.count)
        assert set(page["examples"]) <= set(colours)
        hit = client.get("/search", params={"q": page["examples"][0], "k": 1}).json()["results"][0]
        assert set(page["card_fields"]) <= set(hit["metadata"])
    with make_client(catalog, card_fields=("audience",), examples=("a blue top",)) as client:
        assert client.get("/page-config").json() == {"card_fields": ["audience"], "examples": ["a blue top"]}


def test_the_page_config_wants_the_key_like_the_facets(catalog) -> None:
    with make_client(catalog, api_key="s3cret-key") as client:
        assert client.get("/page-config").status_code == 401
        assert client.get("/page-config", headers={"X-API-Key": "s3cret-key"}).status_code == 200
