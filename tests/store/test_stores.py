"""Every store against the exact in-memory store, the oracle."""

import json
import sys

import numpy as np
import pytest

from fashionclip.errors import MissingExtraError, ModelMismatchError, StoreError
from fashionclip.store import ExactStore, IndexInfo, LanceStore, Records
from fashionclip.store.lance import memory_index
from fashionclip.store.uri import open_store

INFO = IndexInfo("test-model", 16)
TITLES = ["red midi dress", "blue denim jeans", "white leather sneakers", "black leather handbag", "red shirt"]
GENDERS = ["Women", "Men", "Unisex"]


def records(n: int, seed: int = 0, dim: int = 16, start: int = 0) -> Records:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"p{start + i}" for i in range(n)]
    return Records(
        ids=ids,
        vectors=vectors,
        images=[f"images/{i}.jpg" for i in ids],
        texts=[f"{TITLES[i % len(TITLES)]} {ids[i]}" for i in range(n)],
        hashes=[f"h{i}" for i in ids],
        metadata={
            "gender": [GENDERS[i % 3] for i in range(n)],
            "price": [float(i % 100) if i % 7 else None for i in range(n)],
        },
    )


def make_store(kind: str, path):
    """``lance``: vector queries run in LanceDB; ``lance+memory``: in the in-memory index;
    ``milvus-lite``: Milvus Lite in a local file (the FLAT index, exact)."""
    if kind == "exact":
        return ExactStore()
    if kind == "milvus-lite":
        return open_store(f"milvus-lite:{path}.db")
    return LanceStore(path, memory_index=kind == "lance+memory")


@pytest.fixture(params=["exact", "lance", "lance+memory", "milvus-lite"])
def store(request, tmp_path):
    made = make_store(request.param, tmp_path / "db")
    made.claim(INFO)
    return made


@pytest.fixture(params=["lance", "lance+memory", "milvus-lite"])
def pair(request, tmp_path):
    exact, lance = ExactStore(), make_store(request.param, tmp_path / "db")
    for s in (exact, lance):
        s.claim(INFO)
        s.add(records(300))
    return exact, lance


