import numpy as np
import pytest
from PIL import Image

from fashionclip.errors import ModelMismatchError, QueryError, StoreError
from fashionclip.search import Catalog
from fashionclip.testing import KeywordEncoder

from .conftest import COLOURS, ROWS, write_catalog


@pytest.fixture(params=["memory", "lance"])
def catalog(request, tmp_path, catalog_csv):
    db = ":memory:" if request.param == "memory" else tmp_path / "db"
    made = Catalog.open(db, model=KeywordEncoder())
    made.index(catalog_csv)
    return made


def ids(hits):
    return [h.id for h in hits]


def test_text_query_finds_matching_photos(catalog):
    hits = catalog.search("red dress", k=3)
    assert set(ids(hits[:2])) == {"d1", "d3"}
    assert hits[0].metadata["gender"] == "Women" and hits[0].image.endswith(".png") and hits[0].text
    assert hits[0].score >= hits[1].score >= hits[2].score


def test_filters_run_inside_the_query(catalog):
    assert set(ids(catalog.search("blue", where={"gender": "Men"}, k=2))) == {"s2", "j1"}
    cheap = catalog.search("red", where={"price": {"<": 50}}, k=8)
    assert ids(cheap)[0] == "d1" and all(h.metadata["price"] < 50 for h in cheap)
    assert catalog.search("blue", where=["gender=Men", "price>=60"], k=5)[0].id == "j1"
    assert catalog.search("blue", where="price > 1000") == []


def test_image_composed_and_more_like_this(catalog, tmp_path):
    red = tmp_path / "red.png"
    Image.new("RGB", (8, 8), COLOURS["red"]).save(red)
    blue = Image.new("RGB", (8, 8), COLOURS["blue"])
    assert set(ids(catalog.search(image=red, k=2))) == {"d1", "d3"}
    assert set(ids(catalog.search("red", image=blue, image_weight=0.3, k=2))) == {"d1", "d3"}
    assert set(ids(catalog.search("red", image=blue, image_weight=0.8, k=3))) == {"d2", "s2", "j1"}
    like = catalog.search(like="d1", k=3)
    assert "d1" not in ids(like) and ids(like)[0] == "d3"


def test_keyword_and_hybrid_search(catalog):
    assert set(ids(catalog.keyword_search("midi dress", k=2))) == {"d1", "d2"}
    assert ids(catalog.keyword_search("leather", k=5)) == ["b1"]
    assert catalog.keyword_search("leather", where={"gender": "Men"}) == []
    # "midi" is only in titles: the vector side alone cannot tell, fusion brings the keyword matches up
    assert set(ids(catalog.search("midi", keyword_weight=0.5, k=2))) == {"d1", "d2"}


def test_paging_dedupe_and_diversity(catalog, tmp_path):
    full = ids(catalog.search("blue shirt", k=6))
    assert ids(catalog.search("blue shirt", k=3, offset=3)) == full[3:6]
    top = catalog.search("red", k=2, diversity=0.7)
    assert top[0].id in {"d1", "d3"} and top[1].id not in {"d1", "d3"}  # the second red dress is too similar


def test_near_duplicates_collapse(tmp_path):
    rows = [*ROWS, ("d1-copy", "red", "red midi dress again", "Women", 40)]
    csv = write_catalog(tmp_path, rows)
    Image.open(tmp_path / "img" / "d1.png").save(tmp_path / "img" / "d1-copy.png")  # the same photo
    catalog = Catalog.open(":memory:", model=KeywordEncoder())
    catalog.index(csv)
    assert {"d1", "d1-copy"} <= set(ids(catalog.search("red", k=3)))
    collapsed = ids(catalog.search("red", k=3, dedupe=0.999))
    assert len({"d1", "d1-copy"} & set(collapsed)) == 1 and len(collapsed) == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give a text, an image or a product id"),
        ({"text": "  "}, "empty text query"),
        ({"text": "red", "image_weight": 1.5}, r"image_weight must be within \[0, 1\]"),
        ({"text": "red", "keyword_weight": -0.1}, "keyword_weight must be within"),
        ({"text": "red", "diversity": 2}, "diversity must be within"),
        ({"text": "red", "dedupe": 0}, r"dedupe must be within \(0, 1\]"),
        ({"text": "red", "image_weight": "half"}, r"image_weight must be within \[0, 1\], got 'half'"),
        ({"text": "red", "k": 0}, "k must be a positive integer"),
        ({"text": "red", "offset": -1}, "offset must be a non-negative integer"),
        ({"like": "nope"}, "no product with id 'nope'"),
        ({"like": "d1", "keyword_weight": 0.5}, "keyword search needs a text query"),
    ],
)
def test_bad_queries_are_named(catalog, kwargs, message):
    with pytest.raises(QueryError, match=message):
        catalog.search(**kwargs)


