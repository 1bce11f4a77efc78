import json
import re

import pytest
from PIL import Image

from fashionclip.evaluation.dataset import DatasetError
from fashionclip.evaluation.datasets.deepfashion import load_deepfashion_inshop

ROWS = [
    ("img/WOMEN/Dresses/id_00000002/02_1_front.jpg", "id_00000002", "train"),
    ("img/WOMEN/Dresses/id_00000002/02_2_side.jpg", "id_00000002", "train"),
    ("img/MEN/Tees_Tanks/id_00000007/01_1_front.jpg", "id_00000007", "query"),
    ("img/MEN/Tees_Tanks/id_00000007/01_4_full.jpg", "id_00000007", "gallery"),
    ("img/WOMEN/Blouses_Shirts/id_00000009/03_1_front.jpg", "id_00000009", "gallery"),
]
DESCRIPTIONS = [
    {"item": "id_00000002", "color": "Black", "description": ["A fitted dress", "  in soft knit."]},
    {"item": "id_00000002", "color": "Red", "description": ["a second colour entry"]},
    {"item": "id_00000007", "color": "", "description": "Cotton tee"},
]


def partition_text(rows, count=None):
    lines = [str(len(rows) if count is None else count), "image_name item_id evaluation_status"]
    lines += [f"{image}    {item} {status}" for image, item, status in rows]
    return "\n".join(lines) + "\n"


def make_inshop(root, rows=ROWS, nested=False, descriptions=DESCRIPTIONS):
    """The benchmark's layout: Eval/, Anno/ and img/ (or Img/img/ as img.zip unpacks)."""
    image_base = root / "Img" if nested else root
    for image, _, _ in rows:
        target = image_base / image
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (4, 4), (200, 30, 30)).save(target)
    (root / "Eval").mkdir(parents=True, exist_ok=True)
    (root / "Eval" / "list_eval_partition.txt").write_text(partition_text(rows), encoding="utf-8")
    if descriptions is not None:
        (root / "Anno").mkdir(exist_ok=True)
        (root / "Anno" / "list_description_inshop.json").write_text(json.dumps(descriptions), encoding="utf-8")
    return root


def write_partition(root, text):
    (root / "Eval" / "list_eval_partition.txt").write_text(text, encoding="utf-8")
    return root / "Eval" / "list_eval_partition.txt"


def test_reads_items_products_splits_captions_and_path_labels(tmp_path):
    root = make_inshop(tmp_path / "inshop")
    data = load_deepfashion_inshop(root)
    assert data.name == "deepfashion-inshop"
    assert data.ids == [image for image, _, _ in ROWS]
    assert data.images == [str(root / image) for image, _, _ in ROWS]
    assert data.products == ["id_00000002", "id_00000002", "id_00000007", "id_00000007", "id_00000009"]
    assert data.split == ["train", "train", "query", "gallery", "gallery"]
    # the first entry of an item wins; an item without an entry gets an empty caption
    assert data.captions == [
        "A fitted dress in soft knit.",
        "A fitted dress in soft knit.",
        "Cotton tee",
        "Cotton tee",
        "",
    ]
    assert data.labels == {
        "gender": ["WOMEN", "WOMEN", "MEN", "MEN", "WOMEN"],
        "category": ["Dresses", "Dresses", "Tees Tanks", "Tees Tanks", "Blouses Shirts"],
        "color": ["Black", "Black", None, None, None],
    }
    assert data.tags is None


def test_img_zip_layout_without_descriptions(tmp_path):
    root = make_inshop(tmp_path / "inshop", nested=True, descriptions=None)
    data = load_deepfashion_inshop(root)
    assert data.images[0] == str(root / "Img" / ROWS[0][0])
    assert data.captions is None
    assert set(data.labels) == {"gender", "category"}


