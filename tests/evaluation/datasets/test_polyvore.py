import json
import re

import pytest
from PIL import Image

from fashionclip.evaluation.dataset import DatasetError
from fashionclip.evaluation.datasets.polyvore import load_polyvore

METADATA = {
    "211990161": {
        "url_name": "blue high waist buttons denim",
        "description": "Blue High Waist Plain Polyester Loose Button Fly Street Shorts.",
        "catgeories": ["Women's Fashion", "Clothing", "Shorts"],
        "title": "Blue High Waist\nButtons Denim Shorts",
        "related": ["Blue shorts"],
        "category_id": "29",
        "semantic_category": "bottoms",
    },
    "154249722": {"url_name": "white linen shirt", "title": "", "category_id": "11", "semantic_category": "tops"},
    "188425631": {
        "url_name": "leather ankle boots",
        "title": "Ankle Boots",
        "category_id": 41,
        "semantic_category": "shoes",
    },
    "200742384": {
        "url_name": "gold hoops",
        "title": "Gold Hoop Earrings",
        "category_id": "999",
        "semantic_category": "jewellery",
    },
    "178581270": {"url_name": "unused bag", "title": "Tote", "category_id": "37", "semantic_category": "bags"},
}
CATEGORIES = "11,Tops,tops\n29,Shorts,bottoms\n41,Ankle Boots,shoes\n37,Tote Bags,bags\n"
DISJOINT = {
    "train.json": [
        {"set_id": "1", "items": [{"item_id": "211990161", "index": 1}, {"item_id": "154249722", "index": 2}]}
    ],
    "valid.json": [{"set_id": "2", "items": [{"item_id": "188425631", "index": 1}]}],
    "test.json": [{"set_id": "3", "items": [{"item_id": "200742384", "index": 1}]}],
}


