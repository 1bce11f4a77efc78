"""Milvus Lite as a store: persistence, index types and their recall against the exact oracle.
(The shared store tests in test_stores.py also run every protocol check on Milvus Lite.)"""

from __future__ import annotations

import numpy as np
import pytest

from fashionclip.errors import ModelMismatchError, StoreError
from fashionclip.store import ExactStore, IndexInfo
from fashionclip.store.milvus import MilvusStore
from fashionclip.store.uri import open_store
from tests.store.test_stores import INFO, records


def test_an_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="cannot connect to Milvus at 'http://127.0.0.1:1'"):
        MilvusStore("http://127.0.0.1:1", "items", token="")


def test_catalogue_columns_are_typed_fields_with_scalar_indices(tmp_path) -> None:
    from pymilvus import DataType

    store = MilvusStore(str(tmp_path / "shop.db"))
    store.claim(INFO)
    store.add(records(20))
    client = store._client

    def fields() -> dict:
        return {f["name"]: f for f in client.describe_collection(store.collection)["fields"]}

    assert fields()["gender"]["type"] == DataType.VARCHAR
    assert fields()["price"]["type"] == DataType.DOUBLE and fields()["price"]["nullable"]
    for column in ("gender", "price"):
        assert client.describe_index(store.collection, column)["index_type"] == "INVERTED"
    # a column written later (zero-shot tags) has no field of its own and still filters
    assert store.set_text_metadata(["p1", "p2"], {"style": ["casual", "formal"]}) == 2
    assert "style" not in fields() and store.count({"style": "formal"}) == 1


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("text", "item 'p101': text longer than 65535 bytes"),
        ("image", "item 'p101': image longer than 4096 bytes"),
        ("gender", "item 'p101': column 'gender' longer than 65535 bytes"),
    ],
)
def test_values_over_milvus_limits_name_the_item_and_keep_the_index(tmp_path, field: str, message: str) -> None:
    store = MilvusStore(str(tmp_path / "shop.db"))
    store.claim(INFO)
    store.add(records(10))
    bad = records(3, start=100)
    long = "é" * 40_000  # 80,000 bytes in UTF-8
    if field == "text":
        bad.texts[1] = long
    elif field == "image":
        bad.images[1] = "images/" + "x" * 4100 + ".jpg"
    else:
        bad.metadata["gender"][1] = long
    with pytest.raises(StoreError, match=message):
        store.add(bad)
    assert store.count() == 10 and store.get(["p100"]) == []  # nothing of the batch, nothing lost


def test_reopening_keeps_model_columns_and_rows(tmp_path) -> None:
    path = f"milvus-lite:{tmp_path}/shop.db"
    store = open_store(path)
    store.claim(INFO)
    store.add(records(40))
    store.close()
    again = open_store(path)
    assert again.info() == INFO
    assert again.columns() == {"gender": "text", "price": "numeric"}
    assert again.count() == 40
    assert again.count({"gender": "Men"}) == records(40).metadata["gender"].count("Men")
    with pytest.raises(ModelMismatchError):
        again.claim(IndexInfo("another-model", 16))
    bigger = records(3, start=100)
    bigger.metadata["colour"] = ["red", "blue", "red"]
    again.add(bigger)  # a new catalogue column is added in place, and survives a reopening
    again.close()
    third = open_store(path)
    assert third.count() == 43 and third.count({"colour": "red"}) == 2
    assert third.columns()["colour"] == "text"


def test_a_collection_not_written_by_fashionclip_is_refused(tmp_path) -> None:
    from pymilvus import MilvusClient

    client = MilvusClient(f"{tmp_path}/other.db")
    client.create_collection("items", dimension=4)
    client.close()
    with pytest.raises(StoreError, match="not written by fashionclip"):
        open_store(f"milvus-lite:{tmp_path}/other.db").info()


@pytest.mark.parametrize("index_type", ["HNSW", "IVF_FLAT"])
def test_ann_indices_keep_recall_against_exact_search(tmp_path, index_type: str) -> None:
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((20, 16))
    data = records(4000)
    vectors = centres[rng.integers(0, 20, 4000)] + 0.3 * rng.standard_normal((4000, 16))
    data.vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    exact = ExactStore()
    store = open_store(f"milvus-lite:{tmp_path}/ann.db?index={index_type}&nlist=64&nprobe=16")
    for s in (exact, store):
        s.claim(INFO)
        s.add(data, new=True)
    probes = data.vectors[rng.integers(0, 4000, 40)] + 0.1 * rng.standard_normal((40, 16)).astype(np.float32)
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    for where in (None, {"gender": "Men", "price": {"<": 50}}):
        recall = np.mean(
            [
                len({h.id for h in exact.search(q, 10, where=where)} & {h.id for h in store.search(q, 10, where=where)})
                / 10
                for q in probes
            ]
        )
        assert recall >= 0.95, (index_type, where, recall)
    assert store._current_index_type() == index_type
    store.build_vector_index("FLAT")
    assert [h.id for h in store.search(probes[0], 10)] == [h.id for h in exact.search(probes[0], 10)]