def test_split_and_limit_select_items(tmp_path):
    root = make_inshop(tmp_path / "inshop")
    gallery = load_deepfashion_inshop(root, split="gallery")
    assert gallery.ids == [ROWS[3][0], ROWS[4][0]]
    assert gallery.split == ["gallery", "gallery"] and gallery.products == ["id_00000007", "id_00000009"]
    assert gallery.labels["category"] == ["Tees Tanks", "Blouses Shirts"]
    assert load_deepfashion_inshop(root, limit=2).ids == [ROWS[0][0], ROWS[1][0]]
    assert load_deepfashion_inshop(root, split="train", limit=1).ids == [ROWS[0][0]]


def test_unknown_split_lists_the_present_ones(tmp_path):
    root = make_inshop(tmp_path / "inshop")
    with pytest.raises(DatasetError, match="unknown split 'test'; splits present: 'gallery', 'query', 'train'"):
        load_deepfashion_inshop(root, split="test")


@pytest.mark.parametrize("limit", [0, -3, 1.5, True])
def test_limit_must_be_positive(tmp_path, limit):
    root = make_inshop(tmp_path / "inshop")
    with pytest.raises(DatasetError, match="limit must be a positive integer"):
        load_deepfashion_inshop(root, limit=limit)


def test_missing_root_and_partition_file(tmp_path):
    with pytest.raises(DatasetError, match="folder .*nowhere.* does not exist"):
        load_deepfashion_inshop(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"no Eval/list_eval_partition.txt \(nor list_eval_partition.txt\)"):
        load_deepfashion_inshop(tmp_path / "empty")


def test_missing_image_folder(tmp_path):
    root = tmp_path / "inshop"
    (root / "Eval").mkdir(parents=True)
    write_partition(root, partition_text(ROWS))
    with pytest.raises(DatasetError, match=r"no image folder img/ \(nor Img/img/\)"):
        load_deepfashion_inshop(root)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "list_eval_partition.txt:1: expected the number of images"),
        ("many\nimage_name item_id evaluation_status\n", "list_eval_partition.txt:1: expected the number of images"),
        ("1\nname item status\n", "list_eval_partition.txt:2: expected the header"),
        (
            "2\nimage_name item_id evaluation_status\nimg/a/b/c/1.jpg id_1 train\nimg/a/b/c/2.jpg id_1\n",
            "list_eval_partition.txt:4: expected 'image_name item_id evaluation_status', found 2 fields",
        ),
        (
            "1\nimage_name item_id evaluation_status\nimg/a/b/c/1.jpg id_1 test\n",
            "list_eval_partition.txt:3: unknown evaluation status 'test'",
        ),
        (
            "2\nimage_name item_id evaluation_status\nimg/a/b/c/1.jpg id_1 train\nimg/a/b/c/1.jpg id_1 query\n",
            "list_eval_partition.txt:4: image 'img/a/b/c/1.jpg' already listed on line 3",
        ),
        (
            "3\nimage_name item_id evaluation_status\nimg/a/b/c/1.jpg id_1 train\n",
            "list_eval_partition.txt:1: declares 3 images but lists 1",
        ),
        ("0\nimage_name item_id evaluation_status\n", "list_eval_partition.txt: lists no images"),
    ],
)
def test_malformed_partition_names_file_and_line(tmp_path, text, message):
    root = make_inshop(tmp_path / "inshop")
    write_partition(root, text)
    with pytest.raises(DatasetError, match=re.escape(message)):
        load_deepfashion_inshop(root)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[{", "list_description_inshop.json: not valid JSON"),
        ('{"item": "id_1"}', "list_description_inshop.json: expected a JSON list"),
        ('[{"item": "id_1"}, {"color": "Red"}]', "list_description_inshop.json: entry 2 has no 'item' id"),
    ],
)
def test_bad_description_file_is_named(tmp_path, text, message):
    root = make_inshop(tmp_path / "inshop")
    (root / "Anno" / "list_description_inshop.json").write_text(text, encoding="utf-8")
    with pytest.raises(DatasetError, match=re.escape(message)):
        load_deepfashion_inshop(root)
