"""The plan decides from hashes alone: each decision, the image bytes a step keeps, typed values,
and which stored ids are deleted."""

from __future__ import annotations

from fashionclip.catalog.reader import CatalogData, CatalogItem, Problem
from fashionclip.errors import ImageLoadError
from fashionclip.indexing.hashes import content_hash, embedding_hash, row_hash
from fashionclip.indexing.plan import (
    EMBED,
    FAILED,
    REWRITE,
    UNCHANGED,
    decide,
    deletions,
    plan_item,
    typed_items,
)

MODEL = "fashion-clip-mini"
PHOTO = b"\x89PNG photo bytes"
ITEM = CatalogItem("d1", "img/d1.png", "red midi dress", {"price": 40, "gender": "Women"})


def stored_hash(item: CatalogItem = ITEM, image: bytes | None = PHOTO, model: str = MODEL) -> str:
    return content_hash(image, item.text, row_hash(item), model)


def test_a_new_item_is_embedded_with_its_content_hash() -> None:
    decision = decide(PHOTO, ITEM.text, row_hash(ITEM), None, MODEL)
    assert decision.action == EMBED and decision.reason == ""
    assert decision.content_hash == f"{embedding_hash(PHOTO, ITEM.text, MODEL)}:{row_hash(ITEM)}"


def test_an_unchanged_item_is_left_alone() -> None:
    decision = decide(PHOTO, ITEM.text, row_hash(ITEM), stored_hash(), MODEL)
    assert (decision.action, decision.content_hash) == (UNCHANGED, stored_hash())


def test_a_changed_row_is_rewritten_with_its_stored_vector() -> None:
    moved = CatalogItem("d1", "img/d1.png", "red midi dress", {"price": 99, "gender": "Women"})
    decision = decide(PHOTO, moved.text, row_hash(moved), stored_hash(), MODEL)
    assert decision.action == REWRITE
    assert decision.content_hash == stored_hash(moved) != stored_hash()


def test_a_changed_image_text_or_model_is_embedded_again() -> None:
    old = stored_hash()
    assert decide(b"another photo", ITEM.text, row_hash(ITEM), old, MODEL).action == EMBED
    assert decide(PHOTO, "red maxi dress", row_hash(ITEM), old, MODEL).action == EMBED
    assert decide(PHOTO, ITEM.text, row_hash(ITEM), old, "another-model").action == EMBED


def test_a_changed_image_and_row_together_is_embedded_not_rewritten() -> None:
    moved = CatalogItem("d1", "img/d1-new.png", "red midi dress", ITEM.metadata)
    assert decide(b"another photo", moved.text, row_hash(moved), stored_hash(), MODEL).action == EMBED


def test_an_unreadable_image_fails_with_its_reason_and_no_hash() -> None:
    error = ImageLoadError("img/d1.png", "file not found")
    decision = decide(error, ITEM.text, row_hash(ITEM), stored_hash(), MODEL)
    assert (decision.action, decision.content_hash, decision.reason) == (FAILED, "", "image file not found")


def test_a_text_only_item_hashes_its_text() -> None:
    item = CatalogItem("t1", None, "red leather ankle boots")
    new = decide(None, item.text, row_hash(item), None, MODEL)
    assert new.action == EMBED and new.content_hash.startswith(embedding_hash(None, item.text, MODEL))
    assert decide(None, item.text, row_hash(item), new.content_hash, MODEL).action == UNCHANGED


def test_a_step_keeps_the_image_bytes_only_when_it_embeds() -> None:
    embed = plan_item(ITEM, PHOTO, None, MODEL)
    assert (embed.action, embed.image) == (EMBED, PHOTO)
    unchanged = plan_item(ITEM, PHOTO, stored_hash(), MODEL)
    assert (unchanged.action, unchanged.image) == (UNCHANGED, None)
    failed = plan_item(ITEM, ImageLoadError("img/d1.png", "HTTP 404"), None, MODEL)
    assert failed.problem == Problem("item 'd1'", "image HTTP 404", "d1")


def test_a_step_whose_image_does_not_decode_fails_naming_the_image() -> None:
    step = plan_item(ITEM, PHOTO, None, MODEL).undecodable("not a recognised image")
    assert (step.action, step.image) == (FAILED, None)
    assert step.problem == Problem("item 'd1'", "image img/d1.png: not a recognised image", "d1")
    assert step.content_hash == stored_hash()  # what it would have been; never written


def test_values_are_typed_to_the_numeric_columns_and_bad_ones_become_problems() -> None:
    items = [
        CatalogItem("a", None, "a", {"price": "12.5", "gender": "Men"}),
        CatalogItem("b", None, "b", {"price": "cheap"}),
        CatalogItem("c", None, "c", {"gender": "Women"}),
    ]
    good, problems = typed_items(items, ["price"])
    assert [(i.id, i.metadata.get("price")) for i in good] == [("a", 12.5), ("c", None)]
    assert good[1] is items[2]  # nothing to convert: the item itself
    assert [p.id for p in problems] == ["b"]
    assert "'cheap', not a number (the index holds numbers there)" in problems[0].reason


def test_deletions_are_the_stored_ids_gone_from_the_catalogue() -> None:
    catalog = CatalogData(
        items=[CatalogItem("kept", None, "x"), CatalogItem("new", None, "y")],
        problems=[Problem("row 3", "no id"), Problem("item 'bad'", "empty title", "bad")],
        numeric_columns=[],
    )
    stored = {"kept": "h1", "bad": "h2", "gone": "h3", "also-gone": "h4"}
    assert deletions(stored, catalog) == ["gone", "also-gone"]  # a row skipped with a problem stays
    assert deletions([], catalog) == []