def test_unknown_filter_column_is_named(catalog):
    with pytest.raises(StoreError, match="unknown column 'colour'"):
        catalog.search("red", where={"colour": "Red"})


def test_an_index_refuses_another_model_and_keeps_its_items(tmp_path, catalog_csv):
    Catalog.open(tmp_path / "db", model=KeywordEncoder("model-a")).index(catalog_csv)
    other = Catalog.open(tmp_path / "db", model=KeywordEncoder("model-b"))
    with pytest.raises(ModelMismatchError, match="model 'model-a'"):
        other.index(catalog_csv)
    with pytest.raises(ModelMismatchError, match="refusing to mix in 'model-b'"):
        other.search("red")
    assert len(Catalog.open(tmp_path / "db", model=KeywordEncoder("model-a"))) == len(ROWS)


def test_the_bundled_model_finds_a_product_by_its_own_photo():
    from fashionclip.sample import sample_catalog

    folder, rows = sample_catalog()
    catalog = Catalog.open(":memory:", model="fashion-clip-mini")
    report = catalog.index(folder / "catalog.csv")
    assert report.added == len(rows) == len(catalog)
    hits = catalog.search(image=str(folder / rows[5]["image"]), k=3)
    assert hits[0].id == rows[5]["id"] and np.isclose(hits[0].score, 1.0, atol=1e-3)
    assert hits[0].metadata["articleType"] == rows[5]["articleType"]


def test_navigation_moves_from_a_product_along_a_text_direction(catalog):
    blue = {"d2", "s2", "j1"}
    path = catalog.navigate("d1", "blue", away="red", steps=3, step_size=0.3, k=2, distinct=False)
    assert len(path) == 3 and all(len(step) == 2 for step in path)
    assert ids(path[0])[0] == "d3"  # the other red photo first
    assert set(ids(path[-1])) <= blue  # then among the blue ones
    distinct = [
        i for step in catalog.navigate("d1", "blue", away="red", steps=3, step_size=0.3, k=2) for i in ids(step)
    ]
    assert "d1" not in distinct and len(distinct) == len(set(distinct)) == 6
    women = catalog.navigate("d1", "blue", away="red", steps=2, step_size=0.8, k=3, where={"gender": "Women"})
    assert all(h.metadata["gender"] == "Women" for step in women for h in step)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 0}, "steps must be"),
        ({"step_size": 0}, "step_size must be"),
        ({"k": 0}, "k must be"),
        ({"toward": " "}, "toward must be a non-empty text"),
        ({"toward": "blue", "away": "blue"}, "embed alike"),
        ({"like": "zzz"}, "no product with id 'zzz'"),
    ],
)
def test_bad_navigation_is_named(catalog, kwargs, message):
    options = {"like": "d1", "toward": "blue", **kwargs}
    with pytest.raises(QueryError, match=message):
        catalog.navigate(options.pop("like"), options.pop("toward"), **options)


CHINESE_ROWS = [
    ("d1", "red", "红色中长连衣裙", "Women", 40),
    ("d2", "blue", "蓝色中长连衣裙", "Women", 35),
    ("d3", "red", "红色连衣裙配腰带", "Women", 80),
    ("s1", "white", "白色衬衫", "Men", 25),
    ("s2", "blue", "蓝色衬衫", "Men", 30),
    ("j1", "blue", "蓝色牛仔裤", "Men", 60),
    ("b1", "black", "黑色皮革包", "Women", 120),
    ("h1", "white", "白色运动鞋", "Men", 90),
]


@pytest.mark.parametrize("db", ["memory", "lance", "milvus-lite"])
def test_a_chinese_catalogue_answers_chinese_queries_by_vector_keyword_and_both(db, tmp_path):
    """A multilingual model (here the keyword stand-in, which reads Chinese) and a store whose
    keyword tokenizer the Chinese titles chose (n-grams; jieba in Milvus)."""
    uri = {"memory": ":memory:", "lance": str(tmp_path / "db"), "milvus-lite": f"milvus-lite:{tmp_path}/m.db"}[db]
    catalog = Catalog.open(uri, model=KeywordEncoder())
    catalog.index(write_catalog(tmp_path, CHINESE_ROWS))
    assert set(ids(catalog.search("红色连衣裙", k=2))) == {"d1", "d3"}
    assert set(ids(catalog.search("蓝色", where={"gender": "Men"}, k=2))) == {"s2", "j1"}
    assert set(ids(catalog.keyword_search("中长连衣裙", k=2))) == {"d1", "d2"}
    assert ids(catalog.keyword_search("皮革", k=5)) == ["b1"]
    assert catalog.keyword_search("皮革", where={"gender": "Men"}) == []
    assert ids(catalog.keyword_search("牛仔裤", k=1)) == ["j1"]
    # "中长" (midi) is only in titles: fusion brings the keyword matches up, as in English
    assert set(ids(catalog.search("中长", keyword_weight=0.5, k=2))) == {"d1", "d2"}
