"""The pieces of an update: the stored row a partial row is merged with, and the plan of a row
whose vector stays."""

from __future__ import annotations

import pytest

from fashionclip.catalog.reader import CatalogData, CatalogItem, Problem
from fashionclip.errors import CatalogError
from fashionclip.indexing.hashes import row_hash
from fashionclip.indexing.plan import REWRITE, UNCHANGED, plan_row
from fashionclip.indexing.update import check_ids, feed_of, stored_item
from fashionclip.store.base import Hit


def hit(**metadata) -> Hit:
    return Hit("d1", 1.0, "/img/d1.png", "red dress", metadata)


@pytest.mark.parametrize("written", [120, 120.0, 19.5])
def test_the_stored_row_reads_back_with_the_row_hash_it_was_written_with(written) -> None:
    """Stores give numbers back as floats: a catalogue's 120 and 120.0 hash apart, and each is
    read back as it was written."""
    item = CatalogItem("d1", "/img/d1.png", "red dress", {"price": written, "gender": "Women"})
    back = stored_item(hit(price=float(written), gender="Women"), f"e:{row_hash(item)}")
    assert back == item and type(back.metadata["price"]) is type(written)
    assert stored_item(hit(price=120.0), "e:unknown").metadata == {"price": 120}  # neither: whole numbers


def test_a_row_whose_vector_stays_is_planned_from_its_stored_embedding_hash() -> None:
    item = CatalogItem("d1", "/img/d1.png", "red dress", {"price": 5})
    same = plan_row(item, f"embed:{row_hash(item)}")
    assert (same.action, same.content_hash, same.image) == (UNCHANGED, f"embed:{row_hash(item)}", None)
    changed = plan_row(item, "embed:old")
    assert (changed.action, changed.content_hash) == (REWRITE, f"embed:{row_hash(item)}")


def test_what_is_no_feed_or_no_id_is_refused() -> None:
    with pytest.raises(CatalogError, match="not one mapping"):
        feed_of({"id": "d1"})
    with pytest.raises(CatalogError, match="row 2: expected a mapping"):
        feed_of([{"id": "d1"}, "d2"])
    with pytest.raises(CatalogError, match="x.csv: row 3: empty id"):
        feed_of(CatalogData([], [Problem("row 3", "empty id")], [], "x.csv"))
    with pytest.raises(CatalogError, match="not one string"):
        check_ids("d1")
    assert check_ids(["d1", "d2", "d1"]) == ["d1", "d2"]
