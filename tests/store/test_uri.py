"""``--db`` strings: which store each form opens, its options, and what is refused before anything
is opened."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from fashionclip.errors import StoreError
from fashionclip.store import ExactStore, LanceStore
from fashionclip.store.milvus import MilvusStore
from fashionclip.store.uri import LANCE_OPTIONS, check_exists, exists, local_path, open_store
from tests.store.test_stores import INFO, records


def test_uris_pick_the_store(tmp_path) -> None:
    lite = open_store(f"milvus-lite:{tmp_path}/shop.db?collection=catalogue&index=HNSW&M=8&ef=64")
    assert isinstance(lite, MilvusStore) and lite.lite
    assert (lite.collection, lite.index_type) == ("catalogue", "HNSW")
    assert lite.index_params == {"M": 8, "efConstruction": 200} and lite.search_params == {"ef": 64}
    assert lite.location == f"milvus-lite:{tmp_path}/shop.db?collection=catalogue"
    assert type(open_store(":memory:")) is ExactStore
    assert type(open_store(tmp_path / "lance")).__name__ == "LanceStore"


def test_lancedb_takes_exactly_its_constructors_options_from_the_uri(tmp_path) -> None:
    tunable = [p.name for p in inspect.signature(LanceStore).parameters.values() if p.kind is p.KEYWORD_ONLY]
    assert sorted(LANCE_OPTIONS) == sorted(tunable)
    store = open_store(f"{tmp_path}/shop.lance?nprobes=40&ef=64&refine_factor=none&memory_index=false")
    assert isinstance(store, LanceStore) and store.path == tmp_path / "shop.lance"
    assert (store.nprobes, store.ef, store.refine_factor, store.memory_index) == (40, 64, None, False)
    assert store.vectors.nprobes == 40  # the vector index is what queries read
    defaults = open_store(f"{tmp_path}/shop.lance?memory_index=auto&memory_candidates=100")
    assert (defaults.nprobes, defaults.refine_factor, defaults.memory_index, defaults.memory_candidates) == (
        20,
        10,
        None,
        100,
    )


def test_the_keyword_mode_comes_from_the_uri(tmp_path) -> None:
    assert open_store(f"{tmp_path}/a.lance").text.keywords == "auto"  # type: ignore[attr-defined]
    assert open_store(f"{tmp_path}/b.lance?keywords=CJK").text.keywords == "cjk"  # type: ignore[attr-defined]
    lite = open_store(f"milvus-lite:{tmp_path}/shop.db?keywords=english")
    assert isinstance(lite, MilvusStore) and lite.keywords == "english"


def test_the_home_folder_is_expanded_and_a_path_object_is_taken_as_it_is(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert open_store("~/shop.lance?nprobes=5").path == tmp_path / "shop.lance"  # type: ignore[attr-defined]
    assert local_path("~/shop.lance?nprobes=5") == tmp_path / "shop.lance"
    assert local_path("milvus-lite:~/shop.db?index=FLAT") == tmp_path / "shop.db"
    assert open_store(tmp_path / "odd?name").path == tmp_path / "odd?name"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("milvus-lite:", "give a file path"),
        ("milvus-lite:x.db?index=NOPE", "unknown Milvus index type 'NOPE'"),
        ("milvus-lite:x.db?ef=", "option 'ef' has no value"),
        ("milvus-lite:x.db?ef=1&ef=2", "option 'ef' is given twice"),
        ("milvus-lite:x.db?ef=big", "option 'ef' takes a positive whole number, not 'big'"),
        ("milvus-lite:x.db?nlist=0", "option 'nlist' takes a positive whole number"),
        ("milvus-lite:x.db?nlist=1e3", "option 'nlist' takes a positive whole number"),
        ("milvus-lite:x.db?metric_type=L2", "unknown option 'metric_type'; options are collection, index, keywords, M"),
        ("milvus-lite:x.db?collection=a-b", "collection 'a-b': use letters, digits and _"),
        ("milvus-lite:x.db?collection=x%22%29%3B", "collection 'x\"\\);': use letters"),
        ("milvus://", "expected milvus://HOST:PORT/COLLECTION"),
        ("milvus://host:port/shop", "expected milvus://HOST:PORT/COLLECTION"),
        ("milvus://host:19530/a/b", "one collection name"),
        ("milvus://host:19530/shop?collection=other", "the collection is the URI's path"),
        ("milvus://host:19530/shop?drop=1", "unknown option 'drop'; options are index, keywords, M"),
        ("?nprobes=5", "give a LanceDB folder before the options"),
        ("shop.lance?nprobe=5", "unknown option 'nprobe'; options are nprobes, ef, refine_factor"),
        ("shop.lance?nprobes=-5", "option 'nprobes' takes a positive whole number, not '-5'"),
        ("shop.lance?nprobes=__import__('os')", "option 'nprobes' takes a positive whole number"),
        ("shop.lance?refine_factor=0", "option 'refine_factor' takes a positive whole number or 'none'"),
        ("shop.lance?memory_index=yes", "option 'memory_index' takes true, false or auto, not 'yes'"),
        ("shop.lance?ef=", "option 'ef' has no value"),
        ("shop.lance?keywords=chinese", "option 'keywords' takes one of auto, english, cjk, not 'chinese'"),
        ("shop.lance?keywords=__import__('os')", "option 'keywords' takes one of auto, english, cjk"),
        ("shop.lance?keywords=" + "x" * 5000, "option 'keywords' takes one of auto, english, cjk, not 'x{40}'$"),
        ("milvus-lite:x.db?keywords=../../etc", "option 'keywords' takes one of auto, english, cjk"),
        ("milvus://host:19530/shop?keywords=jieba", "option 'keywords' takes one of auto, english, cjk"),
    ],
)
def test_bad_uris_are_refused_before_anything_is_opened(uri: str, message: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match=message.replace("?", r"\?")):
        exists(uri)
    with pytest.raises(StoreError, match=message.replace("?", r"\?")):
        open_store(uri)
    assert list(tmp_path.iterdir()) == []


def test_exists_answers_alike_for_every_form(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert exists(":memory:")  # always there: a fresh, empty store
    assert exists("milvus://host:19530/shop")  # the server is asked when opened
    for missing in ("~/shop.lance", "~/shop.lance?nprobes=5", "milvus-lite:~/shop.db", tmp_path / "nothere"):
        assert not exists(missing)
        with pytest.raises(FileNotFoundError, match="no index at .*build one with 'fashionclip index"):
            open_store(missing, create=False)
    assert list(tmp_path.iterdir()) == []  # nothing made by asking
    made = open_store("~/shop.lance")
    made.claim(INFO)
    made.add(records(2))
    assert exists("~/shop.lance?nprobes=5") and exists(Path(tmp_path / "shop.lance"))
    check_exists("~/shop.lance")
    assert open_store("~/shop.lance", create=False).count() == 2
    assert isinstance(open_store(":memory:", create=False), ExactStore)
