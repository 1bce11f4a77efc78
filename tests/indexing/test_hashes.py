"""Content hashes: what the vector is made of, and what the row shows."""

from __future__ import annotations

from fashionclip.catalog.reader import CatalogItem
from fashionclip.indexing.hashes import content_hash, embedding_hash, hash_key, index_info, row_hash, vector_part
from fashionclip.store import ExactStore, IndexInfo
from fashionclip.testing import KeywordEncoder


def test_the_embedding_hash_tells_its_parts_apart() -> None:
    assert embedding_hash(b"ab", "c", "m") != embedding_hash(b"a", "bc", "m")  # length-prefixed
    assert embedding_hash(None, "c", "m") == embedding_hash(b"", "c", "m")
    assert len(embedding_hash(b"ab", "c", "m")) == 32


def test_the_row_hash_covers_the_image_reference_and_metadata_not_the_text() -> None:
    item = CatalogItem("d1", "img/d1.png", "red dress", {"price": 40, "gender": "Women"})
    same = CatalogItem("d1", "img/d1.png", "another title", {"gender": "Women", "price": 40})
    assert row_hash(item) == row_hash(same)
    assert row_hash(item) != row_hash(CatalogItem("d1", "img/d1.png", "red dress", {"price": 41, "gender": "Women"}))
    assert row_hash(item) != row_hash(CatalogItem("d1", "images/d1.png", "red dress", item.metadata))


def test_a_content_hash_is_its_embedding_part_then_its_row_part() -> None:
    full = content_hash(b"photo", "red dress", "0123", "m")
    assert full == f"{embedding_hash(b'photo', 'red dress', 'm')}:0123"
    assert vector_part(full) == embedding_hash(b"photo", "red dress", "m")


def test_index_info_and_the_hash_key_of_a_store() -> None:
    encoder = KeywordEncoder()
    assert index_info(encoder) == IndexInfo("keyword-test", encoder.embedding_dim, "")  # no spec, no checkpoint
    store = ExactStore()
    assert hash_key(store) == ""
    store.claim(IndexInfo("/models/mine", 16))
    assert hash_key(store) == "/models/mine"  # the name recorded, whatever the encoder's spelling now
