"""``Catalog.update`` and ``Catalog.delete``: a live catalogue's price and stock feeds, changed
products, new and removed ones, in every store."""

import numpy as np
import pytest
from PIL import Image

from fashionclip.catalog import ColumnMap
from fashionclip.errors import CatalogError
from fashionclip.search import Catalog
from fashionclip.store import LanceStore
from fashionclip.testing import KeywordEncoder

from .conftest import ROWS, write_catalog

STORES = ["memory", "lance", "lance+memory", "milvus-lite"]


def open_catalog(kind: str, tmp_path, encoder: KeywordEncoder) -> Catalog:
    if kind == "lance+memory":  # vector queries from the in-memory FAISS index
        return Catalog(LanceStore(tmp_path / "db", memory_index=True), encoder)
    uri = {"memory": ":memory:", "lance": str(tmp_path / "db"), "milvus-lite": f"milvus-lite:{tmp_path}/m.db"}[kind]
    return Catalog.open(uri, model=encoder)


@pytest.fixture(params=STORES)
def shop(request, tmp_path):
    """An indexed catalogue, its encoder (``calls`` counts what it embedded) and its folder."""
    encoder = KeywordEncoder()
    catalog = open_catalog(request.param, tmp_path, encoder)
    catalog.index(write_catalog(tmp_path))
    return catalog, encoder, tmp_path


@pytest.fixture(params=["memory", "lance"])
def small_shop(request, tmp_path):
    encoder = KeywordEncoder()
    catalog = open_catalog(request.param, tmp_path, encoder)
    catalog.index(write_catalog(tmp_path))
    return catalog, encoder, tmp_path


def ids(hits):
    return [h.id for h in hits]


def vectors(catalog, wanted):
    return {h.id: h.vector for h in catalog.store.get(wanted, with_vectors=True)}


def snapshot(catalog):
    """Everything an update could change: each item's content hash, row and vector."""
    stored = catalog.store.get(sorted(catalog.store.hashes()), with_vectors=True)
    return catalog.store.hashes(), [(h.id, h.image, h.text, h.metadata, h.vector.tolist()) for h in stored]


def test_a_price_feed_is_seen_by_the_next_search_and_filter_reading_no_image_and_embedding_nothing(shop):
    catalog, encoder, folder = shop
    before = vectors(catalog, ["d1", "b1"])
    assert catalog.search("red", where={"price": {"<": 10}}) == []
    for image in (folder / "img").iterdir():  # a metadata-only write has no reason to read a photo
        image.unlink()
    calls = encoder.calls
    report = catalog.update([{"id": "d1", "price": 5}, {"id": "b1", "price": "7.5"}])
    assert (report.rows_updated, report.added, report.reembedded, report.unchanged) == (2, 0, 0, 0)
    assert encoder.calls == calls and not report.problems and report.total == len(ROWS)
    cheap = catalog.search("red", where={"price": {"<": 10}}, k=5)
    assert ids(cheap) == ["d1", "b1"] and [h.metadata["price"] for h in cheap] == [5, 7.5]
    assert catalog.store.count({"price": {"<": 10}}) == 2
    after = vectors(catalog, ["d1", "b1"])
    assert all(np.array_equal(before[i], after[i]) for i in before)  # the stored vectors stay
    d1 = catalog.store.get(["d1"])[0]
    assert d1.metadata["gender"] == "Women" and d1.text == "red midi dress"  # the other columns stay
    again = catalog.update([{"id": "d1", "price": 5}])
    assert (again.unchanged, again.rows_updated) == (1, 0)


def test_a_partial_csv_feed_then_the_full_catalogue_with_the_same_prices_changes_nothing(shop):
    catalog, encoder, folder = shop
    (folder / "prices.csv").write_text("id,price\nd2,19\ns1,24.5\n")
    calls = encoder.calls
    assert catalog.update(folder / "prices.csv").rows_updated == 2
    rows = [(i, c, t, g, {"d2": 19, "s1": 24.5}.get(i, p)) for i, c, t, g, p in ROWS]
    full = catalog.index(write_catalog(folder, rows))
    assert (full.unchanged, full.rows_updated, full.added, full.deleted) == (len(ROWS), 0, 0, 0)
    assert encoder.calls == calls


def test_a_full_row_with_a_new_title_embeds_that_row_only(shop):
    catalog, encoder, folder = shop
    row = {"id": "d2", "image": str(folder / "img" / "d2.png"), "title": "blue midi dress", "gender": "Women"}
    calls = encoder.calls
    report = catalog.update([{**row, "price": 35}, {**row, "id": "s2", "title": "blue shirt new", "gender": "Men"}])
    assert (report.unchanged, report.reembedded, encoder.calls - calls) == (1, 1, 1)
    assert catalog.store.get(["s2"])[0].text == "blue shirt new"
    Image.new("RGB", (8, 8), KeywordEncoder.COLOURS["green"]).save(folder / "img" / "j1.png")  # a new photo
    image = {"id": "j1", "image": str(folder / "img" / "j1.png")}
    assert catalog.update([image]).reembedded == 1 and encoder.calls - calls == 2
    assert ids(catalog.search("green", k=1)) == ["j1"]
    assert catalog.store.get(["j1"])[0].metadata["price"] == 60  # columns not given stay


