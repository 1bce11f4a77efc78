"""Keyword search in CJK: the tokenizer each store picks per index, against Chinese queries."""

import numpy as np
import pytest

from fashionclip.errors import StoreError
from fashionclip.store import ExactStore, IndexInfo, LanceStore, Records
from fashionclip.store.keywords import CJK_SHARE, check_keywords, detect, has_cjk, split_cjk
from fashionclip.store.uri import open_store

INFO = IndexInfo("test-model", 8)
CHINESE = ["红色连衣裙", "蓝色牛仔裤", "白色皮革运动鞋", "黑色皮革手提包", "红色衬衫"]
ENGLISH = ["red midi dress", "blue denim jeans", "white leather sneakers", "black leather handbag", "red shirt"]


def records(titles: list[str], n: int = 100, start: int = 0) -> Records:
    rng = np.random.default_rng(start)
    vectors = rng.standard_normal((n, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"p{start + i}" for i in range(n)]
    return Records(
        ids=ids,
        vectors=vectors,
        images=[f"{i}.jpg" for i in ids],
        texts=[f"{titles[i % len(titles)]} {ids[i]}" for i in range(n)],
        hashes=ids,
        metadata={"gender": ["Women" if i % 2 else "Men" for i in range(n)]},
    )


def make(kind: str, path, keywords: str = "auto"):
    if kind == "exact":
        return ExactStore()
    if kind == "milvus-lite":
        return open_store(f"milvus-lite:{path}.db?keywords={keywords}")
    return LanceStore(path, memory_index=kind == "lance+memory", keywords=keywords)


@pytest.fixture(params=["exact", "lance", "lance+memory", "milvus-lite"])
def chinese(request, tmp_path):
    store = make(request.param, tmp_path / "db")
    store.claim(INFO)
    store.add(records(CHINESE))
    return store


def first_title(store, query: str, **kwargs) -> str:
    hits = store.keyword_search(query, 10, **kwargs)
    assert hits, f"{query!r} found nothing"
    return hits[0].text.split()[0]


@pytest.mark.parametrize(
    ("query", "title"),
    [("红色连衣裙", "红色连衣裙"), ("连衣裙", "红色连衣裙"), ("牛仔裤", "蓝色牛仔裤"), ("运动鞋", "白色皮革运动鞋")],
)
def test_a_chinese_query_finds_its_products_in_every_store(chinese, query: str, title: str):
    assert first_title(chinese, query) == title
    # and only products holding the words rank above everything else
    matching = {h.id for h in chinese.keyword_search(query, 100) if h.text.startswith(title)}
    assert len(matching) == 20


def test_filters_apply_to_chinese_keyword_queries(chinese):
    hits = chinese.keyword_search("牛仔裤", 100, where={"gender": "Women"})
    assert hits and all(h.metadata["gender"] == "Women" and "牛仔裤" in h.text for h in hits[:10])


@pytest.mark.parametrize("kind", ["exact", "lance"])
def test_single_characters_are_words_where_the_tokenizer_keeps_them(kind, tmp_path):
    """n-grams of 1-2 characters find 包 (bag) in 手提包; Milvus's jieba keeps 手提包 / 提包 whole."""
    store = make(kind, tmp_path / "db")
    store.claim(INFO)
    store.add(records(CHINESE))
    assert first_title(store, "包") == "黑色皮革手提包"
    assert first_title(store, "鞋") == "白色皮革运动鞋"


def test_milvus_jieba_finds_words_inside_long_words(tmp_path):
    store = make("milvus-lite", tmp_path / "db")
    store.claim(INFO)
    store.add(records(CHINESE))
    assert first_title(store, "提包") == "黑色皮革手提包"  # jieba's search mode: 手提包 and 提包


@pytest.mark.parametrize("kind", ["lance", "milvus-lite"])
def test_auto_picks_the_tokenizer_from_the_texts_and_keeps_it(kind, tmp_path):
    for name, titles, mode in (("zh", CHINESE, "cjk"), ("en", ENGLISH, "english")):
        store = make(kind, tmp_path / name)
        store.claim(INFO)
        store.add(records(titles))
        store.keyword_search(titles[0], 5)
        reopened = make(kind, tmp_path / name)
        built = reopened.text.built_mode() if kind == "lance" else reopened.keyword_mode()
        assert built == mode
    if kind == "lance":  # English catalogues keep stemming (Milvus Lite does not stem, see README)
        assert first_title(make(kind, tmp_path / "en"), "dresses") == "red"  # red midi dress


def test_english_words_still_rank_in_a_cjk_index(tmp_path):
    mixed = [f"{zh} {en}" for zh, en in zip(CHINESE, ENGLISH, strict=True)]
    for kind in ("exact", "lance", "milvus-lite"):
        store = make(kind, tmp_path / kind, keywords="cjk" if kind != "exact" else "auto")
        store.claim(INFO)
        store.add(records(mixed))
        assert first_title(store, "denim jeans") == "蓝色牛仔裤", kind
        assert first_title(store, "牛仔裤") == "蓝色牛仔裤", kind


def test_lance_optimize_follows_a_catalogue_that_changes_script(tmp_path):
    store = make("lance", tmp_path / "db")
    store.claim(INFO)
    store.add(records(ENGLISH))
    store.optimize()
    assert store.text.built_mode() == "english"
    assert store.keyword_search("连衣裙", 5) == []
    store.add(records(CHINESE, start=100))
    store.optimize()  # half the texts are Chinese now
    assert store.text.built_mode() == "cjk"
    assert first_title(store, "连衣裙") == "红色连衣裙"


def test_lance_rebuilds_the_text_index_when_another_mode_is_asked_for(tmp_path):
    store = make("lance", tmp_path / "db", keywords="english")
    store.claim(INFO)
    store.add(records(CHINESE))
    assert store.keyword_search("连衣裙", 5) == []  # one word per text: 红色连衣裙
    assert store.text.built_mode() == "english"
    again = make("lance", tmp_path / "db", keywords="cjk")
    assert first_title(again, "连衣裙") == "红色连衣裙"
    assert make("lance", tmp_path / "db").text.built_mode() == "cjk"


def test_milvus_refuses_to_change_the_analyzer_of_a_collection(tmp_path):
    store = make("milvus-lite", tmp_path / "db", keywords="cjk")
    store.claim(INFO)
    store.add(records(ENGLISH))
    assert store.keyword_mode() == "cjk"
    del store
    with pytest.raises(StoreError, match="splits keywords as 'cjk', not 'english'.*new collection"):
        make("milvus-lite", tmp_path / "db", keywords="english")
    assert make("milvus-lite", tmp_path / "db").count() == 100  # auto takes what is there


# --- the rules themselves ------------------------------------------------------------------------


def test_detect_needs_a_share_of_cjk_texts():
    assert detect(["红色连衣裙"] * 5 + ["red dress"] * 95) == "cjk"
    assert detect(["红色连衣裙"] * 4 + ["red dress"] * 96) == "english"
    assert CJK_SHARE == 0.05
    assert detect([]) == "english"
    assert detect(["ワンピース", "원피스"]) == "cjk"  # kana and Hangul count too


def test_split_cjk_gives_characters_and_pairs_and_leaves_the_rest():
    rest, grams = split_cjk("Nike 红色连衣裙, size M")
    assert rest.split() == ["Nike", ",", "size", "M"]
    assert grams == ["红", "色", "连", "衣", "裙", "红色", "色连", "连衣", "衣裙"]
    assert split_cjk("plain text") == ("plain text", [])
    assert has_cjk("𠀀") and not has_cjk("café")  # an extension-B character; Latin accents are not CJK


@pytest.mark.parametrize("value", ["chinese", "", None, 3, "auto; DROP TABLE items", "{0.__class__}", "x" * 10_000])
def test_a_keyword_mode_is_one_of_three_names(value):
    with pytest.raises(StoreError, match="keywords must be one of auto, english, cjk") as info:
        check_keywords(value)
    assert len(str(info.value)) < 120
    with pytest.raises(StoreError):
        LanceStore("unused", keywords=value)  # type: ignore[arg-type]


def test_keyword_modes_are_case_blind():
    assert check_keywords("CJK") == "cjk" and check_keywords("Auto") == "auto"