def write_json(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def make_polyvore(root, versions=None, categories=CATEGORIES):
    (root / "images").mkdir(parents=True)
    for item in METADATA:
        Image.new("RGB", (4, 4), (0, 120, 0)).save(root / "images" / f"{item}.jpg")
    write_json(root / "polyvore_item_metadata.json", METADATA)
    if categories is not None:
        (root / "categories.csv").write_text(categories, encoding="utf-8")
    for version, files in (versions if versions is not None else {"disjoint": DISJOINT}).items():
        for name, outfits in files.items():
            write_json(root / version / name, outfits)
    return root


def test_disjoint_split_titles_and_categories(tmp_path):
    root = make_polyvore(tmp_path / "polyvore_outfits")
    data = load_polyvore(root)
    assert data.name == "polyvore"
    # metadata order; the item no outfit uses is left out
    assert data.ids == ["211990161", "154249722", "188425631", "200742384"]
    assert data.images == [str(root / "images" / f"{item}.jpg") for item in data.ids]
    assert data.captions == [
        "Blue High Waist Buttons Denim Shorts",
        "white linen shirt",
        "Ankle Boots",
        "Gold Hoop Earrings",
    ]
    assert data.labels == {
        "category": ["bottoms", "tops", "shoes", "jewellery"],
        "subcategory": ["Shorts", "Tops", "Ankle Boots", None],
    }
    assert data.split == ["train", "train", "val", "test"]
    assert data.products is None and data.tags is None


def test_without_version_every_item_and_no_split(tmp_path):
    root = make_polyvore(tmp_path / "p", categories=None)
    data = load_polyvore(root, version=None)
    assert data.ids == list(METADATA)
    assert data.split is None
    assert data.labels["subcategory"] == [None] * 5
    # no split folders at all: "auto" reads the metadata alone
    bare = make_polyvore(tmp_path / "bare", versions={})
    assert load_polyvore(bare).ids == list(METADATA) and load_polyvore(bare).split is None


def test_nondisjoint_shared_items_go_to_the_test_side(tmp_path):
    shared = {
        "train.json": [{"set_id": "1", "items": [{"item_id": "211990161"}, {"item_id": "154249722"}]}],
        "valid.json": [{"set_id": "2", "items": [{"item_id": "154249722"}]}],
        "test.json": [{"set_id": "3", "items": [{"item_id": "211990161"}]}],
    }
    root = make_polyvore(tmp_path / "p", versions={"disjoint": DISJOINT, "nondisjoint": shared})
    data = load_polyvore(root, version="nondisjoint")
    assert data.ids == ["211990161", "154249722"]
    assert data.split == ["test", "val"]


def test_split_and_limit(tmp_path):
    root = make_polyvore(tmp_path / "p")
    train = load_polyvore(root, split="train")
    assert train.ids == ["211990161", "154249722"] and train.labels["category"] == ["bottoms", "tops"]
    assert load_polyvore(root, split="test").captions == ["Gold Hoop Earrings"]
    assert load_polyvore(root, limit=1).ids == ["211990161"]
    with pytest.raises(DatasetError, match="unknown split 'valid'; splits present: 'test', 'train', 'val'"):
        load_polyvore(root, split="valid")
    with pytest.raises(DatasetError, match="unknown split 'train'; splits present: none"):
        load_polyvore(root, split="train", version=None)
    with pytest.raises(DatasetError, match="limit must be a positive integer"):
        load_polyvore(root, limit=-1)


def test_missing_root_metadata_and_images(tmp_path):
    with pytest.raises(DatasetError, match="Polyvore Outfits folder .* does not exist"):
        load_polyvore(tmp_path / "nowhere")
    root = tmp_path / "p"
    root.mkdir()
    with pytest.raises(DatasetError, match="no polyvore_item_metadata.json"):
        load_polyvore(root)
    write_json(root / "polyvore_item_metadata.json", METADATA)
    with pytest.raises(DatasetError, match=re.escape("no images/ folder (images/<item_id>.jpg)")):
        load_polyvore(root)


def test_versions(tmp_path):
    root = make_polyvore(tmp_path / "p")
    with pytest.raises(DatasetError, match="unknown Polyvore version 'both'"):
        load_polyvore(root, version="both")
    with pytest.raises(DatasetError, match="no nondisjoint/ folder with the outfit splits"):
        load_polyvore(root, version="nondisjoint")
    (root / "disjoint" / "valid.json").unlink()
    with pytest.raises(DatasetError, match=re.escape("disjoint: no valid.json (each version has")):
        load_polyvore(root)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"1": {', "polyvore_item_metadata.json: not valid JSON"),
        ("[1, 2]", "polyvore_item_metadata.json: expected a JSON object mapping item ids"),
        ('{"1": "tops"}', "polyvore_item_metadata.json: item '1': expected an object, found str"),
        ('{"1": {"title": "Tee"}}', "polyvore_item_metadata.json: item '1' has no 'semantic_category'"),
        (
            '{"1": {"semantic_category": "tops"}, "1": {"semantic_category": "bags"}}',
            "polyvore_item_metadata.json: key '1' appears more than once",
        ),
    ],
)
def test_bad_metadata_is_named(tmp_path, text, message):
    root = make_polyvore(tmp_path / "p")
    (root / "polyvore_item_metadata.json").write_text(text, encoding="utf-8")
    with pytest.raises(DatasetError, match=re.escape(message)):
        load_polyvore(root, version=None)


@pytest.mark.parametrize(
    ("outfits", "message"),
    [
        ("[{", "test.json: not valid JSON"),
        ('{"set_id": "3"}', "test.json: expected a JSON list of outfits"),
        ('[{"set_id": "3"}]', "test.json: outfit 1 has no 'items' list"),
        ('[{"items": [{"index": 1}]}]', "test.json: outfit 1 has an item without 'item_id'"),
        ('[{"items": [{"item_id": "42"}]}]', "test.json: item '42' is not in polyvore_item_metadata.json"),
    ],
)
def test_bad_outfit_file_is_named(tmp_path, outfits, message):
    root = make_polyvore(tmp_path / "p")
    (root / "disjoint" / "test.json").write_text(outfits, encoding="utf-8")
    with pytest.raises(DatasetError, match=re.escape(message)):
        load_polyvore(root)


def test_bad_categories_row_names_the_line(tmp_path):
    root = make_polyvore(tmp_path / "p", categories="11,Tops,tops\n29\n")
    with pytest.raises(DatasetError, match=re.escape("categories.csv:2: expected '<category_id>,<name>")):
        load_polyvore(root)
    # a header row is tolerated
    header = make_polyvore(tmp_path / "h", categories="id,name,semantic\n" + CATEGORIES)
    assert load_polyvore(header).labels["subcategory"][0] == "Shorts"