def test_new_products_are_added_and_deleted_ones_are_gone(shop):
    catalog, encoder, folder = shop
    report = catalog.update([{"id": "n1", "title": "green shirt", "gender": "Men", "price": 20}], delete=["j1"])
    assert (report.added, report.deleted, report.total) == (1, 1, len(ROWS))
    assert ids(catalog.search("green shirt", k=1)) == ["n1"]
    assert catalog.store.get(["n1"])[0].metadata == {"gender": "Men", "price": 20}
    assert catalog.store.get(["j1"]) == [] and "j1" not in ids(catalog.search("blue jeans", k=len(ROWS)))
    assert catalog.delete(["b1", "no-such-id"]) == 1 and len(catalog) == len(ROWS) - 1
    assert catalog.store.count({"gender": "Women"}) == 3


def test_a_new_column_is_added_on_purpose(shop):
    catalog, _, folder = shop
    (folder / "stock.csv").write_text("id,stock\nd1,0\nd3,4\n")
    with pytest.raises(CatalogError, match="column 'stock' is not in the index"):
        catalog.update(folder / "stock.csv")
    assert catalog.update(folder / "stock.csv", new_columns=True).rows_updated == 2
    assert ids(catalog.search("red", where="stock > 0", k=5)) == ["d3"]


def test_unknown_ids_can_be_skipped_and_reported(small_shop):
    catalog, _, _ = small_shop
    report = catalog.update([{"id": "zz", "price": 1}, {"id": "d1", "price": 2}], skip_unknown=True)
    assert report.rows_updated == 1 and [p.id for p in report.problems] == ["zz"]
    assert "not in the index" in report.problems[0].reason


def test_rows_come_from_a_dataframe_and_with_named_columns(small_shop):
    pd = pytest.importorskip("pandas")
    catalog, _, _ = small_shop
    frame = pd.DataFrame({"sku": ["d1", "d2"], "price": [1.5, float("nan")]})
    assert catalog.update(frame, ColumnMap(id_column="sku")).rows_updated == 2
    assert [h.metadata["price"] for h in catalog.store.get(["d1", "d2"])] == [1.5, None]


def test_an_unreadable_image_is_reported_and_the_item_keeps_its_entry(small_shop):
    catalog, _, folder = small_shop
    (folder / "img" / "d1.png").write_bytes(b"not an image")
    report = catalog.update([{"id": "d1", "image": str(folder / "img" / "d1.png"), "price": 1}])
    assert [p.id for p in report.problems] == ["d1"] and report.rows_updated == 0
    assert catalog.store.get(["d1"])[0].metadata["price"] == 40


@pytest.mark.parametrize(
    ("rows", "options", "message"),
    [
        ([{"id": "zz", "price": 1}], {}, "item 'zz': not in the index, and its row has no image or text"),
        ([{"id": "d1", "prise": 1}], {}, r"column 'prise' is not in the index \(its columns: gender, price\)"),
        ([{"id": "d1", "price": "cheap"}], {}, "item 'd1': column 'price' holds 'cheap', not a number"),
        ([{"id": "d1", "price": True}], {}, "column 'price' holds True, not a number"),
        ([{"id": "d1", "price": float("inf")}], {}, "column 'price' holds inf, not a number"),
        ([{"id": "d1", "gender": ["Women"]}], {}, "column 'gender' holds a list, not a text or a number"),
        ([{"id": "d1", "vector": "x"}], {"new_columns": True}, "column 'vector' is a name the index keeps"),
        ([{"id": "d1", "price) OR (1=1": 1}], {"new_columns": True}, "use letters, digits and _"),
        ([{"id": "d1", "price": 1}, {"id": "d1", "price": 2}], {}, "item 'd1': given twice"),
        ([{"id": "", "price": 1}], {}, "row 1: no id"),
        ([{"price": 1}], {}, "no id column"),
        ([{"id": "d\x001", "price": 1}], {}, "control character"),
        ([{"id": "d1", "price": 1}], {"delete": ["d1"]}, "item 'd1': is both updated and deleted"),
        ([{"id": "d1", "price": 1}], {"delete": [""]}, "delete #1: '' is not a product id"),
        ([{"id": "d1", "price": 1}], {"delete": "d1"}, "give a list of ids, not one string"),
        ([{"id": "d1", "image": "/etc/passwd"}], {"image_refs": False}, "image references are not accepted"),
        ([{"id": "d1", "title": "", "image": ""}], {}, "item 'd1': would have no image and no text"),
        ({"id": "d1", "price": 1}, {}, "give a list of rows"),
        # a good row does not go in when another is refused
        ([{"id": "d2", "price": 1}, {"id": "d3", "price": "x"}], {}, "item 'd3'.*nothing was written"),
    ],
)
def test_bad_input_is_named_and_leaves_the_index_as_it_was(small_shop, rows, options, message):
    catalog, encoder, _ = small_shop
    before, calls = snapshot(catalog), encoder.calls
    with pytest.raises(CatalogError, match=message):
        catalog.update(rows, **options)
    assert snapshot(catalog) == before and encoder.calls == calls


def test_a_feed_file_with_a_bad_row_names_the_file_and_row(small_shop):
    catalog, _, folder = small_shop
    (folder / "feed.csv").write_text("id,price\nd1,3\nd2,3,4\n")
    with pytest.raises(CatalogError, match=r"feed.csv: .*row 2: more fields than the header"):
        catalog.update(folder / "feed.csv")
    with pytest.raises(CatalogError, match="delete #2"):
        catalog.delete(["d1", None])
    assert len(catalog) == len(ROWS)
