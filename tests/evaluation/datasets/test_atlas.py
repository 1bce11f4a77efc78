import json
import re

import pytest
from PIL import Image

from fashionclip.evaluation.dataset import DatasetError
from fashionclip.evaluation.datasets.atlas import load_atlas

RECORDS = [
    {
        "filename": "atlas_dataset/Men_Inner Wear_Underwear/images/euro-fashion-brief-c9f86351-product.jpeg",
        "title": "euro fashion\n men's cotton brief (pack of  3 )",
        "sentences": [{"tokens": ["Men", "Inner Wear", "Underwear"]}],
        "image_url": "https://images.example/1.jpg",
        "split": "train",
    },
    {
        "filename": "atlas_dataset/Men_Western Wear_Jeans/images/slim-jeans-41d7.jpeg",
        "title": "Highlander Slim Men Black Jeans",
        "sentences": [{"tokens": ["Men", "Western Wear", "Jeans"]}],
        "image_url": "https://images.example/2.jpg",
        "split": "val",
    },
    {
        "filename": "atlas_dataset/Women_Ethnic Wear_Sarees/images/sjn6002.jpeg",
        "title": "Half N Half Georgette Saree in Orange",
        "sentences": [{"tokens": ["Women", "Ethnic Wear", "Sarees"]}],
        "image_url": "https://images.example/3.jpg",
        "split": "test",
    },
    {
        "filename": "atlas_dataset/Women_Western Wear/images/plain-top.jpeg",
        "title": "Plain Top",
        "sentences": [{"tokens": ["Women", "Western Wear"]}],
        "image_url": "https://images.example/4.jpg",
        "split": "train",
    },
]


def make_atlas(root, records=RECORDS, index="atlas_dataset.json"):
    for record in records:
        target = root / (record.get("filename") or record["file_path"])
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (4, 4), (90, 90, 90)).save(target, format="JPEG")
    root.mkdir(parents=True, exist_ok=True)
    if index.endswith(".jsonl"):
        (root / index).write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    else:
        (root / index).write_text(json.dumps({"images": records}), encoding="utf-8")
    return root


def test_reads_the_released_index(tmp_path):
    root = make_atlas(tmp_path / "dataset")
    data = load_atlas(root)
    assert data.name == "atlas"
    assert data.ids == [r["filename"] for r in RECORDS]
    assert data.images == [str(root / r["filename"]) for r in RECORDS]
    assert data.captions == [
        "euro fashion men's cotton brief (pack of 3 )",
        "Highlander Slim Men Black Jeans",
        "Half N Half Georgette Saree in Orange",
        "Plain Top",
    ]
    assert data.labels == {
        "gender": ["Men", "Men", "Women", "Women"],
        "category": ["Inner Wear", "Western Wear", "Ethnic Wear", "Western Wear"],
        "subcategory": ["Underwear", "Jeans", "Sarees", None],
    }
    assert data.split == ["train", "val", "test", "train"]
    assert data.products is None and data.tags is None
    # the index file itself works as the path
    assert load_atlas(root / "atlas_dataset.json").ids == data.ids


def test_json_lines_with_the_crawler_keys(tmp_path):
    records = [
        {"file_path": "Men/Jeans/images/a.jpg", "product_title": "Slim jeans", "taxonomy": "Men/Western Wear/Jeans"},
        {
            "file_path": "Women/Kurta/images/b.jpg",
            "product_title": "Kurta",
            "taxonomy": "Women -> Ethnic Wear -> Kurtas",
        },
    ]
    root = make_atlas(tmp_path / "crawl", records, index="atlas_dataset.jsonl")
    data = load_atlas(root)
    assert data.ids == ["Men/Jeans/images/a.jpg", "Women/Kurta/images/b.jpg"]
    assert data.captions == ["Slim jeans", "Kurta"]
    assert data.labels["category"] == ["Western Wear", "Ethnic Wear"]
    assert data.labels["subcategory"] == ["Jeans", "Kurtas"]
    assert data.split is None


def test_split_and_limit(tmp_path):
    root = make_atlas(tmp_path / "dataset")
    train = load_atlas(root, split="train")
    assert train.ids == [RECORDS[0]["filename"], RECORDS[3]["filename"]]
    assert train.labels["subcategory"] == ["Underwear", None]
    assert load_atlas(root, limit=3).ids == [r["filename"] for r in RECORDS[:3]]
    with pytest.raises(DatasetError, match="unknown split 'dev'; splits present: 'test', 'train', 'val'"):
        load_atlas(root, split="dev")
    with pytest.raises(DatasetError, match="limit must be a positive integer"):
        load_atlas(root, limit=0)


def test_missing_root_and_index(tmp_path):
    with pytest.raises(DatasetError, match="Atlas folder or index file .* does not exist"):
        load_atlas(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=re.escape("no atlas_dataset.json (nor atlas_dataset.jsonl)")):
        load_atlas(tmp_path / "empty")


def test_missing_image_folder(tmp_path):
    root = tmp_path / "dataset"
    root.mkdir()
    (root / "atlas_dataset.json").write_text(json.dumps({"images": RECORDS[:1]}), encoding="utf-8")
    with pytest.raises(DatasetError, match=re.escape("record 1: image folder") + ".*atlas_dataset.* does not exist"):
        load_atlas(root)


@pytest.mark.parametrize(
    ("index", "message"),
    [
        ("{", "atlas_dataset.json: not valid JSON"),
        ('{"annotations": []}', "atlas_dataset.json: expected {'images': [...]} or a JSON list of records"),
        ('{"images": []}', "atlas_dataset.json: holds no records"),
        ('{"images": ["a.jpg"]}', "atlas_dataset.json: record 1: expected a JSON object"),
        ('[{"title": "x", "taxonomy": "Men/Jeans"}]', "atlas_dataset.json: record 1: no image path"),
        ('[{"filename": "a.jpg", "title": "x"}]', "atlas_dataset.json: record 1: no category path"),
    ],
)
def test_malformed_index_names_file_and_record(tmp_path, index, message):
    root = make_atlas(tmp_path / "dataset")
    (root / "atlas_dataset.json").write_text(index, encoding="utf-8")
    with pytest.raises(DatasetError, match=re.escape(message)):
        load_atlas(root)


def test_bad_json_line_names_the_line(tmp_path):
    root = make_atlas(tmp_path / "d", RECORDS[:1], index="atlas_dataset.jsonl")
    with (root / "atlas_dataset.jsonl").open("a", encoding="utf-8") as handle:
        handle.write("\n{not json}\n")
    with pytest.raises(DatasetError, match=re.escape("atlas_dataset.jsonl:3: not valid JSON")):
        load_atlas(root)


def test_duplicate_image_and_partial_split(tmp_path):
    root = make_atlas(tmp_path / "dataset", RECORDS + [RECORDS[1]])
    with pytest.raises(DatasetError, match=re.escape(f"record 5: image {RECORDS[1]['filename']!r} already listed at")):
        load_atlas(root)
    unsplit = dict(RECORDS[2], split=None)
    root = make_atlas(tmp_path / "partial", [RECORDS[0], unsplit])
    with pytest.raises(DatasetError, match=re.escape("record 2: no 'split', though other records have one")):
        load_atlas(root)
