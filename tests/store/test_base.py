"""The protocols every store implements: the core (``VectorStore``) and the page's browsing
(``Browsable``), and what records refuse."""

from __future__ import annotations

import pytest

from fashionclip.errors import StoreError
from fashionclip.reserved_columns import RESERVED_COLUMNS
from fashionclip.store import Browsable, ExactStore, Records, VectorStore
from fashionclip.store.base import browsable
from tests.store.test_stores import INFO, make_store, records


@pytest.mark.parametrize("kind", ["exact", "lance", "milvus-lite"])
def test_every_store_is_core_and_browsable_says_where_it_is_and_optimizes(kind, tmp_path):
    store = make_store(kind, tmp_path / "db")
    assert isinstance(store, VectorStore) and isinstance(store, Browsable)
    store.claim(INFO)
    store.add(records(4))
    store.optimize()  # a no-op where there is nothing to maintain, never an error
    assert store.count() == 4
    expected = {
        "exact": ":memory:",
        "lance": str((tmp_path / "db").resolve()),
        "milvus-lite": f"milvus-lite:{tmp_path / 'db'}.db?collection=items",
    }
    assert store.location == expected[kind]


def test_a_store_without_browsing_is_named():
    class Core(ExactStore):
        facets = None  # type: ignore[assignment]

    with pytest.raises(StoreError, match="Core cannot list its facets"):
        browsable(Core())
    exact = ExactStore()
    assert browsable(exact) is exact


@pytest.mark.parametrize("name", RESERVED_COLUMNS)
def test_records_refuse_a_metadata_column_the_index_keeps_for_itself(name):
    good = records(2)
    with pytest.raises(StoreError, match=f"metadata column '{name}' is a name the index keeps for itself"):
        Records(good.ids, good.vectors, good.images, good.texts, good.hashes, {name: ["x", "y"]})
