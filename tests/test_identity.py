"""A model is its checkpoint's content: an index follows the weights, not the name they were loaded by."""

import os
import shutil
from pathlib import Path

import pytest

from fashionclip import load_model
from fashionclip.errors import ModelMismatchError, QueryError
from fashionclip.identity import checkpoint_id, portable_name
from fashionclip.search import Catalog
from fashionclip.testing import write_tiny_clip


@pytest.fixture
def shop(tmp_path: Path, sample_images) -> Path:
    rows = ["id,image,title"] + [f"p{i},{p},product {i}" for i, p in enumerate(sample_images)]
    (tmp_path / "shop.csv").write_text("\n".join(rows) + "\n")
    return tmp_path / "shop.csv"


def _model(folder: Path, seed: int) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    return write_tiny_clip(folder, seed=seed)


def test_the_key_follows_the_content_not_the_name_or_the_card(tmp_path):
    first = _model(tmp_path / "a", seed=0)
    same = _model(tmp_path / "b", seed=0)
    other = _model(tmp_path / "c", seed=1)
    assert checkpoint_id(first) == checkpoint_id(same) != checkpoint_id(other) != ""
    (first / "README.md").write_text("a new model card")
    assert checkpoint_id(first) == checkpoint_id(same)  # a card does not make other vectors
    assert checkpoint_id(None) == "" and checkpoint_id(tmp_path / "nothing") == ""


def test_a_folder_is_recorded_by_its_absolute_path_and_a_registry_name_as_it_is(tmp_path, monkeypatch):
    _model(tmp_path / "mm", seed=0)
    monkeypatch.chdir(tmp_path)
    for spelling in ("mm", "./mm", str(tmp_path / "mm"), "local-dir:mm"):
        encoder = load_model(spelling, backend="torch", precision="fp32")
        assert portable_name(encoder.spec) == str((tmp_path / "mm").resolve()), spelling
    assert portable_name(load_model("fashion-clip-mini", backend="torch", precision="fp32").spec) == "fashion-clip-mini"


def test_an_index_opens_from_anywhere_with_any_spelling_of_its_model_and_after_a_move(tmp_path, shop, monkeypatch):
    _model(tmp_path / "mm", seed=0)
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "shop.lance"
    Catalog.open(db, model="./mm", backend="torch", precision="fp32").index(shop)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert Catalog.open(db).search("product", k=3)  # the recorded name is the folder's absolute path
    for spelling in (str(tmp_path / "mm"), "../mm", f"local-dir:{tmp_path / 'mm'}"):
        assert Catalog.open(db, model=spelling).search("product", k=3), spelling
    os.rename(tmp_path / "mm", tmp_path / "moved")
    with pytest.raises(
        QueryError, match="model folder .*mm', which is not there any more; give the folder's new place"
    ):
        Catalog.open(db)
    moved = Catalog.open(db, model=str(tmp_path / "moved"))
    assert moved.search("product", k=3)  # the same weights: the same model
    assert moved.index(shop).unchanged == len(moved)


def test_new_weights_in_the_same_folder_are_detected_and_nothing_is_mixed(tmp_path, shop, monkeypatch):
    _model(tmp_path / "mm", seed=0)
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "shop.lance"
    Catalog.open(db, model="mm").index(shop)
    before = Catalog.open(db).store.hashes()
    _model(tmp_path / "mm", seed=1)  # retrained in place
    retrained = Catalog.open(db, model="mm")
    with pytest.raises(ModelMismatchError, match="built with other weights of .*mm'"):
        retrained.index(shop)
    with pytest.raises(ModelMismatchError, match="built with other weights"):
        retrained.search("product", k=3)  # new text vectors against old image vectors: refused
    assert retrained.store.hashes() == before


def test_an_index_built_before_checkpoints_were_recorded_keeps_working(tmp_path, shop, monkeypatch):
    from fashionclip.indexing import local as indexer
    from fashionclip.store.base import IndexInfo

    _model(tmp_path / "mm", seed=0)
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "shop.lance"
    with monkeypatch.context() as old:  # what indexing recorded until now: the spelling, no checkpoint
        old.setattr(indexer, "index_info", lambda encoder: IndexInfo(encoder.name, encoder.embedding_dim))
        Catalog.open(db, model="mm").index(shop)
    again = Catalog.open(db, model="./mm")  # another spelling of the same folder
    assert again.index(shop).unchanged == len(again)  # nothing embedded again
    assert again.search("product", k=3)
    with pytest.raises(ModelMismatchError, match="refusing to mix in"):
        Catalog.open(db, model="fashion-clip-mini").search("product", k=3)