def queries(n: int = 20, seed: int = 9) -> np.ndarray:
    q = np.random.default_rng(seed).standard_normal((n, 16)).astype(np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def test_add_count_get_and_hashes(store):
    store.add(records(50))
    assert store.count() == 50
    assert store.count({"gender": "Men"}) == sum(1 for i in range(50) if i % 3 == 1)
    assert store.count("price >= 90") == sum(1 for i in range(50) if i % 7 and i % 100 >= 90)
    hits = store.get(["p7", "nope", "p3"], with_vectors=True)
    assert [h.id for h in hits] == ["p7", "p3"]
    assert hits[1].metadata == {"gender": "Women", "price": 3.0}
    assert hits[0].metadata["price"] is None  # missing stays missing
    assert np.allclose(hits[1].vector, records(50).vectors[3])
    assert store.hashes()["p49"] == "hp49"
    assert store.columns() == {"gender": "text", "price": "numeric"}


def test_upsert_replaces_and_delete_removes(store):
    store.add(records(10))
    changed = records(3, seed=5)
    changed.texts = ["new title"] * 3
    store.add(changed)
    assert store.count() == 10
    assert store.get(["p1"])[0].text == "new title"
    assert np.allclose(store.search(changed.vectors[2], 1)[0].score, 1.0, atol=1e-5)
    assert store.delete(["p1", "p2", "unknown"]) == 2
    assert store.count() == 8 and not store.get(["p1"])
    assert store.delete([]) == 0


def test_vector_search_matches_the_oracle_with_filters_and_offset(pair):
    exact, lance = pair
    for where in (None, {"gender": "Men"}, {"price": {">=": 20, "<": 60}}, "gender in Women,Unisex"):
        for q in queries():
            a = exact.search(q, 10, where=where)
            b = lance.search(q, 10, where=where)
            assert [h.id for h in a] == [h.id for h in b]
            assert np.allclose([h.score for h in a], [h.score for h in b], atol=1e-5)
            assert [h.id for h in lance.search(q, 5, where=where, offset=5)] == [h.id for h in a[5:10]]
    men = lance.search(queries()[0], 50, where={"gender": "Men"})
    assert len(men) == 50 and {h.metadata["gender"] for h in men} == {"Men"}  # filtered in the query


def test_ann_index_keeps_recall_against_exact_search(tmp_path):
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((20, 16))
    vectors = centres[rng.integers(0, 20, 6000)] + 0.3 * rng.standard_normal((6000, 16))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    data = records(6000)
    data.vectors = vectors
    exact, lance = ExactStore(), LanceStore(tmp_path / "db", memory_index=False)
    for s in (exact, lance):
        s.claim(INFO)
        s.add(data)
    lance.optimize(ann_min_rows=5000)  # what indexing does at the end of a run, with a lower threshold
    assert {tuple(i.columns) for i in lance.table.handle.list_indices()} == {
        ("vector",),
        ("text",),
        ("gender",),
        ("price",),
        ("id",),  # writes merge and delete by id
    }
    with pytest.raises(StoreError, match="no metadata column 'colour'"):
        lance.index_column("colour")
    probes = vectors[rng.integers(0, 6000, 50)] + 0.1 * rng.standard_normal((50, 16)).astype(np.float32)
    recall = np.mean(
        [
            len({h.id for h in exact.search(q, 10)} & {h.id for h in lance.search(q, 10)}) / 10
            for q in probes / np.linalg.norm(probes, axis=1, keepdims=True)
        ]
    )
    assert recall >= 0.95
    where = {"gender": "Men", "price": {"<": 50}}
    filtered = np.mean(
        [
            len({h.id for h in exact.search(q, 10, where=where)} & {h.id for h in lance.search(q, 10, where=where)})
            / 10
            for q in probes / np.linalg.norm(probes, axis=1, keepdims=True)
        ]
    )
    assert filtered >= 0.95
    lance.ef = 16  # below k * refine_factor: raised to what LanceDB needs instead of failing
    assert len(lance.search(probes[0] / np.linalg.norm(probes[0]), 10, offset=5)) == 10


def clustered(n: int, seed: int = 1) -> tuple[Records, np.ndarray]:
    """Records around 20 centres, and 50 queries near them."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, 16))
    vectors = centres[rng.integers(0, 20, n)] + 0.3 * rng.standard_normal((n, 16))
    data = records(n)
    data.vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    probes = data.vectors[rng.integers(0, n, 50)] + 0.1 * rng.standard_normal((50, 16)).astype(np.float32)
    return data, probes / np.linalg.norm(probes, axis=1, keepdims=True)


def overlap(exact, store, probes, where=None) -> float:
    return float(
        np.mean(
            [
                len({h.id for h in exact.search(q, 10, where=where)} & {h.id for h in store.search(q, 10, where=where)})
                / 10
                for q in probes
            ]
        )
    )


def test_memory_index_keeps_recall_is_saved_and_follows_writes(tmp_path, monkeypatch):
    monkeypatch.setattr(memory_index, "EXACT_MAX_FLOATS", 16_000)  # IVF from 1,000 rows: the test stays small
    data, probes = clustered(6000)
    exact, lance = ExactStore(), LanceStore(tmp_path / "db", memory_index=True)
    for s in (exact, lance):
        s.claim(INFO)
        s.add(data)
    lance.optimize(ann_min_rows=5000)
    assert ("vector",) not in {tuple(i.columns) for i in lance.table.handle.list_indices()}  # the memory index serves
    assert lance.vectors.memory.lists > 0 and lance.vectors.memory.built
    assert (tmp_path / "db" / "memory-index" / "ivf.faiss").is_file()
    assert overlap(exact, lance, probes) >= 0.95
    for where in ({"gender": "Men", "price": {"<": 50}}, {"price": {"=": 3}}, "gender in Men,Women"):
        assert overlap(exact, lance, probes, where) >= 0.95
    assert lance.search(probes[0], 10, where={"gender": "nobody"}) == []
    hit = lance.search(probes[0], 3, with_vectors=True)[0]
    assert np.allclose(hit.vector, exact.get([hit.id], with_vectors=True)[0].vector)

    reopened = LanceStore(tmp_path / "db", memory_index=True)
    first = reopened.search(probes[1], 10)
    assert not reopened.vectors.memory.built  # read from disk, not rebuilt
    assert [h.id for h in first] == [h.id for h in lance.search(probes[1], 10)]

    memory = reopened.vectors.memory
    reopened.delete([first[0].id])  # writes apply to the index in place: nothing is rebuilt
    moved = records(1, start=90_000)
    moved.vectors = probes[1][None, :]
    reopened.add(moved)
    after = reopened.search(probes[1], 10)
    assert reopened.vectors.memory is memory and not memory.built
    assert after[0].id == "p90000" and first[0].id not in {h.id for h in after}


def test_a_saved_memory_index_for_other_rows_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr(memory_index, "EXACT_MAX_FLOATS", 16_000)
    data, probes = clustered(3000)
    lance = LanceStore(tmp_path / "db", memory_index=True)
    lance.claim(INFO)
    lance.add(data)
    lance.search(probes[0], 5)
    lance.vectors.flush()  # saved in the background
    saved = tmp_path / "db" / "memory-index" / "state.json"
    state = json.loads(saved.read_text())
    saved.write_text(json.dumps({**state, "count": state["count"] + 7}))  # slots of some other index
    again = LanceStore(tmp_path / "db", memory_index=True)
    exact = ExactStore()
    exact.claim(INFO)
    exact.add(data)
    assert overlap(exact, again, probes) >= 0.95 and again.vectors.memory.built
    (tmp_path / "db" / "memory-index" / "ivf.faiss").write_bytes(b"not an index")
    third = LanceStore(tmp_path / "db", memory_index=True)
    assert overlap(exact, third, probes) >= 0.95 and third.vectors.memory.built


def test_keyword_search_ranks_like_the_oracle(pair):
    exact, lance = pair
    queries = ["leather handbag", "red dress", "sneakers", "dresses"]
    if not isinstance(lance, LanceStore):
        queries.remove("dresses")  # Milvus Lite's analyzer does not stem (a Milvus server's does): see README
    for query in queries:
        a = exact.keyword_search(query, 10)
        b = lance.keyword_search(query, 10)
        assert a and b
        top = a[0].text.split()[:2]
        assert all(word in b[0].text for word in top)
        assert {h.id for h in a} & {h.id for h in b}
    handbags = lance.keyword_search("handbag", 100, where={"gender": "Men"})
    assert handbags and all("handbag" in h.text and h.metadata["gender"] == "Men" for h in handbags)
    assert exact.keyword_search("zzzz", 5) == [] == lance.keyword_search("zzzz", 5)


def test_a_store_refuses_another_models_vectors(tmp_path):
    lance = LanceStore(tmp_path / "db")
    lance.claim(INFO)
    lance.add(records(5))
    reopened = LanceStore(tmp_path / "db")
    assert reopened.info() == INFO
    with pytest.raises(ModelMismatchError, match="holds vectors of model 'test-model' \\(dim 16\\)"):
        reopened.claim(IndexInfo("other", 16))
    exact = ExactStore()
    exact.claim(INFO)
    with pytest.raises(ModelMismatchError):
        exact.claim(IndexInfo("test-model", 32))


def test_a_new_catalogue_column_is_added_in_place(store):
    store.add(records(5))
    extra = records(2, start=10)
    extra.metadata["brand"] = ["A", "B"]
    store.add(extra)
    assert store.count() == 7 and store.columns()["brand"] == "text"
    assert store.count({"brand": "B"}) == 1
    assert store.get(["p0"])[0].metadata.get("brand") in (None, "")  # stored before the column existed


def test_rows_that_do_not_fit_the_column_types_are_refused_and_nothing_is_lost(tmp_path):
    lance = LanceStore(tmp_path / "db")
    lance.claim(INFO)
    lance.add(records(5))
    wrong = records(2, start=20)
    wrong.metadata["price"] = ["cheap", "dear"]
    with pytest.raises(StoreError, match="do not fit the index's column types"):
        lance.add(wrong)
    assert lance.count() == 5


def test_tags_survive_reindexing_and_never_replace_a_catalogue_column(store):
    """The index follows its catalogue after tags were written: changed rows go in and keep their
    tags (a price change must not untag a product), new rows have none until classified; a
    catalogue column is only overwritten when asked."""
    store.add(records(10))
    ids = [f"p{i}" for i in range(10)]
    assert store.set_text_metadata(ids, {"style": ["casual"] * 5 + ["formal"] * 5}) == 10
    changed = records(3, seed=5, start=8)  # p8, p9 rewritten, p10 new
    store.add(changed)
    assert store.count() == 11
    assert store.count({"style": "casual"}) == 5 and store.count({"style": "formal"}) == 5
    assert store.get(["p10"])[0].metadata.get("style") in (None, "")
    assert store.set_text_metadata(ids, {"style": ["sporty"] * 10}) == 10  # a tag column is rewritten freely
    genders = [h.metadata["gender"] for h in store.get(ids)]
    with pytest.raises(StoreError, match="column 'gender' is a catalogue column of this index"):
        store.set_text_metadata(ids, {"gender": ["x"] * 10, "style": ["y"] * 10})
    assert [h.metadata["gender"] for h in store.get(ids)] == genders
    assert store.count({"style": "sporty"}) == 10  # nothing of the refused write landed
    assert store.set_text_metadata(ids[:1], {"gender": ["Other"]}, overwrite=True) == 1
    assert store.get(ids[:1])[0].metadata["gender"] == "Other"


def test_an_index_tagged_before_tags_were_nullable_follows_its_catalogue(tmp_path):
    lance = LanceStore(tmp_path / "db")
    lance.claim(INFO)
    lance.add(records(5))
    lance.table.handle.add_columns({"style": "CAST('' AS STRING)"})  # what set_text_metadata wrote until now
    lance.table.handle.update(values={"style": "casual"})
    lance = LanceStore(tmp_path / "db")
    lance.add(records(3, seed=2, start=4))  # p4 rewritten, p5 and p6 new
    assert lance.count() == 7 and lance.count({"style": "casual"}) == 5
    assert lance.set_text_metadata(["p5"], {"style": ["formal"]}) == 1  # still a tag column, not a catalogue one


@pytest.mark.parametrize(
    ("vector", "k", "offset", "message"),
    [
        (np.zeros(8), 5, 0, "16-dimensional"),
        (np.full(16, np.nan), 5, 0, "NaN"),
        (np.zeros((2, 16)), 5, 0, "shape"),
        (np.ones(16), 0, 0, "k must be a positive integer"),
        (np.ones(16), 5, -1, "offset must be"),
    ],
)
def test_bad_queries_are_refused(store, vector, k, offset, message):
    store.add(records(3))
    with pytest.raises(StoreError, match=message):
        store.search(vector, k, offset=offset)


def test_records_must_be_consistent():
    good = records(3)
    with pytest.raises(StoreError, match="unequal length"):
        Records(good.ids, good.vectors, good.images[:2], good.texts, good.hashes)
    with pytest.raises(StoreError, match="duplicate ids"):
        Records(["a", "a", "b"], good.vectors, good.images, good.texts, good.hashes)
    with pytest.raises(StoreError, match="metadata column 'base colour'"):
        Records(good.ids, good.vectors, good.images, good.texts, good.hashes, {"base colour": ["x"] * 3})


def test_without_faiss_lancedb_serves_and_asking_for_the_memory_index_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss now raises ImportError
    auto = LanceStore(tmp_path / "db")
    auto.claim(INFO)
    auto.add(records(50))
    assert auto.search(records(50).vectors[4], 1)[0].id == "p4"
    assert auto.vectors.memory is None  # LanceDB answered
    forced = LanceStore(tmp_path / "db", memory_index=True)
    with pytest.raises(MissingExtraError, match=r"pip install 'fashionclip\[search\]'"):
        forced.search(records(50).vectors[4], 1)
    assert forced.count() == 50


def test_text_metadata_is_added_as_filterable_columns_and_bad_columns_are_refused(store):
    store.add(records(6))
    assert store.set_text_metadata(["p1", "p2", "nope"], {"style": ["casual", "formal", "x"]}) == 2
    assert store.columns()["style"] == "text"
    assert [h.id for h in store.search(records(6).vectors[2], 6, where={"style": "formal"})] == ["p2"]
    assert store.get(["p1"])[0].metadata["style"] == "casual" and store.get(["p3"])[0].metadata["style"] == ""
    assert store.get(["p1"], with_vectors=True)[0].vector is not None and store.count() == 6  # nothing else moved
    for columns, message in (
        ({"price": ["1", "2", "3"]}, "holds numbers"),
        ({"text": ["a", "b", "c"]}, "the index's own"),
        ({"two words": ["a", "b", "c"]}, "use letters"),
        ({"style": ["a"]}, "1 values for 3 ids"),
    ):
        with pytest.raises(StoreError, match=message):
            store.set_text_metadata(["p1", "p2", "p3"], columns)
    assert store.get(["p1"])[0].metadata["style"] == "casual"


def test_facets_count_each_text_value_and_span_each_numeric_column(store):
    assert store.facets() == {}
    batch = records(50)
    store.add(batch)
    facets = store.facets()
    gender = facets["gender"]
    expected = {g: batch.metadata["gender"].count(g) for g in set(batch.metadata["gender"])}
    assert gender.kind == "text" and gender.complete
    assert dict(zip(gender.values, gender.counts, strict=True)) == expected
    assert gender.counts == sorted(gender.counts, reverse=True)
    prices = [p for p in batch.metadata["price"] if p is not None]
    assert (facets["price"].kind, facets["price"].min, facets["price"].max) == ("numeric", min(prices), max(prices))
    capped = store.facets(max_values=2)["gender"]
    assert capped.values == gender.values[:2] and not capped.complete
    assert capped.to_dict()["complete"] is False


def test_facets_and_image_folders_agree_between_stores(pair):
    exact, other = pair
    assert exact.facets() == other.facets()
    assert exact.image_folders() == other.image_folders() == {"images"}


def test_image_folders_leave_out_urls_and_items_without_images(store):
    assert store.image_folders() == set()
    batch = records(3)
    batch.images[:] = ["/shop/a/1.jpg", "https://cdn.example.com/x/2.jpg", None]
    store.add(batch)
    assert store.image_folders() == {"/shop/a"}


HOSTILE = [
    "a'b",
    'a"b',
    "a\\b",
    "a\\'",
    "x' OR '1'='1",
    "' or gender != '",
    'x" || gender != "',
    "line\nbreak",
    "cr\rtab\tx",
    "nul\x00bell\x07",
    "naïve 红色 \u2028",
    "%_*",
    ")",
    "{v0}",
    "",
]
EXTREME_PRICES = [1e300, -1e300, 5e-324, 0.1, None]


def test_hostile_filter_values_match_exactly_what_they_say(store):
    """Quotes, backslashes, control characters and operators inside a value are only a value, in
    every store's query language (SQL, Milvus expressions, masks); extreme numbers bound exactly."""
    made = records(3 * len(HOSTILE))
    made.metadata["gender"] = [HOSTILE[i % len(HOSTILE)] for i in range(len(made.ids))]
    made.metadata["price"] = [EXTREME_PRICES[i % len(EXTREME_PRICES)] for i in range(len(made.ids))]
    store.add(made)
    total = len(made.ids)
    for value in HOSTILE:
        matching = {i for i, g in zip(made.ids, made.metadata["gender"], strict=True) if g == value}
        assert store.count({"gender": value}) == len(matching), value
        assert store.count({"gender": {"!=": value}}) == total - len(matching), value
        assert store.count({"gender": [value, "none of these"]}) == len(matching), value
        found = {h.id for h in store.search(made.vectors[0], total, where={"gender": value})}
        assert found == matching, value
        assert {h.id for h in store.keyword_search("dress", total, where={"gender": value})} <= matching
    prices = [p for p in made.metadata["price"] if p is not None]
    for bound in (1e300, -1e300, 5e-324, 1e-300, 1.7976931348623157e308):
        assert store.count({"price": {"<": bound}}) == sum(p < bound for p in prices), bound
        assert store.count({"price": {">=": bound}}) == sum(p >= bound for p in prices), bound


@pytest.mark.parametrize("infinity", [float("inf"), float("-inf")])
def test_an_infinite_number_is_refused_naming_the_item_and_nothing_is_lost(store, infinity):
    store.add(records(10))
    bad = records(3, start=100)
    bad.metadata["price"] = [1.0, infinity, None]
    with pytest.raises(StoreError, match=f"item 'p101': column 'price' holds {infinity}, not a finite number"):
        store.add(bad)
    assert store.count() == 10 and not store.get(["p100"])


def test_whole_numbers_show_as_integers_and_missing_numbers_as_null():
    from fashionclip.store.base import Hit, shown_value

    assert [shown_value(v) for v in (2012.0, 12.5, float("nan"), float("inf"), 3, "x", None, 1e300)] == [
        2012,
        12.5,
        None,
        None,
        3,
        "x",
        None,
        1e300,
    ]
    assert Hit("a", 1.0, None, "t", {"year": 2012.0, "price": 9.99}).to_dict()["year"] == 2012
