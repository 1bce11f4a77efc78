import re

import pytest
from PIL import Image

from fashionclip.evaluation.dataset import DatasetError
from fashionclip.evaluation.datasets.fashion200k import load_fashion200k

LABEL_FILES = {
    "dress_train_detect_all.txt": [
        ("women/dresses/casual_and_day_dresses/51727804/51727804_0.jpeg", "0.821", "black knit  dress"),
        ("women/dresses/casual_and_day_dresses/51727804/51727804_3.jpeg", "0.790", "black knit dress"),
    ],
    "dress_test_detect_all.txt": [
        ("women/dresses/cocktail_dresses/60116330/60116330_1.jpeg", "0.912", "red lace cocktail dress"),
    ],
    "skirt_train_detect_all.txt": [
        ("women/skirts/knee_length_skirts/88772774/88772774_3.jpeg", "0.480000", "blue cotton jacquard skirt"),
    ],
}
# label files are read in name order
EXPECTED_IDS = [
    "women/dresses/cocktail_dresses/60116330/60116330_1.jpeg",
    "women/dresses/casual_and_day_dresses/51727804/51727804_0.jpeg",
    "women/dresses/casual_and_day_dresses/51727804/51727804_3.jpeg",
    "women/skirts/knee_length_skirts/88772774/88772774_3.jpeg",
]


def make_fashion200k(root, files=LABEL_FILES):
    (root / "labels").mkdir(parents=True)
    for name, rows in files.items():
        text = "".join(f"{image}\t{score}\t{description}\n" for image, score, description in rows)
        (root / "labels" / name).write_text(text, encoding="utf-8")
        for image, _, _ in rows:
            target = root / image
            target.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (4, 4), (10, 10, 200)).save(target, format="JPEG")
    return root


def write_label(root, text, name="dress_train_detect_all.txt"):
    path = root / "labels" / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_descriptions_categories_products_and_split(tmp_path):
    root = make_fashion200k(tmp_path / "f200k")
    data = load_fashion200k(root)
    assert data.name == "fashion200k"
    assert data.ids == EXPECTED_IDS
    assert data.images == [str(root / image) for image in EXPECTED_IDS]
    assert data.captions == [
        "red lace cocktail dress",
        "black knit dress",
        "black knit dress",
        "blue cotton jacquard skirt",
    ]
    assert data.labels == {
        "category": ["dresses", "dresses", "dresses", "skirts"],
        "subcategory": ["cocktail dresses", "casual and day dresses", "casual and day dresses", "knee length skirts"],
    }
    assert data.products == ["60116330", "51727804", "51727804", "88772774"]
    assert data.split == ["test", "train", "train", "train"]
    assert data.tags is None


def test_split_and_limit(tmp_path):
    root = make_fashion200k(tmp_path / "f200k")
    test = load_fashion200k(root, split="test")
    assert test.ids == [EXPECTED_IDS[0]] and test.split == ["test"] and test.products == ["60116330"]
    assert load_fashion200k(root, split="train").ids == EXPECTED_IDS[1:]
    assert load_fashion200k(root, limit=2).ids == EXPECTED_IDS[:2]


def test_unknown_split_and_bad_limit(tmp_path):
    root = make_fashion200k(tmp_path / "f200k")
    with pytest.raises(DatasetError, match="unknown split 'val'; splits present: 'test', 'train'"):
        load_fashion200k(root, split="val")
    with pytest.raises(DatasetError, match="limit must be a positive integer or None, got 0"):
        load_fashion200k(root, limit=0)


def test_missing_root_labels_folder_and_label_files(tmp_path):
    with pytest.raises(DatasetError, match="Fashion200k folder .* does not exist"):
        load_fashion200k(tmp_path / "nowhere")
    (tmp_path / "bare").mkdir()
    with pytest.raises(DatasetError, match=r"no labels/ folder"):
        load_fashion200k(tmp_path / "bare")
    (tmp_path / "bare" / "labels").mkdir()
    (tmp_path / "bare" / "labels" / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"no label files named <category>_<train\|test>_detect_all.txt"):
        load_fashion200k(tmp_path / "bare")
    (tmp_path / "bare" / "labels" / "top_test_detect_all.txt").write_text("\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="the label files list no images"):
        load_fashion200k(tmp_path / "bare")


def test_missing_image_folder(tmp_path):
    root = tmp_path / "f200k"
    (root / "labels").mkdir(parents=True)
    path = write_label(root, "women/dresses/a/1/1_0.jpeg\t0.9\tred dress\n")
    with pytest.raises(DatasetError, match=re.escape(f"{path}:1: image folder '{root / 'women'}' does not exist")):
        load_fashion200k(root)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "women/dresses/a/1/1_0.jpeg\t0.9\tred dress\nwomen/dresses/a/1/1_1.jpeg 0.8 blue dress\n",
            ":2: expected 'image path<TAB>detection score<TAB>description', found 1 tab-separated fields",
        ),
        ("women/dresses/a/1/1_0.jpeg\t0.9\tred\tdress\n", ":1: expected 'image path<TAB>detection score<TAB>"),
        ("women/dresses/a/1/1_0.jpeg\thigh\tred dress\n", ":1: detection score 'high' is not a number"),
        ("\t0.9\tred dress\n", ":1: empty image path"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, text, message):
    root = make_fashion200k(tmp_path / "f200k")
    path = write_label(root, text)
    with pytest.raises(DatasetError, match=re.escape(f"{path}{message}")):
        load_fashion200k(root)


def test_duplicate_image_names_both_places(tmp_path):
    root = make_fashion200k(tmp_path / "f200k")
    image = LABEL_FILES["skirt_train_detect_all.txt"][0][0]
    path = write_label(root, f"{image}\t0.5\tblue skirt\n", name="skirt_test_detect_all.txt")
    first = root / "labels" / "skirt_train_detect_all.txt"
    with pytest.raises(DatasetError, match=re.escape(f"{first}:1: image '{image}' already listed at {path}:1")):
        load_fashion200k(root)
